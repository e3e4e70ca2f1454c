// The shared model-adapter suite, run through the real SDK against msw fixtures in Anthropic's
// wire format. Every scenario is supported: Anthropic reports thinking tokens in
// `usage.output_tokens_details.thinking_tokens`, so even `usage-reasoning` is expressible.

import { type ModelScenario, modelAdapterConformance } from 'loopwork/testing';
import { HttpResponse } from 'msw';
import { describe, it } from 'vitest';
import {
  answer,
  brokenSseResponse,
  errorResponse,
  message,
  openingEvents,
  sseResponse,
  streamEventsFor,
  text,
  thinking,
  toolUse,
} from './fixtures';
import { type Responder, useAnthropicServer } from './server';

const { respond, model } = useAnthropicServer();

const json =
  (body: Record<string, unknown>): Responder =>
  () =>
    HttpResponse.json(body);
const paris = toolUse('call_1', 'get_weather', { city: 'Paris' });

const fixtures: Record<ModelScenario, Responder[]> = {
  text: [json(message({ content: [text('Hello from the fixture.')] }))],
  'tool-call': [json(message({ content: [paris], stop_reason: 'tool_use' }))],
  'parallel-tool-calls': [
    json(
      message({
        content: [
          text('Checking both cities.'),
          paris,
          toolUse('call_2', 'get_weather', { city: 'Tokyo' }),
        ],
        stop_reason: 'tool_use',
      }),
    ),
  ],
  'stream-text': [
    () => sseResponse(streamEventsFor(message({ content: [text('Hello from the fixture.')] }))),
  ],
  'stream-tool-call': [
    () => sseResponse(streamEventsFor(message({ content: [paris], stop_reason: 'tool_use' }))),
  ],
  'usage-cache': [
    json(
      message({
        content: [text('Cached.')],
        usage: {
          input_tokens: 100,
          cache_read_input_tokens: 50,
          cache_creation_input_tokens: 25,
          cache_creation: { ephemeral_5m_input_tokens: 25, ephemeral_1h_input_tokens: 0 },
          output_tokens: 20,
        },
      }),
    ),
  ],
  'usage-reasoning': [
    json(
      message({
        content: [thinking('Paris in spring: mild.', 'EqQBCkYIARgCKkB'), text('Mild.')],
        usage: { output_tokens: 30, output_tokens_details: { thinking_tokens: 10 } },
      }),
    ),
  ],
  'rate-limit': [
    () =>
      errorResponse(429, 'rate_limit_error', 'Number of request tokens has exceeded your limit.', {
        'retry-after': '2',
      }),
  ],
  overloaded: [() => errorResponse(529, 'overloaded_error', 'Overloaded')],
  'server-error': [() => errorResponse(500, 'api_error', 'Internal server error')],
  auth: [() => errorResponse(401, 'authentication_error', 'invalid x-api-key')],
  'not-found': [() => errorResponse(404, 'not_found_error', 'model: claude-nonexistent')],
  'invalid-request': [
    () => errorResponse(400, 'invalid_request_error', 'max_tokens: Field required'),
  ],
  'context-length': [
    () =>
      errorResponse(
        400,
        'invalid_request_error',
        'prompt is too long: 1048712 tokens > 1000000 maximum',
      ),
  ],
  'stream-interrupted': [() => brokenSseResponse(openingEvents('Hello'), 'error')],
  agent: [
    (body) => answer(body, message({ content: [paris], stop_reason: 'tool_use' })),
    (body) =>
      answer(
        body,
        message({
          content: [toolUse('call_2', 'convert_temperature', { celsius: 18 })],
          stop_reason: 'tool_use',
        }),
      ),
    (body) => answer(body, message({ content: [text('It is 18°C (64.4°F) in Paris.')] })),
  ],
};

modelAdapterConformance({
  name: 'anthropic',
  describe,
  it,
  setup: (scenario) => {
    respond(...fixtures[scenario]);
    return model();
  },
});
