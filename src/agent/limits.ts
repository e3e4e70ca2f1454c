import { type ModelPrice, ratesFor, worstCaseInputPerToken } from '../model/pricing';
import { promptTokens, totalTokens, type Usage } from '../model/usage';

/** The budgets a run can have; each is optional. */
export interface Budgets {
  /** Prompt tokens (cached or not) summed over all calls. */
  maxInputTokens?: number;
  /** Generated tokens summed over all calls. */
  maxOutputTokens?: number;
  /** Prompt plus generated tokens summed over all calls. */
  maxTotalTokens?: number;
  /** Cost in US dollars summed over all calls; needs a price for the model. */
  maxCostUsd?: number;
}

/** Which budget stopped or clamped a call. */
export type BudgetName = 'input_tokens' | 'output_tokens' | 'total_tokens' | 'cost_usd';

/** What has been spent so far. */
export interface Spent {
  usage: Usage;
  costUsd: number;
}

/** The output room the budgets leave for the next call. */
export interface Allowance {
  /** Largest `maxOutputTokens` the next call may have (0 when none fits). */
  maxTokens: number;
  /** The budget that set `maxTokens`, when a budget rather than the per-call cap did. */
  limitedBy?: BudgetName;
}

// Floating-point slack so that rounding never lets recorded cost creep past the limit.
const COST_EPSILON = 1e-9;

/**
 * The largest output the next call can have so that, even if the model uses all of it and the
 * prompt costs its estimate at the dearest input rate, no budget is passed.
 */
export function outputAllowance(
  budgets: Budgets,
  spent: Spent,
  estimatedInputTokens: number,
  perCallCap: number,
  price: ModelPrice | undefined,
): Allowance {
  let allowance: Allowance = { maxTokens: perCallCap };
  const consider = (room: number, budget: BudgetName) => {
    const tokens = Math.max(0, Math.floor(room));
    if (tokens < allowance.maxTokens) allowance = { maxTokens: tokens, limitedBy: budget };
  };
  if (budgets.maxInputTokens !== undefined) {
    const fits = promptTokens(spent.usage) + estimatedInputTokens <= budgets.maxInputTokens;
    if (!fits) consider(0, 'input_tokens');
  }
  if (budgets.maxOutputTokens !== undefined) {
    consider(budgets.maxOutputTokens - spent.usage.outputTokens, 'output_tokens');
  }
  if (budgets.maxTotalTokens !== undefined) {
    consider(
      budgets.maxTotalTokens - totalTokens(spent.usage) - estimatedInputTokens,
      'total_tokens',
    );
  }
  if (budgets.maxCostUsd !== undefined && price) {
    const rates = ratesFor(price, estimatedInputTokens);
    const inputCost = estimatedInputTokens * worstCaseInputPerToken(rates);
    const remaining = budgets.maxCostUsd - spent.costUsd - inputCost - COST_EPSILON;
    consider(remaining / (rates.outputPerMTok / 1_000_000), 'cost_usd');
  }
  return allowance;
}

/** True when at least one budget is set: without one, nothing spent needs adding up. */
export function hasBudget(budgets: Budgets): boolean {
  return (
    budgets.maxInputTokens !== undefined ||
    budgets.maxOutputTokens !== undefined ||
    budgets.maxTotalTokens !== undefined ||
    budgets.maxCostUsd !== undefined
  );
}

/** True when the run has made `maxTurns` model calls. */
export function turnLimitReached(turnsTaken: number, maxTurns: number): boolean {
  return turnsTaken >= maxTurns;
}

/** Budgets whose use crossed `threshold` (a fraction) and have not been warned about yet. */
export function budgetsToWarn(
  budgets: Budgets,
  spent: Spent,
  threshold: number,
  alreadyWarned: ReadonlySet<BudgetName>,
): Array<{ budget: BudgetName; used: number; limit: number }> {
  const checks: Array<[BudgetName, number, number | undefined]> = [
    ['input_tokens', promptTokens(spent.usage), budgets.maxInputTokens],
    ['output_tokens', spent.usage.outputTokens, budgets.maxOutputTokens],
    ['total_tokens', totalTokens(spent.usage), budgets.maxTotalTokens],
    ['cost_usd', spent.costUsd, budgets.maxCostUsd],
  ];
  return checks
    .filter(
      ([budget, used, limit]) =>
        limit !== undefined && used >= limit * threshold && !alreadyWarned.has(budget),
    )
    .map(([budget, used, limit]) => ({ budget, used, limit: limit as number }));
}
