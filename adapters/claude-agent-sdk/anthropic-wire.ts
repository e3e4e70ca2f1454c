import type { StopReason, Usage } from 'loopwork';

/** The Messages API's error types (the `error.type` of an error body). */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

/** An error body exactly as the Messages API writes one. */
export function errorBody(type: AnthropicErrorType, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

const STOP_REASONS: Readonly<Record<string, StopReason>> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  refusal: 'content_filter',
  model_context_window_exceeded: 'max_tokens',
};

/** Anthropic's stop reason, normalized (as `loopwork/anthropic` does). */
export function stopReasonOf(reason: unknown): StopReason {
  return typeof reason === 'string' ? (STOP_REASONS[reason] ?? 'other') : 'other';
}

type WireUsage = Record<string, unknown>;

const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;

/** A Messages API `usage` object in loopwork's buckets (thinking is inside `output_tokens`). */
export function usageOf(usage: WireUsage | undefined): Usage {
  const details = usage?.output_tokens_details as WireUsage | undefined;
  return {
    inputTokens: count(usage?.input_tokens),
    outputTokens: count(usage?.output_tokens),
    cacheReadTokens: count(usage?.cache_read_input_tokens),
    cacheWriteTokens: count(usage?.cache_creation_input_tokens),
    reasoningTokens: count(details?.thinking_tokens),
  };
}

/** UTF-8 bytes per token assumed for the estimate; real text averages about 4, so it errs high. */
const BYTES_PER_TOKEN = 3;
/** Framing tokens per message (role markers, separators). */
const TOKENS_PER_MESSAGE = 16;

/**
 * A deliberately high guess of a Messages API request's prompt tokens, from its body: its
 * system, messages and tools at 3 UTF-8 bytes per token, plus framing per message.
 */
export function estimateRequestTokens(body: Record<string, unknown>): number {
  const { system, messages, tools } = body;
  const bytes = Buffer.byteLength(JSON.stringify([system ?? null, messages ?? [], tools ?? []]));
  const framing = Array.isArray(messages) ? messages.length * TOKENS_PER_MESSAGE : 0;
  return Math.ceil(bytes / BYTES_PER_TOKEN) + framing;
}

/** Smallest `thinking.budget_tokens` the API accepts. */
const MIN_THINKING_BUDGET = 1024;

/**
 * Sets the clamped `max_tokens` on a request body. Extended thinking must fit inside it
 * (`budget_tokens` < `max_tokens`, at least 1024): a budget that no longer fits is lowered, and
 * thinking is turned off (with the context edits that need it) when not even the smallest fits.
 */
export function clampBody(body: Record<string, unknown>, maxTokens: number): void {
  body.max_tokens = maxTokens;
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | undefined;
  if (thinking?.type !== 'enabled' || typeof thinking.budget_tokens !== 'number') return;
  if (thinking.budget_tokens < maxTokens) return;
  if (maxTokens - 1 >= MIN_THINKING_BUDGET) {
    body.thinking = { ...thinking, budget_tokens: maxTokens - 1 };
    return;
  }
  body.thinking = { type: 'disabled' };
  const management = body.context_management as { edits?: Array<{ type?: unknown }> } | undefined;
  if (Array.isArray(management?.edits)) {
    const edits = management.edits.filter(
      (edit) => typeof edit.type !== 'string' || !edit.type.startsWith('clear_thinking'),
    );
    if (edits.length > 0) body.context_management = { ...management, edits };
    else delete body.context_management;
  }
}

/**
 * Follows a Messages API SSE stream as it passes through: the usage of `message_start`, updated
 * by each `message_delta` (whose counts are cumulative), the stop reason, and whether
 * `message_stop` arrived.
 */
export class SseUsageTracker {
  private buffer = '';
  private wire: WireUsage = {};
  stopReason: StopReason = 'other';
  complete = false;
  started = false;

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
    let event: {
      type?: unknown;
      message?: { usage?: WireUsage };
      usage?: WireUsage;
      delta?: WireUsage;
    };
    try {
      event = JSON.parse(json);
    } catch {
      return;
    }
    if (event.type === 'message_start') {
      this.started = true;
      this.wire = { ...event.message?.usage };
    }
    if (event.type === 'message_delta') {
      for (const [key, value] of Object.entries(event.usage ?? {}))
        if (value !== null && value !== undefined) this.wire[key] = value;
      this.stopReason = stopReasonOf(event.delta?.stop_reason);
    }
    if (event.type === 'message_stop') this.complete = true;
  }

  get usage(): Usage {
    return usageOf(this.wire);
  }
}
