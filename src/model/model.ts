import type { AssistantMessage, Message, ToolCallPart } from './messages';
import type { Usage } from './usage';

/** A tool as the model sees it: name, description and a JSON Schema for its input. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema (an object schema) describing the tool's input. */
  inputSchema: Record<string, unknown>;
}

/**
 * Asks for the final answer as JSON matching a schema, through the provider's own structured
 * output (OpenAI `response_format` / `text.format`, Anthropic `output_config.format`, the AI SDK's
 * `responseFormat`). The loop sends it only to a model whose `supportsResponseFormat` is true, and
 * validates the answer itself either way.
 */
export interface ResponseFormat {
  type: 'json';
  /** JSON Schema of the answer: an object schema. */
  schema: Record<string, unknown>;
  /** Name of the schema (1-64 letters, digits, `_` or `-`), for providers that want one. */
  name: string;
  /** What the answer is, for providers that take a description. */
  description?: string;
}

/** One model call, in the provider-neutral shape. */
export interface ModelRequest {
  /** System prompt. */
  system?: string;
  /** The conversation so far. */
  messages: Message[];
  /** Tools the model may call; omitted or empty means none. */
  tools?: ToolSpec[];
  /** Upper bound on generated tokens for this call; the agent loop clamps it to the budgets. */
  maxOutputTokens: number;
  /** Sequences that end generation when produced. */
  stopSequences?: string[];
  /** Constrains the final answer to JSON of a schema; only sent when `supportsResponseFormat`. */
  responseFormat?: ResponseFormat;
  /** Passed through untouched to the provider adapter, keyed by provider name. */
  providerOptions?: Record<string, unknown>;
}

/** Why the model stopped generating, normalized across providers. */
export type StopReason =
  | 'end_turn'
  | 'tool_use'
  | 'max_tokens'
  | 'stop_sequence'
  | 'content_filter'
  | 'other';

/** The complete answer to one model call. */
export interface ModelResponse {
  /** The assistant message to append to the conversation. */
  message: AssistantMessage;
  stopReason: StopReason;
  usage: Usage;
  /** Provider-specific details (response id, raw stop reason …), never needed by the loop. */
  providerMetadata?: Record<string, unknown>;
}

/** One piece of a streamed model call. The stream always ends with exactly one `finish` part. */
export type ModelStreamPart =
  | { type: 'text-delta'; text: string }
  | { type: 'tool-call-start'; id: string; name: string }
  | { type: 'tool-call-delta'; id: string; inputTextDelta: string }
  | { type: 'tool-call'; toolCall: ToolCallPart }
  | { type: 'finish'; response: ModelResponse };

/** Per-call settings that are not part of the request itself. */
export interface ModelCallOptions {
  /** Aborts the call; adapters must stop network work and reject promptly. */
  signal: AbortSignal;
}

/**
 * The contract every model adapter implements (Anthropic, OpenAI, AI SDK, scripted, yours).
 *
 * Failures must be thrown as {@link ModelError} so the loop can decide whether to retry.
 */
export interface Model {
  /** Contract version this object implements. */
  readonly specificationVersion: 'loopwork.model.v1';
  /** Provider name, for example `anthropic`; used in events, errors and price lookup. */
  readonly provider: string;
  /** Model id sent to the provider; the key of the price table. */
  readonly modelId: string;
  /**
   * True when the adapter maps `request.responseFormat` to the provider's structured output.
   * Otherwise a run with an `output` schema asks for its answer through a `final_answer` tool.
   */
  readonly supportsResponseFormat?: boolean;
  /** Makes one call and resolves with the complete response. */
  generate(request: ModelRequest, options: ModelCallOptions): Promise<ModelResponse>;
  /** Optional streaming form; when present the loop uses it and emits text deltas as events. */
  stream?(request: ModelRequest, options: ModelCallOptions): AsyncIterable<ModelStreamPart>;
}
