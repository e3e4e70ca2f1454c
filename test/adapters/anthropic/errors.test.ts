// Every error kind from Anthropic's HTTP errors and network failures; SDK retries; options.
import { Anthropic } from '@anthropic-ai/sdk';
import { InvalidOptionError, ModelError, type ModelErrorKind, type ModelRequest } from 'loopwork';
import { anthropic } from 'loopwork/anthropic';
import { delay, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { mswSafeFetch } from '../../helpers/msw-fetch';
import { BASE_URL, errorResponse, message, TEST_KEY, text } from './fixtures';
import { type Responder, useAnthropicServer } from './server';

const { respond, received, model } = useAnthropicServer();
const request: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 256 };
const call = () => ({ signal: new AbortController().signal });
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error as ModelError,
  );

interface Case {
  name: string;
  respond: Responder;
  kind: ModelErrorKind;
  retryable: boolean;
  status?: number;
  retryAfterMs?: number;
}

const cases: Case[] = [
  {
    name: '400 invalid_request_error',
    respond: () =>
      errorResponse(400, 'invalid_request_error', 'messages.0.content: Field required'),
    kind: 'invalid_request',
    retryable: false,
    status: 400,
  },
  {
    name: '400 "prompt is too long"',
    respond: () =>
      errorResponse(
        400,
        'invalid_request_error',
        'prompt is too long: 215321 tokens > 200000 maximum',
      ),
    kind: 'context_length',
    retryable: false,
    status: 400,
  },
  {
    name: '401 authentication_error',
    respond: () => errorResponse(401, 'authentication_error', 'invalid x-api-key'),
    kind: 'auth',
    retryable: false,
    status: 401,
  },
  {
    name: '403 permission_error',
    respond: () =>
      errorResponse(
        403,
        'permission_error',
        'Your API key does not have permission to use the specified resource.',
      ),
    kind: 'auth',
    retryable: false,
    status: 403,
  },
  {
    name: '404 not_found_error (unknown model)',
    respond: () => errorResponse(404, 'not_found_error', 'model: claude-sonnet-9'),
    kind: 'not_found',
    retryable: false,
    status: 404,
  },
  {
    name: '413 request_too_large',
    respond: () =>
      errorResponse(
        413,
        'request_too_large',
        'Request exceeds the maximum allowed number of bytes.',
      ),
    kind: 'context_length',
    retryable: false,
    status: 413,
  },
  {
    name: '429 with retry-after (seconds)',
    respond: () =>
      errorResponse(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit.', {
        'retry-after': '3',
      }),
    kind: 'rate_limit',
    retryable: true,
    status: 429,
    retryAfterMs: 3000,
  },
  {
    name: '429 with retry-after-ms (wins over retry-after)',
    respond: () =>
      errorResponse(429, 'rate_limit_error', 'Rate limited.', {
        'retry-after-ms': '1500',
        'retry-after': '2',
      }),
    kind: 'rate_limit',
    retryable: true,
    status: 429,
    retryAfterMs: 1500,
  },
  {
    name: '429 enforced spend limit (no retry can help)',
    respond: () =>
      errorResponse(
        429,
        'rate_limit_error',
        'You have reached your monthly spend limit.',
        {},
        {
          error_code: 'enforced_spend_limit_reached',
        },
      ),
    kind: 'rate_limit',
    retryable: false,
    status: 429,
  },
  {
    name: '500 api_error',
    respond: () => errorResponse(500, 'api_error', 'Internal server error'),
    kind: 'server',
    retryable: true,
    status: 500,
  },
  {
    name: '502 with an HTML body from a proxy',
    respond: () =>
      new HttpResponse('<html><body>502 Bad Gateway</body></html>', {
        status: 502,
        headers: { 'content-type': 'text/html' },
      }),
    kind: 'server',
    retryable: true,
    status: 502,
  },
  {
    name: '503',
    respond: () => errorResponse(503, 'api_error', 'Service unavailable'),
    kind: 'overloaded',
    retryable: true,
    status: 503,
  },
  {
    name: '504 timeout_error',
    respond: () => errorResponse(504, 'timeout_error', 'Request timed out'),
    kind: 'server',
    retryable: true,
    status: 504,
  },
  {
    name: '529 overloaded_error',
    respond: () => errorResponse(529, 'overloaded_error', 'Overloaded'),
    kind: 'overloaded',
    retryable: true,
    status: 529,
  },
  {
    name: 'network reset',
    respond: () => HttpResponse.error(),
    kind: 'network',
    retryable: true,
  },
];

