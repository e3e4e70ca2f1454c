import type { ModelResponse, StopReason, TextPart, ToolCallPart, Usage } from 'loopwork';
import type { V3FinishReason, V3GenerateResult, V3Usage } from './types';

/**
 * Parses a tool call's JSON-encoded input. Empty text (a tool without parameters) is `{}`.
 *
 * Malformed JSON does not throw: the raw text itself becomes the input, so the agent loop's
 * validation answers the model with an `invalid_input` tool error it can correct.
 */
export function parseToolInput(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A V3 tool call (input as JSON text) as a loopwork tool-call part. */
export function toToolCall(call: { toolCallId: string; toolName: string; input: string }) {
  return {
    type: 'tool-call',
    id: call.toolCallId,
    name: call.toolName,
    input: parseToolInput(call.input),
  } satisfies ToolCallPart;
}

/**
 * Normalizes V3 usage into loopwork's four disjoint input buckets. `noCache` already excludes
 * cache reads and writes; when a provider leaves it out it is derived from the total.
 */
export function toUsage(usage: V3Usage): Usage {
  const cacheReadTokens = usage.inputTokens.cacheRead ?? 0;
  const cacheWriteTokens = usage.inputTokens.cacheWrite ?? 0;
  const inputTokens =
    usage.inputTokens.noCache ??
    Math.max(0, (usage.inputTokens.total ?? 0) - cacheReadTokens - cacheWriteTokens);
  const reasoningTokens = usage.outputTokens.reasoning ?? 0;
  const outputTokens = usage.outputTokens.total ?? (usage.outputTokens.text ?? 0) + reasoningTokens;
  return { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, reasoningTokens };
}

/**
 * Normalizes the finish reason. A stop with tool calls counts as `tool_use` (some providers
 * report `stop` there); Anthropic's raw `stop_sequence` is kept apart from a plain end of turn.
 */
export function toStopReason(reason: V3FinishReason, hasToolCalls: boolean): StopReason {
  switch (reason.unified) {
    case 'tool-calls':
      return 'tool_use';
    case 'length':
      return 'max_tokens';
    case 'content-filter':
      return 'content_filter';
    case 'stop':
      if (hasToolCalls) return 'tool_use';
      return reason.raw === 'stop_sequence' ? 'stop_sequence' : 'end_turn';
    default:
      return hasToolCalls ? 'tool_use' : 'other';
  }
}

/** Everything a finished call produced, from either `doGenerate` or an assembled stream. */
export interface CallOutcome {
  content: Array<TextPart | ToolCallPart>;
  finishReason: V3FinishReason;
  usage: V3Usage;
  response?: { id?: string | undefined; modelId?: string | undefined } | undefined;
  providerMetadata?: Record<string, unknown> | undefined;
}

/** Builds the loopwork response; the same function serves `generate` and `stream`. */
export function toModelResponse(outcome: CallOutcome): ModelResponse {
  const content = outcome.content.filter((part) => part.type !== 'text' || part.text !== '');
  const hasToolCalls = content.some((part) => part.type === 'tool-call');
  const metadata: Record<string, unknown> = { ...outcome.providerMetadata };
  if (outcome.response?.id !== undefined) metadata.responseId = outcome.response.id;
  if (outcome.response?.modelId !== undefined) metadata.responseModelId = outcome.response.modelId;
  if (outcome.finishReason.raw !== undefined) metadata.rawFinishReason = outcome.finishReason.raw;
  return {
    message: { role: 'assistant', content },
    stopReason: toStopReason(outcome.finishReason, hasToolCalls),
    usage: toUsage(outcome.usage),
    providerMetadata: metadata,
  };
}

/**
 * The loopwork response of a `doGenerate` result. Only text and client-side tool calls are kept:
 * reasoning, sources, files and provider-executed tools (web search …) are not part of the
 * contract's message, and the provider has already acted on the latter.
 */
export function fromGenerateResult(result: V3GenerateResult): ModelResponse {
  const content: Array<TextPart | ToolCallPart> = [];
  for (const part of result.content) {
    if (part.type === 'text') content.push({ type: 'text', text: part.text });
    else if (part.type === 'tool-call' && !part.providerExecuted) content.push(toToolCall(part));
  }
  return toModelResponse({
    content,
    finishReason: result.finishReason,
    usage: result.usage,
    response: result.response,
    providerMetadata: result.providerMetadata,
  });
}
