// Shared by the process runtime's budget-proxy fuzzes: a seeded random source, the budgets of
// one run, and what a run's BILLED usage passed (measured on the upstream's account, not loopwork's).
import {
  addUsage,
  type Budgets,
  costOf,
  emptyUsage,
  type ModelPrice,
  promptTokens,
  totalTokens,
  type Usage,
} from 'loopwork';

/** A seeded source of numbers in [0, 1): the same runs every time. */
export function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16_807) % 2_147_483_647;
    return state / 2_147_483_647;
  };
}

/** `[least, spread]` of each budget kind: a run gets least + spread × random. */
export interface BudgetRanges {
  input: [number, number];
  output: [number, number];
  total: [number, number];
  cost: [number, number];
}

/** One budget per run, its kind in turn (input, output, total, cost). */
export function budgetsOf(run: number, next: () => number, ranges: BudgetRanges): Budgets {
  const pick = ([least, spread]: [number, number]) => least + next() * spread;
  switch (run % 4) {
    case 0:
      return { maxInputTokens: Math.floor(pick(ranges.input)) };
    case 1:
      return { maxOutputTokens: Math.floor(pick(ranges.output)) };
    case 2:
      return { maxTotalTokens: Math.floor(pick(ranges.total)) };
    default:
      return { maxCostUsd: pick(ranges.cost) };
  }
}

/** The budgets `billed` passed (none is the point). */
export function overshoots(billed: Usage, budgets: Budgets, price: ModelPrice): string[] {
  const passed: string[] = [];
  if (budgets.maxInputTokens !== undefined && promptTokens(billed) > budgets.maxInputTokens)
    passed.push('input');
  if (budgets.maxOutputTokens !== undefined && billed.outputTokens > budgets.maxOutputTokens)
    passed.push('output');
  if (budgets.maxTotalTokens !== undefined && totalTokens(billed) > budgets.maxTotalTokens)
    passed.push('total');
  if (budgets.maxCostUsd !== undefined && costOf(billed, price) > budgets.maxCostUsd + 1e-9)
    passed.push('cost');
  return passed;
}

/** The usage of every billed answer, summed. */
export const sumBilled = (billed: Array<{ usage: Usage }>): Usage =>
  billed.reduce((sum, { usage }) => addUsage(sum, usage), emptyUsage());
