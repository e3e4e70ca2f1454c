// Anthropic Messages API wire formats for the adapter tests (not a test file).
//
// Shapes follow Anthropic's API reference: the Message object and its usage fields
// (platform.claude.com/docs/en/api/messages), the SSE event flow message_start →
// content_block_start/delta/stop → message_delta → message_stop with `ping` and `error` events
// (platform.claude.com/docs/en/build-with-claude/streaming), and the error body
// {"type":"error","error":{"type","message"},"request_id"} with its per-status types
// (platform.claude.com/docs/en/api/errors); cross-checked against the SDK's own types in
// node_modules/@anthropic-ai/sdk/src/resources/messages/messages.ts and its SSE parser in
// node_modules/@anthropic-ai/sdk/src/core/streaming.ts.
import { HttpResponse } from 'msw';

/** The loopback address the test client points at: even a leaked request stays on this machine. */
export const BASE_URL = 'http://127.0.0.1:9';
export const MESSAGES_URL = `${BASE_URL}/v1/messages`;
export const TEST_KEY = 'sk-ant-api03-loopwork-test-SECRET-4f1c9e';

type Json = Record<string, unknown>;

/** A complete Message object as `POST /v1/messages` returns it. */
export function message(overrides: Json & { content: Json[] }): Json {
  return {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-5-5',
    stop_reason: 'end_turn',
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    ...overrides,
    usage: {
      input_tokens: 12,
      output_tokens: 6,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      server_tool_use: null,
      service_tier: 'standard',
      inference_geo: 'global',
      output_tokens_details: null,
      speed: 'standard',
      ...(overrides.usage as Json | undefined),
    },
  };
}

export const text = (value: string): Json => ({ type: 'text', text: value, citations: null });
export const toolUse = (id: string, name: string, input: Json): Json => ({
  type: 'tool_use',
  id,
  name,
  input,
  caller: { type: 'direct' },
});
export const thinking = (value: string, signature: string): Json => ({
  type: 'thinking',
  thinking: value,
  signature,
});
/** A `redacted_thinking` block: encrypted thinking, sent whole (no deltas when streamed). */
export const redactedThinking = (data: string): Json => ({ type: 'redacted_thinking', data });

/** One SSE event in the wire format: `event: <type>` and its JSON `data`. */
export type SseEvent = { event: string; data: Json };

/** Serializes SSE events as the API sends them. */
export function sseText(events: SseEvent[]): string {
  return events
    .map(({ event, data }) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    .join('');
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'request-id': 'req_011CStream' };

/** A `200 text/event-stream` response carrying `events`. */
export function sseResponse(events: SseEvent[]): HttpResponse<string> {
  return new HttpResponse(sseText(events), { headers: SSE_HEADERS });
}

/**
 * A streamed response that sends `events`, then either breaks the connection (`error`) or stays
 * open until the client goes away (`hang`).
 */
export function brokenSseResponse(
  events: SseEvent[],
  end: 'error' | 'close' | 'hang',
  request?: Request,
): HttpResponse<ReadableStream<Uint8Array>> {
  const bytes = new TextEncoder().encode(sseText(events));
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      if (end === 'error') controller.error(new TypeError('terminated'));
      if (end === 'close') controller.close();
      if (end === 'hang') {
        const timer = setTimeout(() => controller.close(), 10_000);
        request?.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          try {
            controller.close();
          } catch {}
        });
      }
    },
  });
  return new HttpResponse(body, { headers: SSE_HEADERS });
}

const ev = (type: string, data: Json = {}): SseEvent => ({ event: type, data: { type, ...data } });

/**
 * The SSE events for `full` (a Message as `message()` builds it): text split into two deltas,
 * tool input JSON split into two `input_json_delta`s, thinking as thinking and signature deltas
 * (the block starts with both empty), any other block (redacted_thinking) whole in its
 * content_block_start, usage first in message_start (output 1) and final in message_delta, and a
 * `ping`.
 */
export function streamEventsFor(full: Json): SseEvent[] {
  const usage = full.usage as Json;
  const start = {
    ...full,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { ...usage, output_tokens: 1, output_tokens_details: null },
  };
  const events: SseEvent[] = [ev('message_start', { message: start }), ev('ping')];
  (full.content as Json[]).forEach((block, index) => {
    const delta = (d: Json) => ev('content_block_delta', { index, delta: d });
    if (block.type === 'text') {
      events.push(ev('content_block_start', { index, content_block: { ...block, text: '' } }));
      for (const part of halves(block.text as string)) {
        events.push(delta({ type: 'text_delta', text: part }));
      }
    } else if (block.type === 'tool_use') {
      events.push(ev('content_block_start', { index, content_block: { ...block, input: {} } }));
      for (const part of halves(JSON.stringify(block.input))) {
        events.push(delta({ type: 'input_json_delta', partial_json: part }));
      }
    } else if (block.type === 'thinking') {
      const empty = { ...block, thinking: '', signature: '' };
      events.push(ev('content_block_start', { index, content_block: empty }));
      for (const part of halves(block.thinking as string)) {
        events.push(delta({ type: 'thinking_delta', thinking: part }));
      }
      events.push(delta({ type: 'signature_delta', signature: block.signature }));
    } else {
      events.push(ev('content_block_start', { index, content_block: block }));
    }
    events.push(ev('content_block_stop', { index }));
  });
  events.push(
    ev('message_delta', {
      delta: {
        stop_reason: full.stop_reason,
        stop_sequence: full.stop_sequence,
        stop_details: full.stop_details,
      },
      usage: {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        server_tool_use: null,
        output_tokens_details: usage.output_tokens_details,
      },
    }),
    ev('message_stop'),
  );
  return events;
}

/** The first events of a text answer: message_start, the text block's start, one delta. */
export function openingEvents(firstText: string): SseEvent[] {
  return streamEventsFor(message({ content: [text(firstText)] })).slice(0, 4);
}

/** The `error` SSE event the API sends mid-stream (for example `overloaded_error`). */
export const sseError = (type: string, errorMessage: string): SseEvent =>
  ev('error', { error: { type, message: errorMessage } });

/** An error response: `{"type":"error","error":{…},"request_id":…}` with the given status. */
export function errorResponse(
  status: number,
  type: string,
  errorMessage: string,
  headers: Record<string, string> = {},
  details?: Json,
): HttpResponse<Json> {
  return HttpResponse.json(
    {
      type: 'error',
      error: { type, message: errorMessage, ...(details ? { details } : {}) },
      request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy',
    },
    { status, headers: { 'request-id': 'req_011CSHoEeqs5C35K2UUqR7Fy', ...headers } },
  );
}

/** Answers as the API would: SSE when the request asked to stream, else the JSON Message. */
export function answer(requestBody: Json, full: Json): Response {
  return requestBody.stream === true ? sseResponse(streamEventsFor(full)) : HttpResponse.json(full);
}

function halves(value: string): string[] {
  const middle = Math.max(1, Math.floor(value.length / 2));
  return [value.slice(0, middle), value.slice(middle)];
}
