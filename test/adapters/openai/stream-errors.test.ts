import type { ModelRequest } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { APIS, drain, failure, framesOf, makeModel, route, sseResponse, useServer } from './server';

const server = useServer();
const request: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 64 };
const signal = () => new AbortController().signal;

describe.each(APIS)('openai %s broken streams', (api) => {
  const frames = framesOf(api, { text: ['Hello', ' world'] });
  const first = frames.findIndex((frame) => frame.includes('"Hello"'));

  it('fails a stream that breaks off midway as a retryable network error, after its first delta', async () => {
    route(server, api, [() => sseResponse(frames.slice(0, first + 1), 'error')]);
    const seen: unknown[] = [];
    const reading = (async () => {
      for await (const part of makeModel(api).stream(request, { signal: signal() }))
        seen.push(part);
    })();
    const error = await failure(reading);
    expect(seen).toEqual([{ type: 'text-delta', text: 'Hello' }]);
    expect([error.kind, error.retryable]).toEqual(['network', true]);
    expect(error.message).toContain('terminated');
  });

  it('fails a stream that closes before its final event', async () => {
    route(server, api, [() => sseResponse(frames.slice(0, -2))]);
    const error = await failure(drain(makeModel(api).stream(request, { signal: signal() })));
    expect([error.kind, error.retryable]).toEqual(['network', true]);
  });
});

describe('openai chat in-stream errors', () => {
  it('maps `data: {"error": …}` mid-stream by its type', async () => {
    const frames = framesOf('chat', { text: ['The', ' question'] }).slice(0, 3);
    const message = 'The server had an error while processing your request. Sorry about that!';
    frames.push(`data: ${JSON.stringify({ error: { message, type: 'server_error' } })}\n\n`);
    route(server, 'chat', [() => sseResponse(frames)]);
    const error = await failure(drain(makeModel('chat').stream(request, { signal: signal() })));
    expect([error.kind, error.retryable, error.status]).toEqual(['server', true, undefined]);
    expect(error.message).toContain('The server had an error');
  });

  it('fails a stream whose usage chunk never came', async () => {
    // The finish chunk arrives; the usage chunk and `[DONE]` are lost.
    route(server, 'chat', [() => sseResponse(framesOf('chat', { text: ['Hello'] }).slice(0, -2))]);
    const error = await failure(drain(makeModel('chat').stream(request, { signal: signal() })));
    expect(error.kind).toBe('network');
  });
});

describe('openai responses in-stream errors', () => {
  const frames = framesOf('responses', { text: ['Hello'] });
  const started = frames.slice(0, frames.findIndex((frame) => frame.includes('text.delta')) + 1);
  const frame = (event: { type: string }) =>
    `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
  const failed = (code: string, message: string) =>
    frame({
      type: 'response.failed',
      response: {
        id: 'resp_123',
        object: 'response',
        status: 'failed',
        error: { code, message },
        output: [],
      },
      sequence_number: 4,
    } as { type: string });

  it.each([
    [
      'an `error` event',
      frame({
        type: 'error',
        code: 'ERR_SOMETHING',
        message: 'Something went wrong',
        param: null,
        sequence_number: 4,
      } as { type: string }),
      'server',
      true,
    ],
    [
      'a nested `error` event',
      frame({
        type: 'error',
        sequence_number: 2,
        error: {
          type: 'invalid_request_error',
          code: 'context_length_exceeded',
          message:
            'Your input exceeds the context window of this model. Please adjust your input and try again.',
          param: 'input',
        },
      } as { type: string }),
      'context_length',
      false,
    ],
    [
      '`response.failed`',
      failed('server_error', 'The model failed to generate a response.'),
      'server',
      true,
    ],
    [
      '`response.failed` on a rate limit',
      failed(
        'rate_limit_exceeded',
        'Rate limit reached for organization org-1 on tokens per min (TPM): Limit 250000, Used 250000, Requested 143071. Please try again in 34.337s.',
      ),
      'rate_limit',
      true,
    ],
  ] as const)('maps %s', async (_name, extra, kind, retryable) => {
    route(server, 'responses', [() => sseResponse([...started, extra])]);
    const error = await failure(
      drain(makeModel('responses').stream(request, { signal: signal() })),
    );
    expect([error.kind, error.retryable]).toEqual([kind, retryable]);
    if (kind === 'rate_limit') expect(error.retryAfterMs).toBe(34_337);
  });
});
