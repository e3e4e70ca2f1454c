/**
 * OpenAI wire formats for msw fixtures, built field for field after responses recorded from the
 * real API — do not invent fields here, copy them from a recording:
 *
 * - Chat Completions JSON and SSE chunks (role chunk, content / tool-call deltas, finish chunk,
 *   usage-only chunk with `choices: []`, `data: [DONE]`): coder/aibridge
 *   fixtures/openai/chatcompletions/single_builtin_tool.txtar and fixtures/openai/error.txtar
 *   (in-stream `data: {"error": …}`), recorded from api.openai.com with gpt-4.1.
 * - Responses API JSON and SSE events (`event:` + `data:` lines, `response.created` …
 *   `response.completed`, `obfuscation` fields): coder/aibridge
 *   fixtures/openai/responses/blocking/single_builtin_tool.txtar,
 *   fixtures/openai/responses/streaming/{simple,builtin_tool,stream_error,stream_failure}.txtar.
 * - `cache_write_tokens` (GPT-5.6 and later): openai 6.49.0 types (CompletionUsage,
 *   ResponseUsage) and https://developers.openai.com/api/docs/guides/prompt-caching.
 */
export interface AnswerUsage {
  /** Prompt tokens in total, cached and cache-written ones included (OpenAI's own count). */
  input: number;
  output: number;
  cached?: number;
  /** Reported by GPT-5.6 and later only. */
  cacheWrite?: number;
  reasoning?: number;
}

/** One model answer, rendered below as JSON or as an SSE stream of either API. */
export interface Answer {
  /** Text as streamed, delta by delta (joined for the JSON form). */
  text?: string[];
  /** Function calls; `args` is the arguments JSON as streamed, piece by piece. */
  toolCalls?: Array<{ id: string; name: string; args: string[] }>;
  /** Why it stopped; default `stop`, or `tool_calls` when there are tool calls. */
  finish?: 'stop' | 'tool_calls' | 'length' | 'content_filter';
  usage?: AnswerUsage;
}
export const CREATED = 1753343173;
export const MODEL = 'gpt-4.1-2025-04-14';
export const CHAT_ID = 'chatcmpl-BwkwXxA0yAyLKZelloERJWtxKor9z';
export const RESPONSE_ID = 'resp_0c3fb28cfcf463a500695fa2f0239481a095ec6ce3dfe4d458';
export const MESSAGE_ID = 'msg_0f9c4b2f224d858000695fa063d4708197af73c2f37cb0b9d3';
export const USAGE: AnswerUsage = { input: 12, output: 6 };

export const finishOf = (answer: Answer) =>
  answer.finish ?? (answer.toolCalls?.length ? 'tool_calls' : 'stop');

/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`. */
export function errorBody(
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
) {
  return { error: { message, type, param, code } };
}
