import type { BaseMessage, UsageMetadata } from '@langchain/core/messages';
import {
  type AssistantMessage,
  emptyUsage,
  type ImagePart,
  type Message,
  type StopReason,
  type TextPart,
  type ToolResultPart,
  type Usage,
} from 'loopwork';

/** A LangChain conversation in loopwork's message format. */
export interface LoopworkTranscript {
  /** The system messages' text, joined. */
  system?: string;
  messages: Message[];
}

type Block = Record<string, unknown> & { type?: unknown };

const typeOf = (message: BaseMessage): string =>
  typeof message.getType === 'function' ? message.getType() : String(message.type);

/** A content value's blocks (a string is one text block). */
function blocksOf(content: unknown): Block[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  return content.map((block) =>
    typeof block === 'string' ? { type: 'text', text: block } : (block as Block),
  );
}

/** The text of a content value: its text blocks, concatenated. */
export function textOfContent(content: unknown): string {
  let text = '';
  for (const block of blocksOf(content))
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
  return text;
}

/** An image block (LangChain's `image_url` or standard `image`) as a loopwork image part. */
function imageOf(block: Block): ImagePart | undefined {
  const url =
    typeof block.image_url === 'string'
      ? block.image_url
      : typeof (block.image_url as { url?: unknown } | undefined)?.url === 'string'
        ? (block.image_url as { url: string }).url
        : typeof block.url === 'string'
          ? block.url
          : undefined;
  const inline = /^data:([^;,]+);base64,(.*)$/s.exec(url ?? '');
  if (inline) return { type: 'image', mediaType: inline[1] as string, data: inline[2] as string };
  if (url) return { type: 'image', mediaType: String(block.mimeType ?? 'image/*'), url };
  if (typeof block.data === 'string')
    return { type: 'image', mediaType: String(block.mimeType ?? 'image/*'), data: block.data };
  return undefined;
}

/**
 * A block loopwork has no part for (a document, a provider's own block): kept as its JSON, so
 * the transcript shows it and token estimates count it.
 */
const opaque = (block: Block): TextPart => ({ type: 'text', text: JSON.stringify(block) });

function userContent(content: unknown): string | Array<TextPart | ImagePart> {
  if (typeof content === 'string') return content;
  const parts: Array<TextPart | ImagePart> = [];
  for (const block of blocksOf(content)) {
    if (block.type === 'text' && typeof block.text === 'string')
      parts.push({ type: 'text', text: block.text });
    else if (block.type === 'image_url' || block.type === 'image')
      parts.push(imageOf(block) ?? opaque(block));
    else parts.push(opaque(block));
  }
  return parts;
}

function assistantMessage(message: BaseMessage): AssistantMessage {
  const content: AssistantMessage['content'] = [];
  for (const block of blocksOf(message.content)) {
    if (block.type === 'text' && typeof block.text === 'string') {
      if (block.text !== '') content.push({ type: 'text', text: block.text });
    } else if (block.type === 'thinking' || block.type === 'reasoning') {
      const text = block.thinking ?? block.reasoning ?? block.text;
      content.push({ type: 'reasoning', text: typeof text === 'string' ? text : '' });
    } else if (block.type === 'tool_use' || block.type === 'tool_call') {
      // The same calls are in `tool_calls`, in LangChain's normalized form.
    } else content.push(opaque(block));
  }
  const calls = (message as { tool_calls?: Array<{ id?: string; name: string; args: unknown }> })
    .tool_calls;
  (calls ?? []).forEach((call, index) => {
    content.push({
      type: 'tool-call',
      id: call.id ?? `call_${index}`,
      name: call.name,
      input: call.args,
    });
  });
  return { role: 'assistant', content };
}

function toolResult(message: BaseMessage): ToolResultPart {
  const tool = message as BaseMessage & { tool_call_id?: string; status?: string };
  const output =
    typeof message.content === 'string'
      ? message.content
      : textOfContent(message.content) || JSON.stringify(message.content);
  return {
    type: 'tool-result',
    toolCallId: tool.tool_call_id ?? '',
    toolName: message.name ?? '',
    output,
    isError: tool.status === 'error',
  };
}

/**
 * LangChain messages in loopwork's format: system messages become `system`, consecutive tool
 * messages one `tool` message (loopwork groups the results of one assistant message), and blocks
 * without a loopwork part their JSON text. Used for the run's transcript and token estimates.
 */
export function toLoopworkTranscript(messages: readonly BaseMessage[]): LoopworkTranscript {
  const system: string[] = [];
  const out: Message[] = [];
  for (const message of messages) {
    const type = typeOf(message);
    if (type === 'system') {
      system.push(textOfContent(message.content) || JSON.stringify(message.content));
    } else if (type === 'ai') {
      out.push(assistantMessage(message));
    } else if (type === 'tool') {
      const last = out.at(-1);
      if (last?.role === 'tool') last.content.push(toolResult(message));
      else out.push({ role: 'tool', content: [toolResult(message)] });
    } else if (type !== 'remove') {
      out.push({ role: 'user', content: userContent(message.content) });
    }
  }
  return { ...(system.length > 0 ? { system: system.join('\n\n') } : {}), messages: out };
}

/** Is `value` a list of LangChain messages (a graph's `messages` channel)? */
export function isMessageList(value: unknown): value is BaseMessage[] {
  return (
    Array.isArray(value) &&
    value.every(
      (item) => typeof item === 'object' && item !== null && 'content' in item && 'getType' in item,
    )
  );
}

/**
 * LangChain's usage in loopwork's terms. LangChain's `input_tokens` counts every prompt token;
 * loopwork's `inputTokens` only those neither read from nor written to a cache.
 */
export function usageOf(metadata: UsageMetadata): Usage {
  const cacheReadTokens = metadata.input_token_details?.cache_read ?? 0;
  const cacheWriteTokens = metadata.input_token_details?.cache_creation ?? 0;
  return {
    ...emptyUsage(),
    inputTokens: Math.max(0, metadata.input_tokens - cacheReadTokens - cacheWriteTokens),
    outputTokens: metadata.output_tokens,
    cacheReadTokens,
    cacheWriteTokens,
    reasoningTokens: metadata.output_token_details?.reasoning ?? 0,
  };
}

const STOP_REASONS: Record<string, StopReason> = {
  end_turn: 'end_turn',
  stop: 'end_turn',
  STOP: 'end_turn',
  tool_use: 'tool_use',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  max_tokens: 'max_tokens',
  length: 'max_tokens',
  MAX_TOKENS: 'max_tokens',
  stop_sequence: 'stop_sequence',
  content_filter: 'content_filter',
  refusal: 'content_filter',
  SAFETY: 'content_filter',
};

/** The stop reason of a model's answer, from the provider's own field in `response_metadata`. */
export function stopReasonOf(message: BaseMessage): StopReason {
  const metadata = (message.response_metadata ?? {}) as Record<string, unknown>;
  const raw = metadata.stop_reason ?? metadata.finish_reason ?? metadata.finishReason;
  if (typeof raw === 'string' && raw in STOP_REASONS) return STOP_REASONS[raw] as StopReason;
  const calls = (message as { tool_calls?: unknown[] }).tool_calls ?? [];
  if (raw === undefined) return calls.length > 0 ? 'tool_use' : 'end_turn';
  return 'other';
}

/** The text of the last assistant message of a conversation, or undefined when there is none. */
export function lastAssistantText(messages: readonly BaseMessage[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as BaseMessage;
    if (typeOf(message) === 'ai') return textOfContent(message.content);
  }
  return undefined;
}
