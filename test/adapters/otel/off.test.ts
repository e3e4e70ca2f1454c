import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  agentTask,
  createDispatcher,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { afterAll, expect, it } from 'vitest';
import { z } from 'zod';

class TestReader extends MetricReader {
  protected onShutdown = () => Promise.resolve();
  protected onForceFlush = () => Promise.resolve();
}

afterAll(() => {
  trace.disable();
  metrics.disable();
  propagation.disable();
  context.disable();
});

it('with an SDK registered globally but no instrumentation given, nothing is recorded', async () => {
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  const reader = new TestReader();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  const queue = createMemoryQueue();
  const runs = createMemoryRunStore();
  const tool = defineTool({
    name: 'echo',
    description: 'Echoes',
    input: z.object({ text: z.string() }),
    execute: async ({ text }) => text,
  });
  const assistant = agentTask({
    checkpoints: createMemorySessionStore(),
    agent: {
      model: new ScriptedModel({
        turns: [{ toolCalls: [{ name: 'echo', input: { text: 'a' } }] }, { text: 'done' }],
      }),
      tools: [tool],
    },
  });
  const worker = createWorker({ queue, runs, handlers: [assistant.handler], pollWaitMs: 20 });
  // Inside an application span: still nothing of loopwork's own.
  await trace.getTracer('app').startActiveSpan('request', async (span) => {
    await createDispatcher({ queue, runs }).dispatch(assistant.task, { prompt: 'go' });
    span.end();
  });
  expect(await worker.runOnce()).toBe('completed');
  await worker.stop();

  expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['request']);
  const { resourceMetrics } = await reader.collect();
  expect(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)).toEqual([]);
});
