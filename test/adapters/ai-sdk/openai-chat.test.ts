/**
 * The adapter over the real `@ai-sdk/openai` Chat Completions model, against msw serving the
 * OpenAI wire format: request body mapping, streaming equal to generate, every error kind,
 * and secrets.
 * The runAgent paths (retry-after, abort, malformed arguments) are in run-agent.test.ts.
 */
import { ModelError, type ModelRequest } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { OPENAI_KEY, openaiChat } from './wire/models';
import * as oa from './wire/openai-chat';
import { json, networkError, serve, sse, useMswServer } from './wire/server';

useMswServer();

const signal = () => new AbortController().signal;
const ask: ModelRequest = {
  messages: [{ role: 'user', content: 'Weather in Paris?' }],
  maxOutputTokens: 200,
};

async function failure(promise: Promise<unknown>): Promise<ModelError> {
  const thrown = await promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error,
  );
  if (!ModelError.isInstance(thrown)) throw new Error(`not a ModelError: ${String(thrown)}`);
  return thrown;
}

describe('@ai-sdk/openai chat: request mapping', () => {
  it('sends system, images, tool calls, tool results, tools, limits and provider options', async () => {
    const received = serve(oa.OPENAI_URL, json(oa.completion({ text: 'A cat.' })));
    await openaiChat().generate(
      {
        system: 'Be terse.',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' },
              { type: 'image', mediaType: 'image/jpeg', url: 'https://example.com/cat.jpg' },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Looking.' },
              { type: 'tool-call', id: 'call_1', name: 'look', input: { q: 'cat' } },
            ],
          },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 'call_1',
                toolName: 'look',
                output: 'no such file',
                isError: true,
              },
            ],
          },
        ],
        tools: [
          {
            name: 'look',
            description: 'Looks things up',
            inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
          },
        ],
        maxOutputTokens: 321,
        stopSequences: ['END'],
        providerOptions: { openai: { user: 'user-42', parallelToolCalls: false } },
      },
      { signal: signal() },
    );
    expect(received.bodies).toHaveLength(1);
    expect(received.bodies[0]).toEqual({
      model: oa.OPENAI_MODEL,
      user: 'user-42',
      parallel_tool_calls: false,
      max_tokens: 321,
      stop: ['END'],
      messages: [
        { role: 'system', content: 'Be terse.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Looking.',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'look', arguments: '{"q":"cat"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'no such file' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'look',
            description: 'Looks things up',
            parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
          },
        },
      ],
      tool_choice: 'auto',
    });
    expect(received.headers[0]?.get('authorization')).toBe(`Bearer ${OPENAI_KEY}`);
  });
});

describe('@ai-sdk/openai chat: streaming', () => {
  it('ends with a finish part equal to the generate response for the same answer', async () => {
    const toolCalls = [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }];
    const usage = { prompt: 175, completion: 30, cached: 50, cacheWrite: 25, reasoning: 10 };
    serve(oa.OPENAI_URL, json(oa.completion({ text: 'Let me check.', toolCalls, usage })));
    const generated = await openaiChat().generate(ask, { signal: signal() });
    serve(
      oa.OPENAI_URL,
      sse(
        oa.chunks({
          text: ['Let me ', 'check.'],
          toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: ['{"city":', '"Paris"}'] }],
          usage,
        }),
      ),
    );
    const parts = [];
    for await (const part of openaiChat().stream!(ask, { signal: signal() })) parts.push(part);
    expect(parts.map((part) => part.type)).toEqual([
      'text-delta',
      'text-delta',
      'tool-call-start',
      'tool-call-delta',
      'tool-call-delta',
      'tool-call',
      'finish',
    ]);
    expect(parts.at(-1)).toEqual({ type: 'finish', response: generated });
    expect(generated.usage).toEqual({
      inputTokens: 100,
      cacheReadTokens: 50,
      cacheWriteTokens: 25,
      outputTokens: 30,
      reasoningTokens: 10,
    });
    expect(generated.stopReason).toBe('tool_use');
  });

  it('turns an error event after output into a ModelError of its kind', async () => {
    serve(
      oa.OPENAI_URL,
      sse([...oa.textStart('Hel'), `data: ${JSON.stringify(oa.errors.server)}\n\n`]),
    );
    const parts: string[] = [];
    const error = await failure(
      (async () => {
        for await (const part of openaiChat().stream!(ask, { signal: signal() }))
          parts.push(part.type);
      })(),
    );
    expect(parts).toEqual(['text-delta']);
    expect([error.kind, error.retryable]).toEqual(['server', true]);
  });
});

describe('@ai-sdk/openai chat: errors', () => {
  it.each([
    [400, oa.errors.invalidRequest, 'invalid_request', false],
    [400, oa.errors.contextLength, 'context_length', false],
    [401, oa.errors.auth, 'auth', false],
    [403, oa.errors.permission, 'auth', false],
    [404, oa.errors.notFound, 'not_found', false],
    [413, oa.errors.invalidRequest, 'context_length', false],
    [429, oa.errors.rateLimit, 'rate_limit', true],
    [500, oa.errors.server, 'server', true],
    [502, oa.errors.server, 'server', true],
    [503, oa.errors.overloaded, 'overloaded', true],
  ] as const)('HTTP %i %j → %s', async (status, body, kind, retryable) => {
    const received = serve(oa.OPENAI_URL, json(body, status));
    const error = await failure(openaiChat().generate(ask, { signal: signal() }));
    expect([error.kind, error.retryable, error.status]).toEqual([kind, retryable, status]);
    expect(error.message).toBe(`[loopwork:ai-sdk] openai.chat ${status}: ${body.error.message}`);
    // doGenerate makes exactly one request: the AI SDK retries only inside generateText.
    expect(received.bodies).toHaveLength(1);
  });

  it('reads retry-after-ms and retry-after from a 429', async () => {
    serve(
      oa.OPENAI_URL,
      json(oa.errors.rateLimit, 429, { 'retry-after-ms': '250', 'retry-after': '1' }),
    );
    expect((await failure(openaiChat().generate(ask, { signal: signal() }))).retryAfterMs).toBe(
      250,
    );
    serve(oa.OPENAI_URL, json(oa.errors.rateLimit, 429, { 'retry-after': '7' }));
    expect((await failure(openaiChat().generate(ask, { signal: signal() }))).retryAfterMs).toBe(
      7000,
    );
  });

  it('maps a connection reset to a retryable network error, for generate and stream', async () => {
    serve(oa.OPENAI_URL, networkError());
    const generate = await failure(openaiChat().generate(ask, { signal: signal() }));
    expect([generate.kind, generate.retryable, generate.status]).toEqual([
      'network',
      true,
      undefined,
    ]);
    const stream = await failure(
      (async () => {
        for await (const _ of openaiChat().stream!(ask, { signal: signal() }));
      })(),
    );
    expect([stream.kind, stream.retryable]).toEqual(['network', true]);
  });

  it('never puts the API key or request headers in the message or the serialized error', async () => {
    const echo = oa.error(
      `Incorrect API key provided: ${OPENAI_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      'invalid_request_error',
      'invalid_api_key',
    );
    serve(oa.OPENAI_URL, json(echo, 401));
    const error = await failure(openaiChat().generate(ask, { signal: signal() }));
    const everything = `${error.message} ${JSON.stringify(error)} ${String(error.cause ?? '')}`;
    expect(everything).not.toContain(OPENAI_KEY);
    expect(everything).not.toMatch(/bearer/i);
    expect(error.message).toContain('Incorrect API key provided: [redacted]');
  });
});
