import type { OpenAIApi } from 'loopwork/openai';
import { type ModelScenario, modelAdapterConformance } from 'loopwork/testing';
import { describe, it } from 'vitest';
import {
  APIS,
  errorResponse,
  framesOf,
  makeModel,
  type Reply,
  route,
  serveAnswers,
  sseResponse,
  useServer,
} from './server';
import { type Answer, errorBody } from './wire';

const server = useServer();

const weather = (id: string, city: string, args?: string[]) => ({
  id,
  name: 'get_weather',
  args: args ?? [JSON.stringify({ city })],
});
const hello: Answer = { text: ['Hello from ', 'the fixture.'], usage: { input: 12, output: 6 } };

// Every scenario is expressible on both APIs, `usage-cache` included: GPT-5.6 and later models
// report cache writes (`cache_write_tokens`) beside cache reads (`cached_tokens`).
const ANSWERS: Partial<Record<ModelScenario, Answer[]>> = {
  text: [hello],
  'tool-call': [{ toolCalls: [weather('call_1', 'Paris')] }],
  'parallel-tool-calls': [{ toolCalls: [weather('call_1', 'Paris'), weather('call_2', 'Tokyo')] }],
  'stream-text': [hello],
  'stream-tool-call': [{ toolCalls: [weather('call_1', 'Paris', ['{"city":', '"Paris"}'])] }],
  'usage-cache': [
    { text: ['Cached.'], usage: { input: 175, cached: 50, cacheWrite: 25, output: 20 } },
  ],
  'usage-reasoning': [
    { text: ['Thought about it.'], usage: { input: 12, output: 30, reasoning: 10 } },
  ],
  agent: [
    { toolCalls: [weather('call_1', 'Paris')] },
    { toolCalls: [{ id: 'call_2', name: 'convert_temperature', args: ['{"celsius":18}'] }] },
    { text: ['It is 18°C ', '(64.4°F) in Paris.'] },
  ],
};

const ERRORS: Partial<Record<ModelScenario, Reply>> = {
  'rate-limit': () =>
    errorResponse(
      429,
      errorBody(
        'Rate limit reached for gpt-4.1 in organization org-test on tokens per min (TPM): Limit 30000, Used 29937, Requested 385. Please try again in 2s. Visit https://platform.openai.com/account/rate-limits to learn more.',
        'tokens',
        'rate_limit_exceeded',
      ),
      { 'retry-after': '2' },
    ),
  overloaded: () =>
    errorResponse(
      503,
      errorBody(
        'The engine is currently overloaded, please try again later.',
        'server_error',
        null,
      ),
    ),
  'server-error': () =>
    errorResponse(500, {
      error: {
        message: 'The server had an error while processing your request. Sorry about that!',
        type: 'server_error',
      },
    }),
  auth: () =>
    errorResponse(
      401,
      errorBody(
        'Incorrect API key provided: sk-test-********************cdef. You can find your API key at https://platform.openai.com/account/api-keys.',
        'invalid_request_error',
        'invalid_api_key',
      ),
    ),
  'not-found': () =>
    errorResponse(
      404,
      errorBody(
        'The model `gpt-4.1` does not exist or you do not have access to it.',
        'invalid_request_error',
        'model_not_found',
      ),
    ),
  'invalid-request': () =>
    errorResponse(
      400,
      errorBody('Unrecognized request argument supplied: foo', 'invalid_request_error', null),
    ),
  'context-length': () =>
    errorResponse(
      400,
      errorBody(
        'Your input exceeds the context window of this model. Please adjust your input and try again.',
        'invalid_request_error',
        'context_length_exceeded',
        'input',
      ),
    ),
};

function setupFor(api: OpenAIApi) {
  return (scenario: ModelScenario) => {
    const answers = ANSWERS[scenario];
    if (answers) serveAnswers(server, api, ...answers);
    const error = ERRORS[scenario];
    if (error) route(server, api, [error]);
    if (scenario === 'stream-interrupted') {
      // Everything up to and including the first text delta, then the connection resets.
      const frames = framesOf(api, hello);
      const first = frames.findIndex((frame) => frame.includes('Hello from '));
      route(server, api, [() => sseResponse(frames.slice(0, first + 1), 'error')]);
    }
    return makeModel(api);
  };
}

for (const api of APIS) {
  modelAdapterConformance({ describe, it, name: `openai (${api})`, setup: setupFor(api) });
}
