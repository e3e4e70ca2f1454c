import { type MeterProvider, SpanStatusCode, type TextMapPropagator } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  agentTask,
  createDispatcher,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
  runAgent,
  type Worker,
} from 'loopwork';
import { otelInstrumentation } from 'loopwork/otel';
import { ScriptedModel } from 'loopwork/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { idOf, otelSetup, parentOf } from './helpers';

const exceptionOf = (span: ReadableSpan) =>
  span.events.find((event) => event.name === 'exception')?.attributes;

let workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.map((worker) => worker.stop({ graceMs: 0 })));
  workers = [];
});

describe('loopwork/otel: failures are recorded on spans', () => {
  let otel: Awaited<ReturnType<typeof otelSetup>>;
  beforeEach(async () => {
    otel = await otelSetup();
  });

  it('a model error fails its chat span, the run span and the attempt span', async () => {
    const queue = createMemoryQueue();
    const runs = createMemoryRunStore();
    const { instrumentation } = otel;
    const assistant = agentTask({
      type: 'assistant',
      checkpoints: createMemorySessionStore(),
      agent: {
        model: new ScriptedModel({
          turns: [{ error: { kind: 'invalid_request', status: 400, message: 'bad tool schema' } }],
        }),
        instrumentation,
      },
    });
    const worker = createWorker({
      queue,
      runs,
      handlers: [assistant.handler],
      pollWaitMs: 20,
      instrumentation,
      onError: () => {},
    });
    workers.push(worker);
    await createDispatcher({ queue, runs, instrumentation }).dispatch(assistant.task, {
      prompt: 'hi',
    });
    expect(await worker.runOnce()).toBe('failed');

    const chat = otel.span('chat scripted');
    expect(chat.status).toMatchObject({ code: SpanStatusCode.ERROR });
    expect(chat.status.message).toContain('bad tool schema');
    expect(chat.attributes['error.type']).toBe('invalid_request');
    expect(exceptionOf(chat)).toMatchObject({ 'exception.type': 'ModelError' });
    const agent = otel.span('invoke_agent');
    expect(agent.attributes).toMatchObject({
      'error.type': 'invalid_request',
      'loopwork.run.status': 'failed',
    });
    expect(agent.status.code).toBe(SpanStatusCode.ERROR);
    const attempt = otel.span('process assistant');
    expect(attempt.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempt.attributes).toMatchObject({
      'loopwork.attempt.outcome': 'failed',
      'loopwork.attempt.retryable': false,
    });
    const durations = await otel.points('gen_ai.client.operation.duration');
    expect(durations.map((point) => point.attributes['error.type'])).toEqual(['invalid_request']);
    expect(await otel.points('loopwork.agent.runs')).toMatchObject([
      { value: 1, attributes: { 'loopwork.run.status': 'failed' } },
    ]);
  });

  it('each retried model call has its own chat span; the failed one says why', async () => {
    const model = new ScriptedModel({
      turns: [
        { error: { kind: 'rate_limit', status: 429, retryAfterMs: 1, message: 'slow down' } },
        { text: 'ok' },
      ],
    });
    const result = await runAgent({
      model,
      prompt: 'hi',
      instrumentation: otel.instrumentation,
      retry: { maxRetries: 2, minDelayMs: 1, maxDelayMs: 5 },
    });
    expect(result.status).toBe('completed');
    const chats = otel.spans().filter((span) => span.name === 'chat scripted');
    expect(chats.map((chat) => chat.attributes['loopwork.model_call.attempt'])).toEqual([1, 2]);
    expect(chats.map((chat) => chat.attributes['error.type'])).toEqual(['rate_limit', undefined]);
    expect(chats.map((chat) => chat.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.UNSET,
    ]);
    const agent = otel.span('invoke_agent');
    for (const chat of chats) expect(parentOf(chat)).toBe(idOf(agent));
    // A run started outside any span is the root of its trace.
    expect(parentOf(agent)).toBeUndefined();
  });

  it('a throwing tool fails its execute_tool span (message redacted) while the run goes on', async () => {
    const secret = `sk-ant-api03-${'x'.repeat(40)}`;
    const broken = defineTool({
      name: 'broken',
      description: 'Always throws',
      input: z.object({}),
      execute: async () => {
        throw new Error(`upstream refused key ${secret}`);
      },
    });
    const result = await runAgent({
      model: new ScriptedModel({
        turns: [{ toolCalls: [{ name: 'broken', input: {} }] }, { text: 'sorry' }],
      }),
      tools: [broken],
      prompt: 'try it',
      instrumentation: otel.instrumentation,
    });
    expect(result.status).toBe('completed');
    const tool = otel.span('execute_tool broken');
    expect(tool.status.code).toBe(SpanStatusCode.ERROR);
    expect(tool.attributes['error.type']).toBe('threw');
    expect(tool.status.message).toContain('upstream refused key');
    expect(JSON.stringify([tool.status, tool.events])).not.toContain(secret);
    expect(otel.span('invoke_agent').status.code).toBe(SpanStatusCode.UNSET);
  });

  it('unknown tools and denied calls are tool errors too', async () => {
    const guarded = defineTool({
      name: 'guarded',
      description: 'Never allowed',
      input: z.object({}),
      execute: async () => 'ran',
    });
    await runAgent({
      model: new ScriptedModel({
        turns: [
          {
            toolCalls: [
              { name: 'nope', input: {} },
              { name: 'guarded', input: {} },
            ],
          },
          { text: 'ok' },
        ],
      }),
      tools: [guarded],
      hooks: { beforeToolCall: () => ({ action: 'deny', message: 'not today' }) },
      prompt: 'go',
      instrumentation: otel.instrumentation,
    });
    expect(otel.span('execute_tool nope').attributes['error.type']).toBe('unknown_tool');
    const denied = otel.span('execute_tool guarded');
    expect(denied.attributes['error.type']).toBe('denied');
    expect(denied.status.message).toContain('not today');
  });

  it('a budget stop fails the run span with the budget that stopped it', async () => {
    await otel.tracer.startActiveSpan('job', async (job) => {
      const result = await runAgent({
        model: new ScriptedModel({
          turns: [{ text: 'never' }],
        }),
        prompt: 'go',
        maxTotalTokens: 10,
        instrumentation: otel.instrumentation,
      });
      expect(result.status).toBe('budget_exceeded');
      job.end();
    });
    const agent = otel.span('invoke_agent');
    expect(agent.status.code).toBe(SpanStatusCode.ERROR);
    expect(agent.attributes).toMatchObject({
      'error.type': 'budget_exceeded',
      'loopwork.run.status': 'budget_exceeded',
      'loopwork.run.budget': 'total_tokens',
    });
    // Run inside the application's span: a child of it.
    expect(parentOf(agent)).toBe(idOf(otel.span('job')));
    // The budget leaves no room for even the first call's worst case: it never starts.
    expect(otel.spans().filter((span) => span.name.startsWith('chat'))).toHaveLength(0);
  });

  it('a cancel fails the attempt (cancelled), the run (aborted) and the tool it interrupted', async () => {
    const queue = createMemoryQueue();
    const runs = createMemoryRunStore();
    const { instrumentation } = otel;
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const wait = defineTool({
      name: 'wait',
      description: 'Waits until aborted',
      input: z.object({}),
      execute: (_input, { signal }) =>
        new Promise((_resolve, reject) => {
          started();
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
    });
    const assistant = agentTask({
      type: 'assistant',
      checkpoints: createMemorySessionStore(),
      agent: {
        model: new ScriptedModel({ turns: [{ toolCalls: [{ name: 'wait', input: {} }] }] }),
        tools: [wait],
        instrumentation,
      },
    });
    const worker = createWorker({
      queue,
      runs,
      handlers: [assistant.handler],
      pollWaitMs: 20,
      leaseMs: 150,
      instrumentation,
      onError: () => {},
    });
    workers.push(worker);
    const dispatcher = createDispatcher({ queue, runs, instrumentation });
    const { runId } = await dispatcher.dispatch(assistant.task, { prompt: 'wait' });
    const outcome = worker.runOnce();
    await running;
    expect((await dispatcher.cancel(runId, 'user left')).outcome).toBe('requested');
    expect(await outcome).toBe('cancelled');

    const attempt = otel.span('process assistant');
    expect(attempt.attributes).toMatchObject({
      'loopwork.attempt.outcome': 'cancelled',
      'error.type': 'cancelled',
    });
    expect(attempt.status.code).toBe(SpanStatusCode.ERROR);
    const agent = otel.span('invoke_agent');
    expect(agent.attributes).toMatchObject({
      'loopwork.run.status': 'aborted',
      'error.type': 'aborted',
    });
    const tool = otel.span('execute_tool wait');
    expect(tool.status.code).toBe(SpanStatusCode.ERROR);
    expect(parentOf(tool)).toBe(idOf(agent));
  });
});

describe('loopwork/otel: a failing telemetry backend never fails or re-pays a run', () => {
  it('metrics that throw and a propagator that throws leave the run and its spans as they were', async () => {
    const otel = await otelSetup();
    const boom = () => {
      throw new Error('exporter down');
    };
    const meterProvider = {
      getMeter: () => ({
        createHistogram: () => ({ record: boom }),
        createCounter: () => ({ add: boom }),
      }),
    } as unknown as MeterProvider;
    const propagator: TextMapPropagator = { inject: boom, extract: boom, fields: () => [] };
    const instrumentation = await otelInstrumentation({
      tracerProvider: otel.tracerProvider,
      meterProvider,
      propagator,
    });
    const model = new ScriptedModel({ turns: [{ text: 'fine' }] });
    const queue = createMemoryQueue();
    const runs = createMemoryRunStore();
    const assistant = agentTask({
      type: 'assistant',
      checkpoints: createMemorySessionStore(),
      agent: { model, instrumentation },
    });
    const worker = createWorker({
      queue,
      runs,
      handlers: [assistant.handler],
      pollWaitMs: 20,
      instrumentation,
    });
    workers.push(worker);
    await createDispatcher({ queue, runs, instrumentation }).dispatch(assistant.task, {
      prompt: 'hi',
    });
    expect(await worker.runOnce()).toBe('completed');
    // One call to the model: the failed metric after it was not taken for a failed call.
    expect(model.requests).toHaveLength(1);
    expect(otel.span('chat scripted').status.code).toBe(SpanStatusCode.UNSET);
    expect(otel.span('process assistant').status.code).toBe(SpanStatusCode.UNSET);
  });
});
