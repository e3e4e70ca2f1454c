import type {
  StopReason as AnthropicStopReason,
  Usage as AnthropicUsage,
  Message,
  MessageDeltaUsage,
} from '@anthropic-ai/sdk/resources/messages';
import type { AssistantMessage, ModelResponse, ReasoningPart, StopReason, Usage } from 'loopwork';

/**
 * Anthropic's stop reasons, normalized. `refusal` (a safety classifier stopped the answer) is a
 * content filter; `pause_turn` (a long server-tool turn paused, to be sent back to continue) has
 * no neutral equivalent; `model_context_window_exceeded` ended the output early like max_tokens.
 */
const STOP_REASONS: Readonly<Record<AnthropicStopReason, StopReason>> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  refusal: 'content_filter',
  pause_turn: 'other',
  model_context_window_exceeded: 'max_tokens',
};

/** The key of a reasoning part's `providerMetadata` this adapter writes and reads. */
export const PROVIDER_METADATA_KEY = 'anthropic';

/**
 * What a reasoning part carries under `providerMetadata.anthropic`: the `signature` of a
 * `thinking` block, or the encrypted `data` of a `redacted_thinking` block (its `text` is '').
 */
type AnthropicReasoningMetadata = { signature: string } | { redactedData: string };

/**
 * The complete Messages API answer as the loop's {@link ModelResponse}; streaming ends here too.
 *
 * Content keeps the blocks' order. `thinking` and `redacted_thinking` blocks become reasoning
 * parts that carry what the API needs to accept them back (see `toAssistantBlocks`): the turn
 * lives in the transcript, so a run resumed anywhere sends them as they came.
 */
export function fromMessage(message: Message): ModelResponse {
  const content: AssistantMessage['content'] = [];
  for (const block of message.content) {
    if (block.type === 'text' && block.text !== '')
      content.push({ type: 'text', text: block.text });
    if (block.type === 'tool_use') {
      content.push({ type: 'tool-call', id: block.id, name: block.name, input: block.input });
    }
    if (block.type === 'thinking') {
      content.push(reasoning(block.thinking, { signature: block.signature }));
    }
    if (block.type === 'redacted_thinking') {
      content.push(reasoning('', { redactedData: block.data }));
    }
  }
  return {
    message: { role: 'assistant', content },
    stopReason: message.stop_reason ? (STOP_REASONS[message.stop_reason] ?? 'other') : 'other',
    usage: fromUsage(message.usage),
    providerMetadata: {
      id: message.id,
      model: message.model,
      stopReason: message.stop_reason,
      stopSequence: message.stop_sequence ?? null,
      ...(message.stop_details ? { stopDetails: message.stop_details } : {}),
    },
  };
}

function reasoning(text: string, metadata: AnthropicReasoningMetadata): ReasoningPart {
  return { type: 'reasoning', text, providerMetadata: { [PROVIDER_METADATA_KEY]: metadata } };
}

/**
 * Anthropic reports the three prompt buckets separately already (`input_tokens` excludes cache
 * reads and writes), so they map one to one; thinking tokens are inside `output_tokens`.
 */
export function fromUsage(usage: Partial<AnthropicUsage> | MessageDeltaUsage): Usage {
  return {
    inputTokens: usage.input_tokens ?? 0,
    outputTokens: usage.output_tokens ?? 0,
    cacheReadTokens: usage.cache_read_input_tokens ?? 0,
    cacheWriteTokens: usage.cache_creation_input_tokens ?? 0,
    reasoningTokens: usage.output_tokens_details?.thinking_tokens ?? 0,
  };
}

/**
 * Parses streamed tool input. Arguments that are not valid JSON are kept as their raw text (a
 * string), which fails every tool's object schema, so the loop answers the model with an
 * `invalid_input` tool error it can correct instead of crashing.
 */
export function parseToolInput(json: string): unknown {
  if (json.trim() === '') return {};
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}
