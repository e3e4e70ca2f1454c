import { anthropicPrices } from './prices/anthropic';
import { openaiPrices } from './prices/openai';
import { promptTokens, type Usage } from './usage';

/** Rates in US dollars per million tokens. */
export interface TokenRates {
  /** Plain (uncached) prompt tokens. */
  inputPerMTok: number;
  /** Generated tokens, reasoning included. */
  outputPerMTok: number;
  /** Prompt tokens read from cache; defaults to the input price. */
  cacheReadPerMTok?: number;
  /** Prompt tokens written to cache; defaults to the input price. */
  cacheWritePerMTok?: number;
}

/** Prices of one model: base rates, and optionally dearer rates for long prompts. */
export interface ModelPrice extends TokenRates {
  /**
   * Rates for a whole call whose prompt (cached or not) is longer than `abovePromptTokens`, as
   * vendors bill long-context requests; the highest threshold the prompt passes applies.
   */
  longPrompt?: ReadonlyArray<TokenRates & { abovePromptTokens: number }>;
}

/** The rates that apply to a call with this many prompt tokens. */
export function ratesFor(price: ModelPrice, promptTokenCount: number): TokenRates {
  let rates: TokenRates = price;
  let threshold = -1;
  for (const tier of price.longPrompt ?? []) {
    if (promptTokenCount > tier.abovePromptTokens && tier.abovePromptTokens > threshold) {
      rates = tier;
      threshold = tier.abovePromptTokens;
    }
  }
  return rates;
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

/** Cost in USD of one call's usage at the given price (long-prompt rates when they apply). */
export function costOf(usage: Usage, price: ModelPrice): number {
  const rates = ratesFor(price, promptTokens(usage));
  return (
    (usage.inputTokens * rates.inputPerMTok +
      usage.outputTokens * rates.outputPerMTok +
      usage.cacheReadTokens * (rates.cacheReadPerMTok ?? rates.inputPerMTok) +
      usage.cacheWriteTokens * (rates.cacheWritePerMTok ?? rates.inputPerMTok)) /
    1_000_000
  );
}

/**
 * The most one prompt token can cost at this price, whichever cache bucket the provider puts it
 * in. Budgets use it so that an estimate never under-prices a call.
 */
export function worstCaseInputPerToken(rates: TokenRates): number {
  return (
    Math.max(
      rates.inputPerMTok,
      rates.cacheReadPerMTok ?? rates.inputPerMTok,
      rates.cacheWritePerMTok ?? rates.inputPerMTok,
    ) / 1_000_000
  );
}