describe('anthropic errors', () => {
  for (const c of cases) {
    it(`${c.name} → ${c.kind}${c.retryable ? ' (retryable)' : ''}`, async () => {
      respond(c.respond);
      const error = await failureOf(model().generate(request, call()));
      expect(ModelError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({
        kind: c.kind,
        retryable: c.retryable,
        provider: 'anthropic',
        status: c.status,
        retryAfterMs: c.retryAfterMs,
      });
      expect(error.message).toMatch(/^\[loopwork:anthropic\] /);
      expect(received).toHaveLength(1);
    });
  }

  it('messages carry the status, the API error type and message, and the request id', async () => {
    respond(() => errorResponse(529, 'overloaded_error', 'Overloaded'));
    const error = await failureOf(model().generate(request, call()));
    expect(error.message).toBe(
      '[loopwork:anthropic] HTTP 529 overloaded_error: Overloaded (request-id req_011CSHoEeqs5C35K2UUqR7Fy)',
    );
    expect(error.requestId).toBe('req_011CSHoEeqs5C35K2UUqR7Fy');
  });

  it('the SDK timing out a request is a retryable timeout', async () => {
    respond(async () => {
      await delay(5_000);
      return HttpResponse.json(message({ content: [text('too late')] }));
    });
    const error = await failureOf(model({ timeout: 20 }).generate(request, call()));
    expect(error).toMatchObject({ kind: 'timeout', retryable: true, provider: 'anthropic' });
  });

  it('a call the SDK refuses to send (non-streaming max_tokens too large) is a non-retryable invalid_request', async () => {
    respond(() => HttpResponse.json(message({ content: [text('never')] })));
    const error = await failureOf(
      model().generate({ ...request, maxOutputTokens: 128_000 }, call()),
    );
    expect(error).toMatchObject({ kind: 'invalid_request', retryable: false });
    expect(error.message).toMatch(/Streaming is required/);
    expect(received).toHaveLength(0);
  });

  describe('SDK retries', () => {
    const overloadedThenOk = [
      () => errorResponse(529, 'overloaded_error', 'Overloaded', { 'retry-after-ms': '1' }),
      () => HttpResponse.json(message({ content: [text('ok')] })),
    ];

    it('are off by default: one request, the error goes to the loop', async () => {
      respond(...overloadedThenOk);
      await failureOf(model().generate(request, call()));
      expect(received).toHaveLength(1);
    });

    it('are off also for a client passed in with its own maxRetries', async () => {
      respond(...overloadedThenOk);
      const client = new Anthropic({
        apiKey: TEST_KEY,
        baseURL: BASE_URL,
        fetch: mswSafeFetch,
        maxRetries: 3,
      });
      await failureOf(anthropic({ client, model: 'claude-sonnet-5-5' }).generate(request, call()));
      expect(received).toHaveLength(1);
    });

    it('can be turned back on with maxRetries', async () => {
      respond(...overloadedThenOk);
      const response = await model({ maxRetries: 1 }).generate(request, call());
      expect(response.message.content).toEqual([{ type: 'text', text: 'ok' }]);
      expect(received).toHaveLength(2);
      expect(received[1]?.headers.get('x-stainless-retry-count')).toBe('1');
    });
  });

  describe('options', () => {
    it('rejects a missing model id, naming the option', () => {
      expect(() => anthropic({ model: '' })).toThrow(InvalidOptionError);
      expect(() => anthropic({ model: '' })).toThrow(/model must be a non-empty string/);
    });

    it('rejects a negative maxRetries, naming the option', () => {
      expect(() => anthropic({ model: 'claude-sonnet-5-5', apiKey: 'k', maxRetries: -1 })).toThrow(
        /maxRetries must be a non-negative integer, got -1/,
      );
    });
  });
});
