import assert from 'node:assert/strict';
import { z } from 'zod';
import { runAgent } from '../agent/run-agent';
import { defineTool } from '../agent/tool';
import { textOf, toolCallsOf } from '../model/messages';
import type { Model, ModelRequest, ModelResponse, ModelStreamPart } from '../model/model';
import { ModelError, type ModelErrorKind } from '../model/model-error';
import type { ConformanceRunner } from './conformance/harness';

/**
 * The scenarios of {@link modelAdapterConformance}: for each, what your HTTP fixture must serve
 * (in your provider's exact wire format) when the adapter calls it.
 */
export const MODEL_SCENARIOS = {
  text: 'Non-streaming answer: the text "Hello from the fixture.", a normal end of turn, usage 12 input / 6 output tokens, no cache.',
  'tool-call':
    'Non-streaming answer: one call of tool "get_weather" with id "call_1" and input {"city":"Paris"}, stop reason "tool use".',
  'parallel-tool-calls':
    'Non-streaming answer: two calls of "get_weather": id "call_1" input {"city":"Paris"}, then id "call_2" input {"city":"Tokyo"}.',
  'stream-text':
    'Streamed answer: the text "Hello from the fixture." in at least two deltas, end of turn, usage 12 input / 6 output.',
  'stream-tool-call':
    'Streamed answer: one call of "get_weather", id "call_1", its input {"city":"Paris"} split over at least two deltas.',
  'usage-cache':
    'Non-streaming text answer whose usage normalizes to 100 uncached input, 50 cache-read, 25 cache-write and 20 output tokens.',
  'usage-reasoning':
    'Non-streaming text answer whose usage normalizes to 30 output tokens of which 10 are reasoning.',
  'rate-limit': 'HTTP 429 in the provider error format with header "retry-after: 2".',
  overloaded: 'The provider\'s "overloaded" error (Anthropic: HTTP 529; others: HTTP 503).',
  'server-error': 'HTTP 500 in the provider error format.',
  auth: 'HTTP 401 in the provider error format.',
  'not-found': 'HTTP 404 (unknown model) in the provider error format.',
  'invalid-request': 'HTTP 400 in the provider error format (not a context-length error).',
  'context-length': "The provider's error for a prompt longer than the model's context window.",
  'stream-interrupted':
    'A streamed answer whose connection breaks off after the first text delta, with no end.',
  agent:
    'Three calls in order: (1) a call of "get_weather" {"city":"Paris"}; (2) a call of "convert_temperature" {"celsius":18}; (3) the text "It is 18°C (64.4°F) in Paris."',
} as const;

/** Name of a {@link MODEL_SCENARIOS} entry. */
export type ModelScenario = keyof typeof MODEL_SCENARIOS;

/** Options of {@link modelAdapterConformance}. */
export interface ModelConformanceOptions extends ConformanceRunner {
  /** Name shown in the describe block. */
  name: string;
  /** Arrange your fixture to serve `scenario`, and return a model adapter pointed at it (retries off). */
  setup(scenario: ModelScenario): Model | Promise<Model>;
  /** Scenarios the provider cannot express at all (say why in your test file), for example `usage-reasoning`. */
  unsupported?: readonly ModelScenario[];
}

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather of a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const baseRequest = (tools = false): ModelRequest => ({
  system: 'You are terse.',
  messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
  maxOutputTokens: 256,
  ...(tools ? { tools: [weatherTool] } : {}),
});
const signal = () => new AbortController().signal;

async function collect(model: Model, request: ModelRequest): Promise<ModelStreamPart[]> {
  assert.ok(model.stream, 'the adapter has no stream method');
  const parts: ModelStreamPart[] = [];
  for await (const part of model.stream(request, { signal: signal() })) parts.push(part);
  return parts;
}

function finishOf(parts: ModelStreamPart[]): ModelResponse {
  const last = parts.at(-1);
  assert.equal(last?.type, 'finish', 'a stream must end with a finish part');
  assert.equal(parts.filter((part) => part.type === 'finish').length, 1, 'exactly one finish part');
  return (last as { response: ModelResponse }).response;
}

async function expectModelError(
  promise: Promise<unknown>,
  kind: ModelErrorKind,
  retryable: boolean,
): Promise<ModelError> {
  const error = await promise.then(
    () => assert.fail(`expected a ModelError of kind ${kind}, but the call succeeded`),
    (thrown: unknown) => thrown,
  );
  assert.ok(ModelError.isInstance(error), `expected a ModelError, got ${String(error)}`);
  assert.equal(error.kind, kind);
  assert.equal(error.retryable, retryable);
  return error;
}

const ERROR_KINDS: Array<[ModelScenario, ModelErrorKind, boolean]> = [
  ['overloaded', 'overloaded', true],
  ['server-error', 'server', true],
  ['auth', 'auth', false],
  ['not-found', 'not_found', false],
  ['invalid-request', 'invalid_request', false],
  ['context-length', 'context_length', false],
];

/**
 * The standard scenarios every model adapter must pass, run through your adapter against your
 * own HTTP fixtures (msw or a local server) in your provider's wire format.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { modelAdapterConformance } from 'loopwork/testing';
 *
 * modelAdapterConformance({
 *   name: 'my-provider',
 *   describe,
 *   it,
 *   setup: (scenario) => {
 *     server.use(...fixturesFor(scenario)); // your msw handlers
 *     return myProviderModel({ apiKey: 'test', model: 'my-model', maxRetries: 0 });
 *   },
 * });
 * ```
 */
