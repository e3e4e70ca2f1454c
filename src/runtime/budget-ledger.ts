import { AGENT_DEFAULTS } from '../agent/defaults';
import { type BudgetName, outputAllowance } from '../agent/limits';
import { spentSoFar } from '../agent/result';
import type { TurnRecord } from '../agent/run-state';
import { InvalidOptionError, LoopworkError } from '../errors';
import type { StopReason } from '../model/model';
import {
  costOf,
  defaultPrices,
  findPrice,
  type ModelPrice,
  ratesFor,
  worstCaseInputPerToken,
} from '../model/pricing';
import { addUsage, emptyUsage, type Usage } from '../model/usage';
import type { RuntimeLimits } from './runtime';

/** Options of {@link createBudgetLedger}. */
export interface BudgetLedgerOptions extends RuntimeLimits {
  /** What the run spent before (a resumed run, earlier runs of its session): counted against the limits. */
  turns?: readonly TurnRecord[];
  /** Largest output of one call before budgets clamp it. @defaultValue AGENT_DEFAULTS.maxTokensPerCall */
  maxTokensPerCall?: number;
  /** Smallest output worth a call: less room than this stops the run. @defaultValue AGENT_DEFAULTS.minTokensPerCall */
  minTokensPerCall?: number;
}

/** A model call the ledger allowed, holding its worst case until it is recorded or released. */
export interface CallTicket {
  readonly modelId: string;
  /** The output cap the call must be sent with. */
  readonly maxOutputTokens: number;
  /** The budget that set `maxOutputTokens`, when one did. */
  readonly limitedBy?: BudgetName;
}

/** Why no further model call may be made: thrown by {@link BudgetLedger.allow}. */
export class BudgetStop extends LoopworkError {
  constructor(
    /** `max_turns`, or `budget_exceeded` with the budget that has no room left. */
    readonly status: 'max_turns' | 'budget_exceeded',
    readonly budget?: BudgetName,
  ) {
    super(
      'budget_exceeded',
      status === 'max_turns'
        ? 'maxTurns reached: no further model call is allowed'
        : `budget ${budget ?? ''} has no room for another model call`.replace('  ', ' '),
    );
    this.name = 'BudgetStop';
  }

  /** True for a {@link BudgetStop}, also from another copy of the package. */
  static override isInstance(error: unknown): error is BudgetStop {
    return LoopworkError.isInstance(error) && error.code === 'budget_exceeded' && 'status' in error;
  }
}

/** Hard limits for a runtime whose model calls loopwork does not make itself. */
export interface BudgetLedger {
  /**
   * Before a call: its output cap, so that even in the worst case (the whole cap generated, the
   * prompt at the dearest input rate) no limit is passed — counting calls still in flight at their
   * worst case. Throws {@link BudgetStop} when no call fits.
   */
  allow(call: {
    modelId: string;
    estimatedInputTokens: number;
    requestedMaxTokens?: number;
  }): CallTicket;
  /** After the call: records what it really used; resolves with its turn record. */
  record(ticket: CallTicket, usage: Usage, stopReason?: StopReason): TurnRecord;
  /** The call failed without usage: its hold is dropped. */
  release(ticket: CallTicket): void;
  /** Every turn so far, earlier ones included. */
  turns(): TurnRecord[];
  /** Usage and cost so far. */
  spent(): { usage: Usage; costUsd: number };
}

interface Hold {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/**
 * The agent loop's clamp, for runtimes that call models themselves (through an injected model, a
 * middleware, or the budget proxy): one ledger per run, asked before and told after every call.
 *
 * @example
 * ```ts
 * const ledger = createBudgetLedger({ maxCostUsd: 0.5, maxTurns: 20, turns: state?.turns });
 * const ticket = ledger.allow({ modelId, estimatedInputTokens }); // throws BudgetStop when none fits
 * const response = await callVendor({ ...request, max_tokens: ticket.maxOutputTokens });
 * ledger.record(ticket, usageOf(response));
 * ```
 */
export function createBudgetLedger(options: BudgetLedgerOptions = {}): BudgetLedger {
  const prices = { ...defaultPrices, ...options.prices };
  const perCallCap = options.maxTokensPerCall ?? AGENT_DEFAULTS.maxTokensPerCall;
  const minimum = options.minTokensPerCall ?? AGENT_DEFAULTS.minTokensPerCall;
  const turns: TurnRecord[] = [...(options.turns ?? [])];
  const holds = new Map<CallTicket, Hold>();

  const priceOf = (modelId: string): ModelPrice | undefined => {
    const price = findPrice(prices, modelId);
    if (options.maxCostUsd !== undefined && !price) {
      throw new InvalidOptionError(
        `maxCostUsd is set but no price is known for model "${modelId}"; add one with prices: { '${modelId}': { inputPerMTok, outputPerMTok } }`,
      );
    }
    return price;
  };

  /** Spent so far plus every call in flight at its worst case. */
  const committed = () => {
    const spent = spentSoFar(turns);
    let usage = spent.usage;
    let costUsd = spent.costUsd;
    for (const hold of holds.values()) {
      usage = addUsage(usage, {
        ...emptyUsage(),
        inputTokens: hold.inputTokens,
        outputTokens: hold.outputTokens,
      });
      costUsd += hold.costUsd;
    }
    return { usage, costUsd };
  };

  return {
    allow({ modelId, estimatedInputTokens, requestedMaxTokens }) {
      if (options.maxTurns !== undefined && turns.length + holds.size >= options.maxTurns)
        throw new BudgetStop('max_turns');
      const price = priceOf(modelId);
      const cap = Math.min(requestedMaxTokens ?? perCallCap, perCallCap);
      const allowance = outputAllowance(options, committed(), estimatedInputTokens, cap, price);
      if (allowance.maxTokens < Math.min(minimum, cap))
        throw new BudgetStop('budget_exceeded', allowance.limitedBy);
      const ticket: CallTicket = {
        modelId,
        maxOutputTokens: allowance.maxTokens,
        ...(allowance.limitedBy ? { limitedBy: allowance.limitedBy } : {}),
      };
      const rates = price && ratesFor(price, estimatedInputTokens);
      const worstInput = rates ? estimatedInputTokens * worstCaseInputPerToken(rates) : 0;
      const worstOutput = rates ? (allowance.maxTokens * rates.outputPerMTok) / 1_000_000 : 0;
      holds.set(ticket, {
        inputTokens: estimatedInputTokens,
        outputTokens: allowance.maxTokens,
        costUsd: worstInput + worstOutput,
      });
      return ticket;
    },
    record(ticket, usage, stopReason = 'other') {
      holds.delete(ticket);
      const price = priceOf(ticket.modelId);
      const record: TurnRecord = {
        turn: turns.length + 1,
        modelId: ticket.modelId,
        usage,
        costUsd: price ? costOf(usage, price) : 0,
        stopReason,
      };
      turns.push(record);
      return record;
    },
    release(ticket) {
      holds.delete(ticket);
    },
    turns: () => [...turns],
    spent: () => spentSoFar(turns),
  };
}
