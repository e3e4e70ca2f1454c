import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  type AgentTaskSettings,
  agentTask,
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
  type Instrumentation,
  type Queue,
  type Worker,
} from 'loopwork';
import { parseEnvelope } from 'loopwork/adapter-kit';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { idOf, otelSetup, parentOf } from './helpers';

const PRICES = { 'scripted-model': { inputPerMTok: 1_000_000, outputPerMTok: 2_000_000 } };

/** A memory queue that keeps the body of every message enqueued. */
function recordingQueue(): { queue: Queue; bodies: string[] } {
  const inner = createMemoryQueue();
  const bodies: string[] = [];
  const queue: Queue = {
    ...inner,
    enqueue(name, body, options) {
      bodies.push(body);
      return inner.enqueue(name, body, options);
    },
  };
  return { queue, bodies };
}

let workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.map((worker) => worker.stop({ graceMs: 0 })));
  workers = [];
});

/** Dispatcher, worker and an agent task on memory stores, all given `instrumentation`. */
function orchestration(
  instrumentation: Instrumentation | undefined,
  agent: (settings: { instrumentation?: Instrumentation }) => AgentTaskSettings,
  task: { maxAttempts?: number } = {},
) {
  const { queue, bodies } = recordingQueue();
  const runs = createMemoryRunStore();
  const events = createMemoryEventLog();
  const withInstrumentation = instrumentation ? { instrumentation } : {};
  const dispatcher = createDispatcher({ queue, runs, events, ...withInstrumentation });
  const assistant = agentTask({
    type: 'assistant',
    checkpoints: createMemorySessionStore(),
    retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
    ...task,
    agent: () => agent(withInstrumentation),
  });
  const errors: unknown[] = [];
  const worker = createWorker({
    queue,
    runs,
    events,
    handlers: [assistant.handler],
    pollWaitMs: 20,
    leaseMs: 300,
    onError: (error) => errors.push(error),
    ...withInstrumentation,
  });
  workers.push(worker);
  return { dispatcher, worker, runs, task: assistant.task, bodies, errors };
}

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a word up',
  input: z.object({ q: z.string() }),
  execute: async ({ q }) => `definition of ${q}`,
});

const twoTurns = (): ScriptedTurn[] => [
  {
    toolCalls: [
      { name: 'lookup', input: { q: 'a' } },
      { name: 'lookup', input: { q: 'b' } },
    ],
    usage: {
      inputTokens: 100,
      outputTokens: 20,
      cacheReadTokens: 50,
      cacheWriteTokens: 10,
      reasoningTokens: 5,
    },
  },
  { text: 'done', usage: { inputTokens: 200, outputTokens: 10 } },
];

const spanNamed = (spans: readonly ReadableSpan[], name: string) =>
  spans.filter((span) => span.name === name);

