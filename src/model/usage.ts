/**
 * Token counts of one model call or a whole run, normalized across providers.
 *
 * The four input buckets are disjoint so that each can be priced on its own:
 * `inputTokens` counts only prompt tokens that were neither read from nor written to a cache.
 * `reasoningTokens` is informational: those tokens are already counted in `outputTokens`.
 */
export interface Usage {
  /** Prompt tokens billed at the plain input rate. */
  inputTokens: number;
  /** Generated tokens, including reasoning tokens. */
  outputTokens: number;
  /** Prompt tokens served from the provider's prompt cache. */
  cacheReadTokens: number;
  /** Prompt tokens written to the provider's prompt cache. */
  cacheWriteTokens: number;
  /** Of `outputTokens`, how many were hidden reasoning. */
  reasoningTokens: number;
}

/** A usage record with every count at zero. */
export function emptyUsage(): Usage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
}

/** Sum of two usage records (returns a new object). */
export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
  };
}

/** Every prompt token of the call or run, cached or not: what input-token budgets count. */
export function promptTokens(usage: Usage): number {
  return usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
}

/** Prompt plus output tokens: what a total-token budget counts. */
export function totalTokens(usage: Usage): number {
  return promptTokens(usage) + usage.outputTokens;
}