export function modelAdapterConformance(options: ModelConformanceOptions): void {
  const { describe, name, setup } = options;
  const unsupported = new Set(options.unsupported ?? []);
  const it = (scenario: ModelScenario, title: string, fn: (model: Model) => Promise<void>) => {
    if (unsupported.has(scenario)) return;
    options.it(`${scenario}: ${title}`, async () => fn(await setup(scenario)));
  };

  describe(`model adapter conformance: ${name}`, () => {
    it('text', 'text answer, end of turn, usage', async (model) => {
      assert.equal(model.specificationVersion, 'loopwork.model.v1');
      const response = await model.generate(baseRequest(), { signal: signal() });
      assert.equal(textOf(response.message), 'Hello from the fixture.');
      assert.equal(response.stopReason, 'end_turn');
      assert.equal(response.usage.inputTokens, 12);
      assert.equal(response.usage.outputTokens, 6);
      assert.equal(response.usage.cacheReadTokens, 0);
    });
    it('tool-call', 'one tool call with parsed input', async (model) => {
      const response = await model.generate(baseRequest(true), { signal: signal() });
      assert.deepEqual(toolCallsOf(response.message), [
        { type: 'tool-call', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
      ]);
      assert.equal(response.stopReason, 'tool_use');
    });
    it('parallel-tool-calls', 'two tool calls in order', async (model) => {
      const calls = toolCallsOf(
        (await model.generate(baseRequest(true), { signal: signal() })).message,
      );
      assert.deepEqual(
        calls.map((call) => [call.id, call.input]),
        [
          ['call_1', { city: 'Paris' }],
          ['call_2', { city: 'Tokyo' }],
        ],
      );
    });
    it('stream-text', 'deltas add up to the final text', async (model) => {
      const parts = await collect(model, baseRequest());
      const deltas = parts.filter((part) => part.type === 'text-delta');
      assert.ok(deltas.length >= 2, `expected at least two text deltas, got ${deltas.length}`);
      const response = finishOf(parts);
      assert.equal(deltas.map((part) => part.text).join(''), textOf(response.message));
      assert.equal(textOf(response.message), 'Hello from the fixture.');
      assert.equal(response.usage.inputTokens, 12);
      assert.equal(response.usage.outputTokens, 6);
    });
    it('stream-tool-call', 'input deltas assemble into the tool call', async (model) => {
      const parts = await collect(model, baseRequest(true));
      assert.ok(
        parts.some((part) => part.type === 'tool-call-start' && part.name === 'get_weather'),
        'tool-call-start',
      );
      const deltas = parts.filter((part) => part.type === 'tool-call-delta');
      assert.ok(deltas.length >= 2, `expected at least two input deltas, got ${deltas.length}`);
      assert.deepEqual(JSON.parse(deltas.map((part) => part.inputTextDelta).join('')), {
        city: 'Paris',
      });
      const response = finishOf(parts);
      assert.deepEqual(toolCallsOf(response.message), [
        { type: 'tool-call', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
      ]);
      assert.equal(response.stopReason, 'tool_use');
    });
    it('usage-cache', 'cache read and write tokens normalized', async (model) => {
      const { usage } = await model.generate(baseRequest(), { signal: signal() });
      assert.deepEqual(
        [usage.inputTokens, usage.cacheReadTokens, usage.cacheWriteTokens, usage.outputTokens],
        [100, 50, 25, 20],
      );
    });
    it('usage-reasoning', 'reasoning tokens counted inside output', async (model) => {
      const { usage } = await model.generate(baseRequest(), { signal: signal() });
      assert.deepEqual([usage.outputTokens, usage.reasoningTokens], [30, 10]);
    });
    it('rate-limit', '429 becomes a retryable rate_limit with retryAfterMs', async (model) => {
      const error = await expectModelError(
        model.generate(baseRequest(), { signal: signal() }),
        'rate_limit',
        true,
      );
      assert.equal(error.retryAfterMs, 2000);
      assert.equal(error.status, 429);
    });
    for (const [scenario, kind, retryable] of ERROR_KINDS) {
      it(scenario, `normalized to ${kind}`, async (model) => {
        await expectModelError(
          model.generate(baseRequest(), { signal: signal() }),
          kind,
          retryable,
        );
      });
    }
    it('stream-interrupted', 'a stream that breaks off is a retryable error', async (model) => {
      const error = await collect(model, baseRequest()).then(
        () => assert.fail('expected the stream to fail'),
        (thrown: unknown) => thrown,
      );
      assert.ok(ModelError.isInstance(error), `expected a ModelError, got ${String(error)}`);
      assert.equal(error.retryable, true);
    });
    it('agent', 'two tools over three turns through runAgent', async (model) => {
      const executed: string[] = [];
      const tools = [
        defineTool({
          name: 'get_weather',
          description: 'Weather of a city',
          input: z.object({ city: z.string() }),
          execute: ({ city }) => {
            executed.push(`get_weather:${city}`);
            return { celsius: 18 };
          },
        }),
        defineTool({
          name: 'convert_temperature',
          description: 'Celsius to Fahrenheit',
          input: z.object({ celsius: z.number() }),
          execute: ({ celsius }) => {
            executed.push(`convert_temperature:${celsius}`);
            return { fahrenheit: (celsius * 9) / 5 + 32 };
          },
        }),
      ];
      const result = await runAgent({
        model,
        prompt: 'How warm is it in Paris, in both units?',
        tools,
        retry: { maxRetries: 0 },
      });
      assert.equal(result.status, 'completed', result.error?.message);
      assert.equal(result.text, 'It is 18°C (64.4°F) in Paris.');
      assert.equal(result.turns.length, 3);
      assert.deepEqual(executed, ['get_weather:Paris', 'convert_temperature:18']);
    });
  });
}
