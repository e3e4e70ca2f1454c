// Streaming: the parts, the final response (equal to generate's), SSE errors, breaks and aborts.

import { type Model, ModelError, type ModelRequest, type ModelStreamPart } from 'loopwork';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  brokenSseResponse,
  message,
  openingEvents,
  type SseEvent,
  sseError,
  sseResponse,
  streamEventsFor,
  text,
  thinking,
  toolUse,
} from './fixtures';
import { useAnthropicServer } from './server';

const { respond, received, model } = useAnthropicServer();
const request: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 256 };

async function collect(m: Model, signal = new AbortController().signal) {
  const parts: ModelStreamPart[] = [];
  for await (const part of m.stream!(request, { signal })) parts.push(part);
  return parts;
}
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail('expected the stream to fail'),
    (error: unknown) => error,
  );

const answers: Record<string, Record<string, unknown>> = {
  text: message({ content: [text('Hello from the fixture.')] }),
  'thinking, text and parallel tool calls': message({
    content: [
      thinking('Paris and Tokyo.', 'EqQBCkYIARgCKkBsig'),
      text('Checking both.'),
      toolUse('toolu_01A', 'get_weather', { city: 'Paris' }),
      toolUse('toolu_01B', 'get_weather', { city: 'Tokyo' }),
    ],
    stop_reason: 'tool_use',
    usage: { output_tokens: 90, output_tokens_details: { thinking_tokens: 40 } },
  }),
  'cache usage and a stop sequence': message({
    content: [text('Done. END')],
    stop_reason: 'stop_sequence',
    stop_sequence: 'END',
    usage: { input_tokens: 5, cache_read_input_tokens: 900, cache_creation_input_tokens: 40 },
  }),
};

