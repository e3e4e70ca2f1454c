/**
 * The shared model-adapter suite, through two real AI SDK providers against msw fixtures in
 * each vendor's wire format. Both vendors can express every scenario (OpenAI reports cache
 * writes as `prompt_tokens_details.cache_write_tokens`, Anthropic reasoning as
 * `output_tokens_details.thinking_tokens`), so nothing is marked unsupported.
 */
import type { ModelScenario } from 'loopwork/testing';
import { modelAdapterConformance } from 'loopwork/testing';
import { describe, it } from 'vitest';
import * as claude from './wire/anthropic';
import { anthropic, openaiChat } from './wire/models';
import * as oa from './wire/openai-chat';
import { json, serve, sse, useMswServer } from './wire/server';

useMswServer();

const HELLO = 'Hello from the fixture.';

const openaiFixtures: Record<ModelScenario, Array<() => Response>> = {
  text: [json(oa.completion({ text: HELLO }))],
  'tool-call': [
    json(
      oa.completion({
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      }),
    ),
  ],
  'parallel-tool-calls': [
    json(
      oa.completion({
        toolCalls: [
          { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { id: 'call_2', name: 'get_weather', arguments: '{"city":"Tokyo"}' },
        ],
      }),
    ),
  ],
  'stream-text': [sse(oa.chunks({ text: ['Hello ', 'from the ', 'fixture.'] }))],
  'stream-tool-call': [
    sse(
      oa.chunks({
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: ['{"city":', '"Paris"}'] }],
      }),
    ),
  ],
  'usage-cache': [
    json(
      oa.completion({
        text: HELLO,
        usage: { prompt: 175, completion: 20, cached: 50, cacheWrite: 25 },
      }),
    ),
  ],
  'usage-reasoning': [
    json(oa.completion({ text: HELLO, usage: { prompt: 12, completion: 30, reasoning: 10 } })),
  ],
  'rate-limit': [json(oa.errors.rateLimit, 429, { 'retry-after': '2' })],
  overloaded: [json(oa.errors.overloaded, 503)],
  'server-error': [json(oa.errors.server, 500)],
  auth: [json(oa.errors.auth, 401)],
  'not-found': [json(oa.errors.notFound, 404)],
  'invalid-request': [json(oa.errors.invalidRequest, 400)],
  'context-length': [json(oa.errors.contextLength, 400)],
  'stream-interrupted': [sse(oa.textStart('Hello '), 'breakOff')],
  agent: [
    sse(
      oa.chunks({
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: ['{"city":"Paris"}'] }],
      }),
    ),
    sse(
      oa.chunks({
        toolCalls: [{ id: 'call_2', name: 'convert_temperature', arguments: ['{"celsius":18}'] }],
      }),
    ),
    sse(oa.chunks({ text: ['It is 18°C ', '(64.4°F) in Paris.'] })),
  ],
};

const anthropicFixtures: Record<ModelScenario, Array<() => Response>> = {
  text: [json(claude.message({ content: [{ type: 'text', text: HELLO }] }))],
  'tool-call': [
    json(
      claude.message({
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      }),
    ),
  ],
  'parallel-tool-calls': [
    json(
      claude.message({
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Tokyo' } },
        ],
      }),
    ),
  ],
  'stream-text': [
    sse(claude.events({ blocks: [{ type: 'text', pieces: ['Hello ', 'from the ', 'fixture.'] }] })),
  ],
  'stream-tool-call': [
    sse(
      claude.events({
        blocks: [
          {
            type: 'tool_use',
            id: 'call_1',
            name: 'get_weather',
            pieces: ['{"city":', ' "Paris"}'],
          },
        ],
      }),
    ),
  ],
  'usage-cache': [
    json(
      claude.message({
        content: [{ type: 'text', text: HELLO }],
        usage: { input: 100, output: 20, cacheRead: 50, cacheWrite: 25 },
      }),
    ),
  ],
  'usage-reasoning': [
    json(
      claude.message({
        content: [{ type: 'text', text: HELLO }],
        usage: { input: 12, output: 30, thinking: 10 },
      }),
    ),
  ],
  'rate-limit': [json(claude.errors.rateLimit, 429, { 'retry-after': '2' })],
  overloaded: [json(claude.errors.overloaded, 529)],
  'server-error': [json(claude.errors.server, 500)],
  auth: [json(claude.errors.auth, 401)],
  'not-found': [json(claude.errors.notFound, 404)],
  'invalid-request': [json(claude.errors.invalidRequest, 400)],
  'context-length': [json(claude.errors.contextLength, 400)],
  'stream-interrupted': [sse(claude.textStart('Hello '), 'breakOff')],
  agent: [
    sse(
      claude.events({
        blocks: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', pieces: ['{"city": "Paris"}'] },
        ],
      }),
    ),
    sse(
      claude.events({
        blocks: [
          {
            type: 'tool_use',
            id: 'call_2',
            name: 'convert_temperature',
            pieces: ['{"celsius": 18}'],
          },
        ],
      }),
    ),
    sse(
      claude.events({ blocks: [{ type: 'text', pieces: ['It is 18°C ', '(64.4°F) in Paris.'] }] }),
    ),
  ],
};

modelAdapterConformance({
  name: 'ai-sdk over @ai-sdk/openai (chat)',
  describe,
  it,
  setup: (scenario) => {
    serve(oa.OPENAI_URL, ...openaiFixtures[scenario]);
    return openaiChat();
  },
});

modelAdapterConformance({
  name: 'ai-sdk over @ai-sdk/anthropic',
  describe,
  it,
  setup: (scenario) => {
    serve(claude.ANTHROPIC_URL, ...anthropicFixtures[scenario]);
    return anthropic();
  },
});
