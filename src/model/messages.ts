/** Plain text, from the user, the assistant or inside a tool result. */
export interface TextPart {
  type: 'text';
  text: string;
}

/** An image given to the model, inline as base64 or by URL. */
export interface ImagePart {
  type: 'image';
  /** IANA media type, for example `image/png`. */
  mediaType: string;
  /** Base64-encoded bytes (no `data:` prefix). Exactly one of `data` and `url` is set. */
  data?: string;
  /** A URL the provider can fetch. */
  url?: string;
}

/**
 * Reasoning the model produced before answering. Kept in the transcript because some providers
 * require it back on the next call (Anthropic's signed thinking blocks); `providerMetadata` holds
 * what the adapter needs for that (a signature, an encrypted payload), as plain JSON.
 */
export interface ReasoningPart {
  type: 'reasoning';
  /** The reasoning text, when the provider shows it ('' when it is redacted or encrypted). */
  text: string;
  /** Adapter-owned data that must travel with the part, keyed by provider. */
  providerMetadata?: Record<string, unknown>;
}

/** The model asks for a tool to be run. `input` is whatever the model produced, not yet validated. */
export interface ToolCallPart {
  type: 'tool-call';
  /** Provider-assigned id, unique within the run; tool results refer to it. */
  id: string;
  name: string;
  input: unknown;
}

/** The outcome of one tool call, sent back to the model. */
export interface ToolResultPart {
  type: 'tool-result';
  toolCallId: string;
  toolName: string;
  /** What the model reads: the tool's output, or an error message it can act on. */
  output: string;
  /** True when `output` describes a failure (unknown tool, invalid input, thrown, timed out, denied). */
  isError: boolean;
}

/** A message from the user. A string is shorthand for one text part. */
export interface UserMessage {
  role: 'user';
  content: string | Array<TextPart | ImagePart>;
}

/** A message produced by the model. */
export interface AssistantMessage {
  role: 'assistant';
  content: Array<TextPart | ToolCallPart | ReasoningPart>;
}

/** Results of the tool calls in the preceding assistant message. */
export interface ToolMessage {
  role: 'tool';
  content: ToolResultPart[];
}

/** One entry of a conversation, in the provider-neutral shape every adapter maps from. */
export type Message = UserMessage | AssistantMessage | ToolMessage;

/** Concatenated text of an assistant message's text parts. */
export function textOf(message: AssistantMessage): string {
  let text = '';
  for (const part of message.content) if (part.type === 'text') text += part.text;
  return text;
}

/** The tool calls of an assistant message, in order. */
export function toolCallsOf(message: AssistantMessage): ToolCallPart[] {
  return message.content.filter((part): part is ToolCallPart => part.type === 'tool-call');
}
