import {
  type BudgetLedger,
  type BudgetLedgerOptions,
  type BudgetName,
  type CallTicket,
  costOf,
  defaultPrices,
  findPrice,
  InvalidOptionError,
  promptTokens,
  type StopReason,
  type TurnRecord,
  totalTokens,
  type Usage,
} from 'loopwork';
import { createBudgetLedger } from 'loopwork/adapter-kit';

/** Options of a {@link TurnAccount}. */
export interface TurnAccountOptions extends BudgetLedgerOptions {
  maxTurns: number;
  /** Model a turn is priced by when its line names none. */
  defaultModelId?: string;
}

/** A turn as a format reports it. */
export interface ReportedTurn {
  modelId?: string;
  usage: Usage;
  stopReason: StopReason;
  /** The `model-call` it answers (loopwork-ndjson). */
  callId?: string;
}

/** Why a run must stop after a turn. */
export interface Overrun {
  status: 'budget_exceeded' | 'max_turns';
  budget?: BudgetName;
}

// The same slack as the agent loop's: rounding must not read as an overshoot.
const COST_EPSILON = 1e-9;

/** The budget `spent` has passed, if any. */
export function budgetPassed(
  limits: BudgetLedgerOptions,
  spent: { usage: Usage; costUsd: number },
): BudgetName | undefined {
  if (limits.maxInputTokens !== undefined && promptTokens(spent.usage) > limits.maxInputTokens)
    return 'input_tokens';
  if (limits.maxOutputTokens !== undefined && spent.usage.outputTokens > limits.maxOutputTokens)
    return 'output_tokens';
  if (limits.maxTotalTokens !== undefined && totalTokens(spent.usage) > limits.maxTotalTokens)
    return 'total_tokens';
  if (limits.maxCostUsd !== undefined && spent.costUsd > limits.maxCostUsd + COST_EPSILON)
    return 'cost_usd';
  return undefined;
}

/**
 * The run's spend. A model call the agent asked leave for (loopwork-ndjson) goes through the
 * budget ledger: its output cap keeps every budget hard. A turn only reported afterwards (Claude
 * Code, Codex, an agent that does not ask) is priced and counted, and the run is stopped as soon
 * as a budget is passed or the turn cap reached with the model about to call again.
 */
export class TurnAccount {
  private ledger: BudgetLedger;
  private readonly open = new Map<string, CallTicket>();
  private readonly prices;

  constructor(private readonly options: TurnAccountOptions) {
    this.ledger = createBudgetLedger(options);
    this.prices = { ...defaultPrices, ...options.prices };
  }

  /** Leave for a model call: its output cap. Throws `BudgetStop` when none fits. */
  allow(call: {
    id: string;
    modelId: string;
    estimatedInputTokens: number;
    maxOutputTokens?: number;
  }): CallTicket {
    const ticket = this.ledger.allow({
      modelId: call.modelId,
      estimatedInputTokens: call.estimatedInputTokens,
      ...(call.maxOutputTokens ? { requestedMaxTokens: call.maxOutputTokens } : {}),
    });
    this.open.set(call.id, ticket);
    return ticket;
  }

  /** Counts a finished turn; says whether the run must stop now. */
  record(turn: ReportedTurn): { record: TurnRecord; over?: Overrun } {
    const id = turn.callId ?? (this.open.size === 1 ? [...this.open.keys()][0] : undefined);
    const ticket = id === undefined ? undefined : this.open.get(id);
    let record: TurnRecord;
    if (ticket && id !== undefined) {
      this.open.delete(id);
      record = this.ledger.record(ticket, turn.usage, turn.stopReason);
    } else {
      record = this.unasked(turn);
    }
    const passed = budgetPassed(this.options, this.ledger.spent());
    if (passed) return { record, over: { status: 'budget_exceeded', budget: passed } };
    const count = this.ledger.turns().length;
    const callsAgain = turn.stopReason === 'tool_use';
    if (
      !ticket &&
      (count > this.options.maxTurns || (count >= this.options.maxTurns && callsAgain))
    )
      return { record, over: { status: 'max_turns' } };
    return { record };
  }

  turns(): TurnRecord[] {
    return this.ledger.turns();
  }

  /**
   * The ledger itself, for a budget proxy that clamps and records calls on its own. Its turns are
   * then the run's: reported turns must not be counted too (they would be rebuilt around).
   */
  budgetLedger(): BudgetLedger {
    return this.ledger;
  }

  spent(): { usage: Usage; costUsd: number } {
    return this.ledger.spent();
  }

  /** A turn nobody asked leave for: priced here, then the ledger rebuilt around it. */
  private unasked(turn: ReportedTurn): TurnRecord {
    const modelId = turn.modelId ?? this.options.defaultModelId ?? 'unknown';
    const price = findPrice(this.prices, modelId);
    if (!price && this.options.maxCostUsd !== undefined) {
      throw new InvalidOptionError(
        `[loopwork:process] maxCostUsd is set but no price is known for model "${modelId}"; add one with prices: { '${modelId}': { inputPerMTok, outputPerMTok } }${turn.modelId ? '' : ' or name the model with modelId'}`,
      );
    }
    const turns = this.ledger.turns();
    const record: TurnRecord = {
      turn: turns.length + 1,
      modelId,
      usage: turn.usage,
      costUsd: price ? costOf(turn.usage, price) : 0,
      stopReason: turn.stopReason,
    };
    // Calls still open keep their holds only in the old ledger: a reported turn closes them all.
    this.open.clear();
    this.ledger = createBudgetLedger({ ...this.options, turns: [...turns, record] });
    return record;
  }
}
