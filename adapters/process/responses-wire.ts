import type { StopReason, Usage } from 'loopwork';

/** The OpenAI API's error types used by the budget proxy (`error.type` of an error body). */
export type ResponsesErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'server_error';

/** An error body exactly as the OpenAI API writes one: `{"error": {message, type, param, code}}`. */
export function responsesErrorBody(
  type: ResponsesErrorType,
  message: string,
  code: string | null = null,
): string {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

type Wire = Record<string, unknown>;

const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;

/**
 * A Responses API `usage` in loopwork's disjoint buckets: `input_tokens` counts the cached
 * (`cached_tokens`) and cache-written (`cache_write_tokens`) ones too, so they are taken out;
 * reasoning tokens are already inside `output_tokens` (as `loopwork/openai` counts them).
 */
export function responsesUsageOf(usage: Wire | undefined): Usage {
  const input = usage?.input_tokens_details as Wire | undefined;
  const output = usage?.output_tokens_details as Wire | undefined;
  const read = count(input?.cached_tokens);
  const write = count(input?.cache_write_tokens);
  return {
    inputTokens: Math.max(0, count(usage?.input_tokens) - read - write),
    outputTokens: count(usage?.output_tokens),
    cacheReadTokens: read,
    cacheWriteTokens: write,
    reasoningTokens: count(output?.reasoning_tokens),
  };
}

/** Output item types that ask the client to run something and call the model again. */
const CALL_ITEMS = new Set([
  'function_call',
  'custom_tool_call',
  'local_shell_call',
  'computer_call',
  'mcp_approval_request',
]);

/**
 * A response's stop reason: `incomplete` by `max_output_tokens` → `max_tokens`, by
 * `content_filter` → `content_filter`; a completed one that holds a call → `tool_use`.
 */
export function responsesStopReason(response: Wire | undefined, sawCall = false): StopReason {
  const status = response?.status;
  if (status === 'incomplete') {
    const reason = (response?.incomplete_details as Wire | undefined)?.reason;
    return reason === 'max_output_tokens'
      ? 'max_tokens'
      : reason === 'content_filter'
        ? 'content_filter'
        : 'other';
  }
  if (status !== 'completed') return 'other';
  const output = Array.isArray(response?.output) ? (response.output as Wire[]) : [];
  return sawCall || output.some((item) => CALL_ITEMS.has(String(item?.type)))
    ? 'tool_use'
    : 'end_turn';
}

/** UTF-8 bytes per token assumed for the estimate; real text averages about 4, so it errs high. */
const BYTES_PER_TOKEN = 3;
/** Framing tokens per input item (role markers, separators). */
const TOKENS_PER_ITEM = 16;

/**
 * A deliberately high guess of a Responses API request's prompt tokens, from its body: its
 * instructions, input and tools at 3 UTF-8 bytes per token, plus framing per input item. Images
 * and files sent by reference are not counted; the request must carry its whole input.
 */
export function estimateResponsesTokens(body: Record<string, unknown>): number {
  const { instructions, input, tools } = body;
  const bytes = Buffer.byteLength(JSON.stringify([instructions ?? null, input ?? [], tools ?? []]));
  const framing = Array.isArray(input) ? input.length * TOKENS_PER_ITEM : TOKENS_PER_ITEM;
  return Math.ceil(bytes / BYTES_PER_TOKEN) + framing;
}

/**
 * Follows a Responses API SSE stream as it passes through: whether it started
 * (`response.created`), the final response of `response.completed`, `response.incomplete` or
 * `response.failed` with its usage, and whether any output item was a call.
 */
export class ResponsesStreamTracker {
  private buffer = '';
  started = false;
  /** The final response object, once a terminal event arrived. */
  final: Wire | undefined;
  private sawCall = false;

  push(text: string): void {
    this.buffer += text;
    let end = this.buffer.indexOf('\n');
    while (end >= 0) {
      const line = this.buffer.slice(0, end).replace(/\r$/, '');
      this.buffer = this.buffer.slice(end + 1);
      if (line.startsWith('data:')) this.data(line.slice(5).trim());
      end = this.buffer.indexOf('\n');
    }
  }

  private data(json: string): void {
    let event: { type?: unknown; response?: Wire; item?: Wire };
    try {
      event = JSON.parse(json);
    } catch {
      return;
    }
    switch (event.type) {
      case 'response.created':
      case 'response.in_progress':
        this.started = true;
        return;
      case 'response.output_item.added':
      case 'response.output_item.done':
        this.started = true;
        if (CALL_ITEMS.has(String(event.item?.type))) this.sawCall = true;
        return;
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        this.started = true;
        this.final = event.response ?? {};
        return;
    }
  }

  /** The usage the final event reported, when it reported one. */
  get usage(): Usage | undefined {
    const usage = this.final?.usage as Wire | null | undefined;
    return usage ? responsesUsageOf(usage) : undefined;
  }

  get stopReason(): StopReason {
    return responsesStopReason(this.final, this.sawCall);
  }
}