describe('anthropic streaming', () => {
  for (const [name, answer] of Object.entries(answers)) {
    it(`finish carries what generate returns for the same answer (${name})`, async () => {
      respond(
        () => HttpResponse.json(answer),
        () => sseResponse(streamEventsFor(answer)),
      );
      const generated = await model().generate(request, { signal: new AbortController().signal });
      const parts = await collect(model());
      expect(parts.filter((part) => part.type === 'finish')).toHaveLength(1);
      expect(parts.at(-1)).toEqual({ type: 'finish', response: generated });
    });
  }

  it('yields text deltas, tool-call start / input deltas / call, in wire order', async () => {
    respond(() => sseResponse(streamEventsFor(answers['thinking, text and parallel tool calls']!)));
    const parts = await collect(model());
    expect(parts.slice(0, -1)).toEqual([
      { type: 'text-delta', text: 'Checkin' },
      { type: 'text-delta', text: 'g both.' },
      { type: 'tool-call-start', id: 'toolu_01A', name: 'get_weather' },
      { type: 'tool-call-delta', id: 'toolu_01A', inputTextDelta: '{"city":' },
      { type: 'tool-call-delta', id: 'toolu_01A', inputTextDelta: '"Paris"}' },
      {
        type: 'tool-call',
        toolCall: {
          type: 'tool-call',
          id: 'toolu_01A',
          name: 'get_weather',
          input: { city: 'Paris' },
        },
      },
      { type: 'tool-call-start', id: 'toolu_01B', name: 'get_weather' },
      { type: 'tool-call-delta', id: 'toolu_01B', inputTextDelta: '{"city":' },
      { type: 'tool-call-delta', id: 'toolu_01B', inputTextDelta: '"Tokyo"}' },
      {
        type: 'tool-call',
        toolCall: {
          type: 'tool-call',
          id: 'toolu_01B',
          name: 'get_weather',
          input: { city: 'Tokyo' },
        },
      },
    ]);
  });

  it('ignores event types it does not know (the API may add some)', async () => {
    const events = streamEventsFor(answers.text!);
    const unknown: SseEvent = {
      event: 'content_block_hint',
      data: { type: 'content_block_hint', index: 0 },
    };
    events.splice(3, 0, unknown);
    respond(() => sseResponse(events));
    const parts = await collect(model());
    expect(
      parts
        .filter((part) => part.type === 'text-delta')
        .map((part) => part.text)
        .join(''),
    ).toBe('Hello from the fixture.');
  });

  it('keeps malformed tool arguments as their raw text instead of throwing', async () => {
    const events = streamEventsFor(
      message({
        content: [toolUse('toolu_01', 'get_weather', { city: 'Paris' })],
        stop_reason: 'tool_use',
      }),
    );
    for (const event of events) {
      const delta = event.data.delta as { type?: string; partial_json?: string } | undefined;
      if (delta?.type === 'input_json_delta')
        delta.partial_json = delta.partial_json!.replace('"}', '');
    }
    respond(() => sseResponse(events));
    const parts = await collect(model());
    const call = parts.find((part) => part.type === 'tool-call');
    expect(call).toEqual({
      type: 'tool-call',
      toolCall: { type: 'tool-call', id: 'toolu_01', name: 'get_weather', input: '{"city":"Paris' },
    });
  });

  const midStreamErrors: Array<[string, string, boolean]> = [
    ['overloaded_error', 'overloaded', true],
    ['api_error', 'server', true],
    ['rate_limit_error', 'rate_limit', true],
    ['invalid_request_error', 'invalid_request', false],
  ];
  for (const [type, kind, retryable] of midStreamErrors) {
    it(`an SSE error event ${type} after the 200 is a ${kind} ModelError`, async () => {
      respond(() => sseResponse([...openingEvents('Hel'), sseError(type, `${type} mid-stream`)]));
      const error = await failureOf(collect(model()));
      expect(ModelError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ kind, retryable, provider: 'anthropic', status: undefined });
      expect((error as Error).message).toMatch(/^\[loopwork:anthropic\] stream error .*mid-stream/);
    });
  }

  it('a stream that closes before message_stop is a retryable network error', async () => {
    respond(() => brokenSseResponse(openingEvents('Hel'), 'close'));
    const error = await failureOf(collect(model()));
    expect(error).toMatchObject({ kind: 'network', retryable: true });
    expect((error as Error).message).toContain('before message_stop');
  });

  it('a connection that breaks off mid-stream is a retryable network error', async () => {
    respond(() => brokenSseResponse(openingEvents('Hel'), 'error'));
    const error = await failureOf(collect(model()));
    expect(error).toMatchObject({ kind: 'network', retryable: true, provider: 'anthropic' });
  });

  it('an HTTP error before the stream starts is mapped like generate (529 → overloaded)', async () => {
    const { errorResponse } = await import('./fixtures');
    respond(() => errorResponse(529, 'overloaded_error', 'Overloaded'));
    const error = await failureOf(collect(model()));
    expect(error).toMatchObject({ kind: 'overloaded', status: 529, retryable: true });
  });

  it('aborting mid-stream rejects with the abort reason and cancels the request', async () => {
    respond((_body, req) => brokenSseResponse(openingEvents('Hel'), 'hang', req));
    const controller = new AbortController();
    const reason = new Error('stop now');
    const parts: ModelStreamPart[] = [];
    const error = await failureOf(
      (async () => {
        for await (const part of model().stream!(request, { signal: controller.signal })) {
          parts.push(part);
          if (part.type === 'text-delta') controller.abort(reason);
        }
      })(),
    );
    expect(error).toBe(reason);
    // openingEvents('Hel') sends the first half of the text: one delta.
    expect(parts).toEqual([{ type: 'text-delta', text: 'H' }]);
    expect(received[0]?.signal.aborted).toBe(true);
  });

  it('an already aborted signal rejects before any request', async () => {
    respond(() => sseResponse(streamEventsFor(answers.text!)));
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    const error = await failureOf(collect(model(), controller.signal));
    expect((error as Error).message).toBe('too late');
    expect(received).toHaveLength(0);
  });

  it('breaking out of the stream early cancels the request', async () => {
    respond((_body, req) => brokenSseResponse(openingEvents('Hel'), 'hang', req));
    for await (const part of model().stream!(request, { signal: new AbortController().signal })) {
      if (part.type === 'text-delta') break;
    }
    await expect.poll(() => received[0]?.signal.aborted).toBe(true);
  });
});
