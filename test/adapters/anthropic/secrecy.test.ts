// Promise 6: the API key never shows in an error's message, JSON, inspect output or stack, nor in
// a failed run's result and events.
import { inspect } from 'node:util';
import { ModelError, type ModelRequest, runAgent } from 'loopwork';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { errorResponse, TEST_KEY } from './fixtures';
import { type Responder, useAnthropicServer } from './server';

const { respond, received, model } = useAnthropicServer();
const request: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 256 };
const call = () => ({ signal: new AbortController().signal });
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error as ModelError,
  );

describe('anthropic secrecy (promise 6): the API key never shows in errors', () => {
  const leaks = (error: unknown) =>
    [
      (error as Error).message,
      JSON.stringify(error),
      inspect(error, { depth: 10 }),
      String((error as Error).stack),
    ].filter((text) => text.includes(TEST_KEY));

  const failures: Array<[string, Responder]> = [
    ['401', () => errorResponse(401, 'authentication_error', 'invalid x-api-key')],
    ['429', () => errorResponse(429, 'rate_limit_error', 'slow down', { 'retry-after': '1' })],
    ['network reset', () => HttpResponse.error()],
    [
      'a proxy that echoes the key in its error',
      () =>
        errorResponse(401, 'authentication_error', `invalid key ${TEST_KEY} (Bearer ${TEST_KEY})`),
    ],
  ];
  for (const [name, responder] of failures) {
    it(`${name}: not in the message, JSON, inspect output (cause chain included) or stack`, async () => {
      respond(responder);
      const error = await failureOf(model().generate(request, call()));
      expect(ModelError.isInstance(error)).toBe(true);
      expect(leaks(error)).toEqual([]);
    });
  }

  it('the key the SDK sends is really that key (so the checks above look for the right string)', async () => {
    respond(() => errorResponse(401, 'authentication_error', 'invalid x-api-key'));
    await failureOf(model().generate(request, call()));
    expect(received[0]?.headers.get('authorization')).toBe(`Bearer ${TEST_KEY}`);
  });

  it('not in a failed run: its error, its events', async () => {
    respond(() => errorResponse(401, 'authentication_error', `bad key ${TEST_KEY}`));
    const events: unknown[] = [];
    const result = await runAgent({
      model: model(),
      prompt: 'Hi',
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('[loopwork:anthropic] HTTP 401');
    expect(inspect(result, { depth: 10 })).not.toContain(TEST_KEY);
    expect(JSON.stringify(events)).not.toContain(TEST_KEY);
  });
});
