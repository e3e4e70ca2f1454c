/**
 * Error mapping and aborts through `MockLanguageModelV3`: the AI SDK's own error classes
 * (APICallError, LoadAPIKeyError …), errors thrown by fetch, stream `error` parts, and calls
 * aborted while the provider hangs.
 */
import { APICallError, InvalidPromptError, LoadAPIKeyError } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { InvalidOptionError, ModelError, type ModelRequest } from 'loopwork';
import { aiSdk } from 'loopwork/ai-sdk';
import { describe, expect, it } from 'vitest';
import { type V3StreamPart, v3Stream } from './mock';

const request: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 50 };
const signal = () => new AbortController().signal;

function failing(error: unknown) {
  return new MockLanguageModelV3({
    provider: 'mock.chat',
    doGenerate: async () => {
      throw error;
    },
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

async function modelError(error: unknown, options = {}): Promise<ModelError> {
  const thrown = await rejection(
    aiSdk(failing(error), options).generate(request, { signal: signal() }),
  );
  if (!ModelError.isInstance(thrown)) throw new Error(`not a ModelError: ${String(thrown)}`);
  return thrown;
}

const apiError = (
  statusCode: number | undefined,
  extra: Partial<ConstructorParameters<typeof APICallError>[0]> = {},
) =>
  new APICallError({
    message: 'boom',
    url: 'https://api.example.com',
    requestBodyValues: {},
    statusCode,
    ...extra,
  });

describe('error mapping', () => {
  it.each([
    [400, 'invalid_request', false],
    [401, 'auth', false],
    [403, 'auth', false],
    [404, 'not_found', false],
    [408, 'timeout', true],
    [413, 'context_length', false],
    [429, 'rate_limit', true],
    [500, 'server', true],
    [502, 'server', true],
    [503, 'overloaded', true],
    [529, 'overloaded', true],
  ] as const)('HTTP %i → %s (retryable %s)', async (status, kind, retryable) => {
    const error = await modelError(apiError(status));
    expect([error.kind, error.retryable, error.status, error.provider]).toEqual([
      kind,
      retryable,
      status,
      'mock.chat',
    ]);
    expect(error.message).toBe(`[loopwork:ai-sdk] mock.chat ${status}: boom`);
  });

  it('reads retry-after-ms before retry-after, and retry-after in seconds', async () => {
    const both = await modelError(
      apiError(429, { responseHeaders: { 'retry-after-ms': '150', 'retry-after': '3' } }),
    );
    expect(both.retryAfterMs).toBe(150);
    const seconds = await modelError(apiError(429, { responseHeaders: { 'retry-after': '3' } }));
    expect(seconds.retryAfterMs).toBe(3000);
    expect((await modelError(apiError(429))).retryAfterMs).toBeUndefined();
  });

  it('refines a 400 by its body: context length and content filter', async () => {
    const context = await modelError(
      apiError(400, { message: 'prompt is too long: 208310 tokens > 200000 maximum' }),
    );
    expect(context.kind).toBe('context_length');
    const filtered = await modelError(
      apiError(400, { responseBody: '{"error":{"code":"content_policy_violation"}}' }),
    );
    expect(filtered.kind).toBe('content_filter');
  });

  it('maps connection failures to retryable network errors', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const wrapped = await modelError(
      apiError(undefined, {
        message: 'Cannot connect to API: read ECONNRESET',
        cause: reset,
        isRetryable: true,
      }),
    );
    expect([wrapped.kind, wrapped.retryable]).toEqual(['network', true]);
    const fetchFailed = await modelError(new TypeError('fetch failed'));
    expect([fetchFailed.kind, fetchFailed.retryable]).toEqual(['network', true]);
    const broken = await modelError(
      apiError(200, {
        message: 'Failed to process successful response',
        cause: new TypeError('terminated'),
      }),
    );
    expect([broken.kind, broken.retryable]).toEqual(['network', true]);
    expect(broken.message).toContain('terminated');
  });

  it('maps a missing API key to auth and other AI SDK errors to invalid_request', async () => {
    const missing = await modelError(
      new LoadAPIKeyError({ message: 'OpenAI API key is missing.' }),
    );
    expect([missing.kind, missing.retryable]).toEqual(['auth', false]);
    const prompt = await modelError(new InvalidPromptError({ prompt: [], message: 'bad prompt' }));
    expect([prompt.kind, prompt.retryable]).toEqual(['invalid_request', false]);
  });

  it('rethrows an AbortError the provider raised on its own', async () => {
    const abort = new DOMException('The operation was aborted.', 'AbortError');
    expect(await rejection(aiSdk(failing(abort)).generate(request, { signal: signal() }))).toBe(
      abort,
    );
  });

  it.each([
    [{ type: 'overloaded_error', message: 'Overloaded' }, 'overloaded', true],
    [{ type: 'api_error', message: 'Internal server error' }, 'server', true],
    [
      { message: 'Rate limit reached', type: 'tokens', code: 'rate_limit_exceeded' },
      'rate_limit',
      true,
    ],
    [
      {
        message: 'You exceeded your current quota',
        type: 'insufficient_quota',
        code: 'insufficient_quota',
      },
      'rate_limit',
      false,
    ],
    [{ message: 'bad', type: 'invalid_request_error', code: null }, 'invalid_request', false],
  ] as const)('a stream error part %j → %s', async (error, kind, retryable) => {
    const parts: V3StreamPart[] = [
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hel' },
      { type: 'error', error },
    ];
    const model = aiSdk(new MockLanguageModelV3({ doStream: v3Stream(parts) }));
    const seen: string[] = [];
    const thrown = await rejection(
      (async () => {
        for await (const part of model.stream!(request, { signal: signal() })) seen.push(part.type);
      })(),
    );
    expect(seen).toEqual(['text-delta']);
    expect(ModelError.isInstance(thrown) && [thrown.kind, thrown.retryable]).toEqual([
      kind,
      retryable,
    ]);
  });

  it('fails a stream that ends without a finish part with a retryable network error', async () => {
    const model = aiSdk(
      new MockLanguageModelV3({ doStream: v3Stream([{ type: 'text-start', id: 't' }]) }),
    );
    const thrown = await rejection(
      (async () => {
        for await (const _ of model.stream!(request, { signal: signal() }));
      })(),
    );
    expect(ModelError.isInstance(thrown) && [thrown.kind, thrown.retryable]).toEqual([
      'network',
      true,
    ]);
  });
});

describe('secrets never reach error messages', () => {
  it('scrubs key-like strings and configured secrets, and drops a cause that holds them', async () => {
    const key = 'sk-proj-Abcdef0123456789Abcdef';
    const echoed = await modelError(
      apiError(401, { message: `Incorrect API key provided: ${key}.`, responseBody: key }),
    );
    expect(echoed.message).toBe(
      '[loopwork:ai-sdk] mock.chat 401: Incorrect API key provided: [redacted].',
    );
    expect(`${echoed.message} ${JSON.stringify(echoed)} ${String(echoed.cause)}`).not.toContain(
      key,
    );
    const custom = 'tenant-token-42';
    const configured = await modelError(apiError(403, { message: `token ${custom} refused` }), {
      secrets: [custom],
    });
    expect(configured.message).not.toContain(custom);
    expect(configured.cause).toBeUndefined();
    const clean = await modelError(apiError(500));
    expect(APICallError.isInstance(clean.cause)).toBe(true);
  });
});

describe('abort', () => {
  it('rejects generate with the abort reason even if the provider ignores its signal', async () => {
    const mock = new MockLanguageModelV3({ doGenerate: () => new Promise(() => {}) });
    const controller = new AbortController();
    const pending = aiSdk(mock).generate(request, { signal: controller.signal });
    const reason = new Error('run aborted');
    controller.abort(reason);
    expect(await rejection(pending)).toBe(reason);
  });

  it('rejects a hanging stream mid-way with the abort reason, not a ModelError', async () => {
    const parts: V3StreamPart[] = [
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hel' },
    ];
    const model = aiSdk(new MockLanguageModelV3({ doStream: v3Stream(parts, true) }));
    const controller = new AbortController();
    const reason = new Error('run aborted');
    const thrown = await rejection(
      (async () => {
        for await (const part of model.stream!(request, { signal: controller.signal })) {
          if (part.type === 'text-delta') controller.abort(reason);
        }
      })(),
    );
    expect(thrown).toBe(reason);
  });

  it('does not call the provider when the signal has already fired', async () => {
    const mock = new MockLanguageModelV3({ doGenerate: () => new Promise(() => {}) });
    const controller = new AbortController();
    controller.abort(new Error('early'));
    await rejection(aiSdk(mock).generate(request, { signal: controller.signal }));
    expect(mock.doGenerateCalls).toHaveLength(0);
  });
});

describe('factory', () => {
  it('refuses a model of another specification version and names the option', () => {
    const v2 = { specificationVersion: 'v2', provider: 'old', modelId: 'm' };
    expect(() => aiSdk(v2 as never)).toThrow(InvalidOptionError);
    expect(() => aiSdk(v2 as never)).toThrow(
      /languageModel must be an AI SDK LanguageModelV3.*"v2"/,
    );
  });

  it('takes its provider name from the model unless overridden', () => {
    const mock = new MockLanguageModelV3({ provider: 'openai.responses', modelId: 'gpt-5' });
    expect(aiSdk(mock).provider).toBe('openai.responses');
    expect(aiSdk(mock, { provider: 'openai' }).provider).toBe('openai');
  });
});
