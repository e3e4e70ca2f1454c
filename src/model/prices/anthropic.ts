import type { PriceTable } from '../pricing';

/**
 * Anthropic's list prices (USD per million tokens) for the current Claude API models, read on
 * 2026-11-26 from Anthropic's own pages. `cacheWritePerMTok` is the 5-minute cache write (the
 * default TTL); 1-hour writes cost more (2x input) and are not modelled here.
 *
 * Keys are model ids; `findPrice` also matches dated snapshots by prefix
 * (`claude-opus-5-5-…` → `claude-opus-5-5`). Where a figure could not be confirmed on a vendor
 * page it is left out: a missing cache price falls back to the input price, which never
 * under-prices a call, so budgets stay hard limits.
 *
 * Left out: Claude Fable 5.2 (released 2026-11-09; input/output $8/$40 appear on the models
 * overview, but no vendor page read here confirmed its cache prices) and older generations.
 */
export const anthropicPrices: PriceTable = {
  // 2026-11-26, https://platform.claude.com/docs/en/models/overview and
  // https://platform.claude.com/docs/zh-CN/models/opus-5-5/overview (Pricing: input $4, output $20,
  // 5m cache write $5, cache read $0.20).
  'claude-opus-5-5': {
    inputPerMTok: 4,
    outputPerMTok: 20,
    cacheReadPerMTok: 0.2,
    cacheWritePerMTok: 5,
  },
  // 2026-11-26, https://platform.claude.com/docs/zh-CN/models/sonnet-5-5/overview (input $2,
  // output $10, 5m cache write $2.50, cache read $0.20). Third-party price trackers report a cut
  // of the cache read to $0.10 from 2026-10-07 that no vendor page read here shows; until one
  // does, the higher vendor figure stays (it over-prices cache reads, never under-prices).
  'claude-sonnet-5-5': {
    inputPerMTok: 2,
    outputPerMTok: 10,
    cacheReadPerMTok: 0.2,
    cacheWritePerMTok: 2.5,
  },
  // 2026-11-26, https://platform.claude.com/docs/en/models/haiku-5-5/overview and
  // https://platform.claude.com/docs/zh-CN/models/haiku-5-5/overview. Haiku 5.5 is priced by
  // prompt length: $0.10 input / $0.50 output / $0.125 5m write up to 100,000 prompt tokens, and
  // $0.50 / $2.50 / $0.625 for every token of a request whose prompt is longer (`longPrompt`).
  // The cache read price is left out (the vendor page read here was cut off before it), so cache
  // reads are priced as input, which never under-prices a call.
  'claude-haiku-5-5': {
    inputPerMTok: 0.1,
    outputPerMTok: 0.5,
    cacheWritePerMTok: 0.125,
    longPrompt: [
      {
        abovePromptTokens: 100_000,
        inputPerMTok: 0.5,
        outputPerMTok: 2.5,
        cacheWritePerMTok: 0.625,
      },
    ],
  },
  // 2026-11-26, https://platform.claude.com/docs/en/about-claude/pricing (Claude Opus 5: $5,
  // 5m cache write $6.25, cache hits $0.50, output $25). Legacy since Opus 5.5, still served.
  'claude-opus-5': {
    inputPerMTok: 5,
    outputPerMTok: 25,
    cacheReadPerMTok: 0.5,
    cacheWritePerMTok: 6.25,
  },
  // 2026-11-26, https://platform.claude.com/docs/zh-CN/models/sonnet-5/overview (input $2,
  // output $10, 5m cache write $2.50, cache read $0.20). Legacy since Sonnet 5.5, still served.
  'claude-sonnet-5': {
    inputPerMTok: 2,
    outputPerMTok: 10,
    cacheReadPerMTok: 0.2,
    cacheWritePerMTok: 2.5,
  },
};
