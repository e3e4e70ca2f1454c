import { anthropicPrices } from './prices/anthropic';
import { openaiPrices } from './prices/openai';
import type { Usage } from './usage';

/** Prices of one model in US dollars per million tokens. */
export interface ModelPrice {
  /** Plain (uncached) prompt tokens. */
  inputPerMTok: number;
  /** Generated tokens, reasoning included. */
  outputPerMTok: number;
  /** Prompt tokens read from cache; defaults to the input price. */
  cacheReadPerMTok?: number;
  /** Prompt tokens written to cache; defaults to the input price. */
  cacheWritePerMTok?: number;
}

/** Model id → price. Keys are matched exactly, then by the longest key that prefixes the id. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * Prices that ship with loopwork: the current Anthropic and OpenAI models, each figure dated and
 * sourced in `prices/<vendor>.ts`, so `maxCostUsd` works out of the box with those adapters.
 * Prices change: pass `prices` to `runAgent` to override or add models.
 */
export const defaultPrices: PriceTable = { ...anthropicPrices, ...openaiPrices };

/**
 * Finds the price of a model: an exact key first, else the longest key that is a prefix of
 * `modelId` (so `claude-sonnet-4-5` also prices `claude-sonnet-4-5-20250929`).
 */
export function findPrice(table: PriceTable, modelId: string): ModelPrice | undefined {
  const exact = table[modelId];
  if (exact) return exact;
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (modelId.startsWith(key) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : table[best];
}

/** Cost in USD of the given usage at the given price. */
export function costOf(usage: Usage, price: ModelPrice): number {
  return (
    (usage.inputTokens * price.inputPerMTok +
      usage.outputTokens * price.outputPerMTok +
      usage.cacheReadTokens * (price.cacheReadPerMTok ?? price.inputPerMTok) +
      usage.cacheWriteTokens * (price.cacheWritePerMTok ?? price.inputPerMTok)) /
    1_000_000
  );
}

/**
 * The most one prompt token can cost at this price, whichever cache bucket the provider puts it
 * in. Budgets use it so that an estimate never under-prices a call.
 */
export function worstCaseInputPerToken(price: ModelPrice): number {
  return (
    Math.max(
      price.inputPerMTok,
      price.cacheReadPerMTok ?? price.inputPerMTok,
      price.cacheWritePerMTok ?? price.inputPerMTok,
    ) / 1_000_000
  );
}
