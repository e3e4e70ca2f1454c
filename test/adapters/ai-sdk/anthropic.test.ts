/**
 * The adapter over the real `@ai-sdk/anthropic` model, against msw serving the Anthropic
 * Messages wire format: request body mapping, streaming equal to generate, overloaded (529 and
 * in-stream `error` events), context length (400 and 413), and aborts. Malformed tool
 * input through runAgent is in run-agent.test.ts.
 */
import { ModelError, type ModelRequest } from 'loopwork';
import { describe, expect, it } from 'vitest';
import * as claude from './wire/anthropic';
import { ANTHROPIC_KEY, anthropic } from './wire/models';
import { json, serve, sse, useMswServer } from './wire/server';

useMswServer();

const signal = () => new AbortController().signal;
const ask: ModelRequest = {
  messages: [{ role: 'user', content: 'Weather in Paris?' }],
  maxOutputTokens: 200,
};

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error,
  );
}

async function drain(request: ModelRequest, callSignal = signal()) {
  const parts = [];
  for await (const part of anthropic().stream!(request, { signal: callSignal })) parts.push(part);
  return parts;
}

describe('@ai-sdk/anthropic: request mapping', () => {
  it('sends system, images, tool use, tool results with is_error, tools and limits', async () => {
    const received = serve(
      claude.ANTHROPIC_URL,
      json(claude.message({ content: [{ type: 'text', text: 'A cat.' }] })),
    );
    await anthropic().generate(
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
              { type: 'tool-call', id: 'toolu_1', name: 'look', input: { q: 'cat' } },
              { type: 'tool-call', id: 'toolu_2', name: 'look', input: { q: 'dog' } },
            ],
          },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 'toolu_1',
                toolName: 'look',
                output: 'a cat',
                isError: false,
              },
              {
                type: 'tool-result',
                toolCallId: 'toolu_2',
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
        providerOptions: { anthropic: { disableParallelToolUse: true } },
      },
      { signal: signal() },
    );
    expect(received.bodies[0]).toEqual({
      model: claude.ANTHROPIC_MODEL,
      max_tokens: 321,
      stop_sequences: ['END'],
      system: [{ type: 'text', text: 'Be terse.' }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            {
              type: 'image',
              source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
            },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Looking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'look', input: { q: 'cat' } },
            { type: 'tool_use', id: 'toolu_2', name: 'look', input: { q: 'dog' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'a cat' },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_2',
              content: 'no such file',
              is_error: true,
            },
          ],
        },
      ],
      tools: [
        {
          name: 'look',
          description: 'Looks things up',
          input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
        },
      ],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    });
    expect(received.headers[0]?.get('x-api-key')).toBe(ANTHROPIC_KEY);
    expect(received.headers[0]?.get('anthropic-version')).toBe('2023-06-01');
  });
});

describe('@ai-sdk/anthropic: streaming', () => {
  it('ends with a finish part equal to the generate response for the same answer', async () => {
    const usage = { input: 100, output: 20, cacheRead: 50, cacheWrite: 25 };
    serve(
      claude.ANTHROPIC_URL,
      json(
        claude.message({
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          ],
          usage,
        }),
      ),
    );
    const generated = await anthropic().generate(ask, { signal: signal() });
    serve(
      claude.ANTHROPIC_URL,
      sse(
        claude.events({
          blocks: [
            { type: 'text', pieces: ['Let me ', 'check.'] },
            {
              type: 'tool_use',
              id: 'toolu_1',
              name: 'get_weather',
              pieces: ['{"city":', ' "Paris"}'],
            },
          ],
          usage,
        }),
      ),
    );
    const parts = await drain(ask);
    expect(parts.map((part) => part.type)).toEqual([
      'text-delta',
      'text-delta',
      'tool-call-start',
      'tool-call-delta',
      'tool-call-delta',
      'tool-call',
      'finish',
    ]);
    const finish = parts.at(-1);
    if (finish?.type !== 'finish') throw new Error('no finish part');
    expect(finish.response).toEqual(generated);
    expect(generated.usage).toEqual({
      inputTokens: 100,
      cacheReadTokens: 50,
      cacheWriteTokens: 25,
      outputTokens: 20,
      reasoningTokens: 0,
    });
  });

  it('maps an overloaded_error event in an open stream to a retryable overloaded error', async () => {
    serve(
      claude.ANTHROPIC_URL,
      sse([...claude.textStart('It is '), claude.errorEvent('overloaded_error', 'Overloaded')]),
    );
    const error = await failure(drain(ask));
    expect(ModelError.isInstance(error) && [error.kind, error.retryable]).toEqual([
      'overloaded',
      true,
    ]);
  });

  it('rejects with the abort reason when aborted mid-stream', async () => {
    serve(claude.ANTHROPIC_URL, sse(claude.textStart('It is '), 'hang'));
    const controller = new AbortController();
    const reason = new Error('user left');
    const thrown = await failure(
      (async () => {
        for await (const part of anthropic().stream!(ask, { signal: controller.signal })) {
          if (part.type === 'text-delta') controller.abort(reason);
        }
      })(),
    );
    expect(thrown).toBe(reason);
  });
});

describe('@ai-sdk/anthropic: errors', () => {
  it.each([
    [400, claude.errors.invalidRequest, 'invalid_request', false],
    [400, claude.errors.contextLength, 'context_length', false],
    [401, claude.errors.auth, 'auth', false],
    [403, claude.errors.permission, 'auth', false],
    [404, claude.errors.notFound, 'not_found', false],
    [413, claude.errors.requestTooLarge, 'context_length', false],
    [429, claude.errors.rateLimit, 'rate_limit', true],
    [500, claude.errors.server, 'server', true],
    [529, claude.errors.overloaded, 'overloaded', true],
  ] as const)('HTTP %i %j → %s', async (status, body, kind, retryable) => {
    serve(
      claude.ANTHROPIC_URL,
      json(body, status, { 'retry-after': '3', 'request-id': `req_${status}` }),
    );
    const error = await failure(anthropic().generate(ask, { signal: signal() }));
    if (!ModelError.isInstance(error)) throw new Error(`not a ModelError: ${String(error)}`);
    expect([error.kind, error.retryable, error.status, error.retryAfterMs]).toEqual([
      kind,
      retryable,
      status,
      3000,
    ]);
    expect(error.requestId).toBe(`req_${status}`);
    expect(error.message).toBe(
      `[loopwork:ai-sdk] anthropic.messages ${status}: ${body.error.message}`,
    );
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(ANTHROPIC_KEY);
  });
});
