import { inspect } from 'node:util';
import type { ModelRequest } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { HTTP_ERROR_CASES } from './error-cases';
import { API_KEY, APIS, errorResponse, failure, makeModel, route, useServer } from './server';
import { errorBody } from './wire';

const server = useServer();
const request: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 64 };
const signal = () => new AbortController().signal;
const rateLimited =
  (message: string, headers: Record<string, string> = {}) =>
  () =>
    errorResponse(429, errorBody(message, 'tokens', 'rate_limit_exceeded'), headers);

describe.each(APIS)('openai %s HTTP errors', (api) => {
  it.each(HTTP_ERROR_CASES)('%s', async (_name, reply, kind, retryable, status) => {
    route(server, api, [reply]);
    const error = await failure(makeModel(api).generate(request, { signal: signal() }));
    expect([error.kind, error.retryable, error.status]).toEqual([kind, retryable, status]);
    expect(error.provider).toBe('openai');
    expect(error.message.startsWith('[loopwork:openai] ')).toBe(true);
  });

  it.each([
    ['retry-after seconds', { 'retry-after': '2' }, 2000],
    ['retry-after-ms', { 'retry-after-ms': '350', 'retry-after': '2' }, 350],
    [
      'x-ratelimit reset of the exhausted budget',
      {
        'x-ratelimit-remaining-requests': '12',
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-reset-tokens': '6m0s',
      },
      360_000,
    ],
  ])('reads %s into retryAfterMs', async (_name, headers, expected) => {
    route(server, api, [rateLimited('Rate limit reached for requests', headers)]);
    const error = await failure(makeModel(api).generate(request, { signal: signal() }));
    expect(error.retryAfterMs).toBe(expected);
  });

  it('carries the x-request-id of the failed request as requestId', async () => {
    route(server, api, [rateLimited('Rate limit reached for requests')]);
    const error = await failure(makeModel(api).generate(request, { signal: signal() }));
    expect(error.requestId).toBe('req_error');
  });

  it('falls back to the wait the rate-limit message names', async () => {
    const message =
      'Rate limit reached for gpt-4o in organization org-1 on tokens per min (TPM): Limit 30000, Used 29937, Requested 385. Please try again in 644ms. Visit https://platform.openai.com/account/rate-limits to learn more.';
    route(server, api, [rateLimited(message)]);
    const error = await failure(makeModel(api).generate(request, { signal: signal() }));
    expect(error.retryAfterMs).toBe(644);
  });

  it('maps an SDK timeout to a retryable timeout', async () => {
    route(server, api, [() => new Promise<Response>(() => {})]);
    const model = makeModel(api, { timeout: 50 });
    const error = await failure(model.generate(request, { signal: signal() }));
    expect([error.kind, error.retryable]).toEqual(['timeout', true]);
  });

  it('never puts the API key in an error message, its JSON or its inspection', async () => {
    // A proxy that echoes the key unmasked, the worst case.
    const body = errorBody(
      `Incorrect API key provided: ${API_KEY}.`,
      'invalid_request_error',
      'invalid_api_key',
    );
    route(server, api, [() => errorResponse(401, body)]);
    const error = await failure(makeModel(api).generate(request, { signal: signal() }));
    expect(error.kind).toBe('auth');
    for (const text of [error.message, JSON.stringify(error), inspect(error, { depth: 5 })]) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain('SECRET');
    }
    expect(error.message).toContain('[redacted]');
  });
});