describe('loopwork/otel: one trace from dispatch to tool calls', () => {
  let otel: Awaited<ReturnType<typeof otelSetup>>;
  beforeEach(async () => {
    otel = await otelSetup({ agentName: 'support' });
  });

  it('dispatch → process → invoke_agent → chat / execute_tool, with the GenAI attributes', async () => {
    const app = otel.tracer;
    const appTool = defineTool({
      name: 'lookup',
      description: 'Looks a word up',
      input: z.object({ q: z.string() }),
      // The application's own span inside a tool: a child of execute_tool, by the active context.
      execute: async ({ q }) => {
        const span = app.startSpan(`db ${q}`);
        span.end();
        return `definition of ${q}`;
      },
    });
    const setup = orchestration(otel.instrumentation, (extra) => ({
      model: new ScriptedModel({ turns: twoTurns(), modelId: 'scripted-model' }),
      tools: [appTool],
      prices: PRICES,
      ...extra,
    }));
    // The dispatch happens inside the application's request span.
    await app.startActiveSpan('POST /ask', async (request) => {
      await setup.dispatcher.dispatch(setup.task, { prompt: 'define a and b' }, { runId: 'r1' });
      request.end();
    });
    expect(await setup.worker.runOnce()).toBe('completed');

    const spans = otel.spans();
    const request = otel.span('POST /ask');
    const dispatch = otel.span('dispatch assistant');
    const attempt = otel.span('process assistant');
    const agent = otel.span('invoke_agent support');
    const chats = spanNamed(spans, 'chat scripted-model');
    const tools = spanNamed(spans, 'execute_tool lookup');
    expect(chats).toHaveLength(2);
    expect(tools).toHaveLength(2);
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);

    expect(parentOf(dispatch)).toBe(idOf(request));
    expect(parentOf(attempt)).toBe(idOf(dispatch));
    expect(parentOf(agent)).toBe(idOf(attempt));
    for (const span of [...chats, ...tools]) expect(parentOf(span)).toBe(idOf(agent));
    for (const q of ['a', 'b']) {
      const own = otel.span(`db ${q}`);
      const tool = tools.find(
        (span) => span.attributes['gen_ai.tool.call.id'] === `call_1_${q === 'a' ? 0 : 1}`,
      );
      expect(parentOf(own)).toBe(tool && idOf(tool));
    }

    // The message carried the dispatch span's context as a W3C traceparent.
    const envelope = parseEnvelope(setup.bodies[0] as string);
    expect(envelope.trace?.traceparent).toBe(
      `00-${dispatch.spanContext().traceId}-${idOf(dispatch)}-01`,
    );

    expect(dispatch.kind).toBe(SpanKind.PRODUCER);
    expect(attempt.kind).toBe(SpanKind.CONSUMER);
    expect(agent.kind).toBe(SpanKind.INTERNAL);
    for (const chat of chats) expect(chat.kind).toBe(SpanKind.CLIENT);
    for (const tool of tools) expect(tool.kind).toBe(SpanKind.INTERNAL);

    expect(attempt.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'loopwork:tasks:assistant',
      'loopwork.run.id': 'r1',
      'loopwork.task.type': 'assistant',
      'loopwork.task.attempt': 1,
      'loopwork.attempt.outcome': 'returned',
      'loopwork.run.status': 'completed',
    });
    expect(agent.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.request.model': 'scripted-model',
      'gen_ai.agent.name': 'support',
      'loopwork.run.status': 'completed',
      'loopwork.run.turns': 2,
      // All prompt tokens, cached or not: 100 + 50 + 10 + 200.
      'gen_ai.usage.input_tokens': 360,
      'gen_ai.usage.output_tokens': 30,
      'gen_ai.usage.cache_read.input_tokens': 50,
      'gen_ai.usage.cache_creation.input_tokens': 10,
      'gen_ai.usage.reasoning.output_tokens': 5,
      'loopwork.run.cost_usd': 420,
    });
    const [first, second] = [...chats].sort(
      (a, b) =>
        (a.attributes['loopwork.turn'] as number) - (b.attributes['loopwork.turn'] as number),
    );
    expect(first?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.request.model': 'scripted-model',
      'gen_ai.response.model': 'scripted-model',
      'gen_ai.response.finish_reasons': ['tool_use'],
      'gen_ai.usage.input_tokens': 160,
      'gen_ai.usage.output_tokens': 20,
      'gen_ai.usage.cache_read.input_tokens': 50,
      'gen_ai.usage.cache_creation.input_tokens': 10,
      'gen_ai.usage.reasoning.output_tokens': 5,
      'loopwork.model_call.attempt': 1,
    });
    expect(first?.attributes['gen_ai.request.max_tokens']).toBeGreaterThan(0);
    expect(second?.attributes).toMatchObject({
      'gen_ai.response.finish_reasons': ['end_turn'],
      'gen_ai.usage.input_tokens': 200,
    });
    // Zero counts are left out rather than reported as measured zeros.
    expect(second?.attributes).not.toHaveProperty('gen_ai.usage.cache_read.input_tokens');
    expect(tools.map((tool) => tool.attributes['gen_ai.tool.call.id']).sort()).toEqual([
      'call_1_0',
      'call_1_1',
    ]);
    expect(tools[0]?.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'lookup',
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.description': 'Looks a word up',
    });
    for (const span of spans) expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('records the GenAI metrics, runs by status, cost, attempts and queue wait', async () => {
    const setup = orchestration(otel.instrumentation, (extra) => ({
      model: new ScriptedModel({ turns: twoTurns(), modelId: 'scripted-model' }),
      tools: [lookup],
      prices: PRICES,
      ...extra,
    }));
    await setup.dispatcher.dispatch(setup.task, { prompt: 'define a and b' });
    expect(await setup.worker.runOnce()).toBe('completed');

    const tokens = await otel.points('gen_ai.client.token.usage');
    const byType = (type: string) =>
      tokens.find((point) => point.attributes['gen_ai.token.type'] === type)?.value as Histogram;
    expect(byType('input')).toMatchObject({ count: 2, sum: 360 });
    expect(byType('output')).toMatchObject({ count: 2, sum: 30 });
    expect(tokens[0]?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.request.model': 'scripted-model',
      'gen_ai.response.model': 'scripted-model',
    });
    // The conventions' bucket boundaries for token counts.
    expect(byType('input').buckets.boundaries.slice(0, 3)).toEqual([1, 4, 16]);

    const durations = await otel.points('gen_ai.client.operation.duration');
    expect(durations.map((point) => (point.value as Histogram).count)).toEqual([2]);

    expect(await otel.points('loopwork.agent.runs')).toMatchObject([
      {
        value: 1,
        attributes: { 'loopwork.run.status': 'completed', 'gen_ai.agent.name': 'support' },
      },
    ]);
    expect(await otel.points('loopwork.agent.cost')).toMatchObject([{ value: 420 }]);
    expect(await otel.points('loopwork.task.attempts')).toMatchObject([
      {
        value: 1,
        attributes: { 'loopwork.task.type': 'assistant', 'loopwork.attempt.outcome': 'returned' },
      },
    ]);
    const wait = await otel.points('loopwork.task.queue_wait');
    expect(wait.map((point) => (point.value as Histogram).count)).toEqual([1]);
  });

  it('a retried attempt continues the same trace from the same dispatch', async () => {
    let calls = 0;
    const setup = orchestration(
      otel.instrumentation,
      (extra) => ({
        model: new ScriptedModel({
          turns: () =>
            ++calls === 1
              ? { error: { kind: 'server', message: 'upstream broke' } }
              : { text: 'second time lucky' },
        }),
        retry: { maxRetries: 0 },
        ...extra,
      }),
      { maxAttempts: 2 },
    );
    await setup.dispatcher.dispatch(setup.task, { prompt: 'hi' });
    expect(await setup.worker.runOnce()).toBe('retrying');
    expect(await setup.worker.runOnce()).toBe('completed');

    const dispatch = otel.span('dispatch assistant');
    const attempts = spanNamed(otel.spans(), 'process assistant');
    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) {
      expect(parentOf(attempt)).toBe(idOf(dispatch));
      expect(attempt.spanContext().traceId).toBe(dispatch.spanContext().traceId);
    }
    const [failed, succeeded] = attempts;
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes).toMatchObject({
      'loopwork.task.attempt': 1,
      'loopwork.attempt.outcome': 'failed',
      'loopwork.attempt.retryable': true,
    });
    expect(succeeded?.attributes).toMatchObject({
      'loopwork.task.attempt': 2,
      'loopwork.attempt.outcome': 'returned',
    });
    expect(succeeded?.status.code).not.toBe(SpanStatusCode.ERROR);
  });
});
