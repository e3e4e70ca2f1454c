import type { Usage } from 'loopwork';
import type { CompletionUsage } from 'openai/resources/completions';
import type { ResponseUsage } from 'openai/resources/responses/responses';

/**
 * OpenAI counts cache reads (`cached_tokens`) and, on GPT-5.6 and later, cache writes
 * (`cache_write_tokens`) inside the prompt total; the contract's buckets are disjoint, so both are
 * taken out of `inputTokens`. Reasoning tokens are already inside the output total.
 */
function normalize(
  prompt: number | undefined,
  cacheRead: number | undefined,
  cacheWrite: number | undefined,
  output: number | undefined,
  reasoning: number | undefined,
): Usage {
  const read = cacheRead ?? 0;
  const write = cacheWrite ?? 0;
  return {
    inputTokens: Math.max(0, (prompt ?? 0) - read - write),
    outputTokens: output ?? 0,
    cacheReadTokens: read,
    cacheWriteTokens: write,
    reasoningTokens: reasoning ?? 0,
  };
}

/** Usage of a Chat Completions answer (the final chunk's, when streamed). */
export function chatUsage(usage: CompletionUsage | null | undefined): Usage {
  return normalize(
    usage?.prompt_tokens,
    usage?.prompt_tokens_details?.cached_tokens,
    usage?.prompt_tokens_details?.cache_write_tokens,
    usage?.completion_tokens,
    usage?.completion_tokens_details?.reasoning_tokens,
  );
}

/** Usage of a Responses API answer. */
export function responsesUsage(usage: ResponseUsage | null | undefined): Usage {
  return normalize(
    usage?.input_tokens,
    usage?.input_tokens_details?.cached_tokens,
    usage?.input_tokens_details?.cache_write_tokens,
    usage?.output_tokens,
    usage?.output_tokens_details?.reasoning_tokens,
  );
}
