import type { ModelPrice, PriceTable, TokenRates } from '../pricing';

/** A request with more than 272K prompt tokens is billed whole at 2x input and cache, 1.5x output. */
function withLongContext(table: Record<string, TokenRates>): PriceTable {
  const double = (rate: number | undefined) => (rate === undefined ? undefined : rate * 2);
  const priced: Record<string, ModelPrice> = {};
  for (const [model, rates] of Object.entries(table)) {
    const cacheRead = double(rates.cacheReadPerMTok);
    const cacheWrite = double(rates.cacheWritePerMTok);
    priced[model] = {
      ...rates,
      longPrompt: [
        {
          abovePromptTokens: 272_000,
          inputPerMTok: rates.inputPerMTok * 2,
          outputPerMTok: rates.outputPerMTok * 1.5,
          ...(cacheRead === undefined ? {} : { cacheReadPerMTok: cacheRead }),
          ...(cacheWrite === undefined ? {} : { cacheWritePerMTok: cacheWrite }),
        },
      ],
    };
  }
  return priced;
}

/**
 * OpenAI's Standard-tier list prices (USD per million tokens) for current API models, read on
 * 2026-11-26. OpenAI's own pricing and model pages
 * (https://developers.openai.com/api/docs/pricing, …/docs/models/<id>) are not in the stored
 * material this was written from, so each figure comes from pages that quote them, named per entry,
 * and is kept only where two or more agree.
 *
 * - `cacheReadPerMTok` is OpenAI's "cached input" price (`cached_tokens`).
 * - `cacheWritePerMTok` (`cache_write_tokens`): GPT-5.6 and later bill cache writes at 1.25x the
 *   uncached input rate; earlier models charge no cache-write fee, so theirs is left to default to
 *   the input price (https://developers.openai.com/api/docs/guides/prompt-caching, quoted in
 *   https://github.com/tleyden/arty/pull/146).
 * - A request with more than 272K input tokens is billed whole at 2x the input and cache rates and
 *   1.5x the output rate (https://github.com/BerriAI/litellm/discussions/39633): every entry
 *   carries that as its `longPrompt` rates.
 * - Batch / Flex (0.5x) and Fast / priority (2x) tiers are not modelled.
 *
 * Keys are model ids; `findPrice` also matches dated snapshots by prefix
 * (`gpt-6.1-sol-2026-09-29` → `gpt-6.1-sol`). Every `-pro` / `-mini` / `-nano` sibling of a key is
 * listed too, so none is priced by a shorter prefix.
 *
 * Left out: `gpt-6.2-astra` and `gpt-6.2-sol` (released 2026-11-17; $8/$40 and $2/$10 are
 * reported, their cache prices are not confirmed), `gpt-5.6-sol` (a promotional price "at least
 * through 2026-11-21" whose end is not confirmed), and the o-series (o3, o4-mini …), which no 2026
 * price list read here still carries.
 */
export const openaiPrices: PriceTable = withLongContext({
  // 2026-09-30, https://docs.litellm.ai/blog/gpt_6_1_sol ($2 in, $10 out, cached $0.10) and
  // https://dev.to/hassann/how-to-use-gpt-61-sol-apl--45cg (cache writes $2.50, per
  // https://developers.openai.com/api/docs/models/gpt-6.1-sol).
  'gpt-6.1-sol': {
    inputPerMTok: 2,
    outputPerMTok: 10,
    cacheReadPerMTok: 0.1,
    cacheWritePerMTok: 2.5,
  },
  // 2026-10-26, https://docs.litellm.ai/blog/gpt-6-1-terra ($1 in, $5 out, cache read $0.05) and
  // https://apidog.com/de/blog/gpt-6-1-terra-pricing/ (30-minute cache write $1.25).
  'gpt-6.1-terra': {
    inputPerMTok: 1,
    outputPerMTok: 5,
    cacheReadPerMTok: 0.05,
    cacheWritePerMTok: 1.25,
  },
  // 2026-09-03, https://github.com/BerriAI/litellm/discussions/39633 and
  // https://github.com/prefect12/codex-token-meter/releases/tag/v0.2.22 ($10 in, $50 out, cache
  // reads $1, cache writes $12.50, per https://developers.openai.com/api/docs/models/gpt-6-astra).
  'gpt-6-astra': {
    inputPerMTok: 10,
    outputPerMTok: 50,
    cacheReadPerMTok: 1,
    cacheWritePerMTok: 12.5,
  },
  // 2026-09-22, https://github.com/merefield/codexometer/releases/tag/v0.18.4 and
  // https://github.com/TheKrush/PromptFuel/releases/tag/v1.0.21 ($2 in, $0.20 cached, $2.50 cache
  // writes, $10 out).
  'gpt-6-sol': {
    inputPerMTok: 2,
    outputPerMTok: 10,
    cacheReadPerMTok: 0.2,
    cacheWritePerMTok: 2.5,
  },
  // 2026-09-22, same two sources ($0.10 in, $0.01 cached, $0.125 cache writes, $0.50 out).
  'gpt-6-luna': {
    inputPerMTok: 0.1,
    outputPerMTok: 0.5,
    cacheReadPerMTok: 0.01,
    cacheWritePerMTok: 0.125,
  },
  // 2026-07-30 price cut, https://github.com/TheKrush/PromptFuel/releases/tag/v1.0.19 and
  // https://docs.litellm.ai/blog/gpt-6-1-terra ($2 in, $0.20 cached, $12 out); cache write is the
  // documented 1.25x of input.
  'gpt-5.6-terra': {
    inputPerMTok: 2,
    outputPerMTok: 12,
    cacheReadPerMTok: 0.2,
    cacheWritePerMTok: 2.5,
  },
  // 2026-07-30 price cut, https://github.com/TheKrush/PromptFuel/releases/tag/v1.0.19 and
  // https://docs.apiyi.com/models/index.md ($0.20 in, $0.02 cached, $1.20 out); cache write 1.25x.
  'gpt-5.6-luna': {
    inputPerMTok: 0.2,
    outputPerMTok: 1.2,
    cacheReadPerMTok: 0.02,
    cacheWritePerMTok: 0.25,
  },
  // 2026-05-04 and 2026-06, https://raw.githubusercontent.com/api-evangelist/openai/refs/heads/main/plans/openai-plans-pricing.yml
  // (read from the pricing page) and https://www.morphllm.com/openai-api-pricing, for all six below.
  'gpt-5.5': { inputPerMTok: 5, outputPerMTok: 30, cacheReadPerMTok: 0.5 },
  // No cached-input price is listed for the pro models: cache reads are priced as input.
  'gpt-5.5-pro': { inputPerMTok: 30, outputPerMTok: 180 },
  'gpt-5.4': { inputPerMTok: 2.5, outputPerMTok: 15, cacheReadPerMTok: 0.25 },
  'gpt-5.4-mini': { inputPerMTok: 0.75, outputPerMTok: 4.5, cacheReadPerMTok: 0.075 },
  'gpt-5.4-nano': { inputPerMTok: 0.2, outputPerMTok: 1.25, cacheReadPerMTok: 0.02 },
  'gpt-5.4-pro': { inputPerMTok: 30, outputPerMTok: 180 },
});
