import type { Attributes } from '@opentelemetry/api';
import { promptTokens, type Usage } from 'loopwork';
import {
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
} from './semconv';

/**
 * loopwork's usage as GenAI attributes. loopwork's four input buckets are disjoint (`inputTokens`
 * counts only uncached prompt tokens), but the conventions' `gen_ai.usage.input_tokens` "SHOULD
 * include all types of input tokens, including cached tokens", with cache reads and cache writes
 * each also reported on their own (and included in it). So `input_tokens` is the sum of the
 * three, what `promptTokens()` counts; `output_tokens` already includes reasoning tokens in both.
 * Cache and reasoning counts are left out when zero (most providers report none).
 */
export function usageAttributes(usage: Usage): Attributes {
  return {
    [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: promptTokens(usage),
    [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: usage.outputTokens,
    ...(usage.cacheReadTokens > 0
      ? { [ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: usage.cacheReadTokens }
      : {}),
    ...(usage.cacheWriteTokens > 0
      ? { [ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]: usage.cacheWriteTokens }
      : {}),
    ...(usage.reasoningTokens > 0
      ? { [ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]: usage.reasoningTokens }
      : {}),
  };
}

/** The usage of `after` not yet in `before` (a resumed run's result counts its whole past). */
export function usageSince(after: Usage, before: Usage): Usage {
  return {
    inputTokens: after.inputTokens - before.inputTokens,
    outputTokens: after.outputTokens - before.outputTokens,
    cacheReadTokens: after.cacheReadTokens - before.cacheReadTokens,
    cacheWriteTokens: after.cacheWriteTokens - before.cacheWriteTokens,
    reasoningTokens: after.reasoningTokens - before.reasoningTokens,
  };
}
