/**
 * OpenTelemetry: one trace from the dispatch to each model and tool call, and the GenAI metrics.
 *
 *   POST /ask ─ dispatch ─(traceparent in the message)─ process ─ invoke_agent ─ chat, execute_tool …
 *
 * An OpenTelemetry SDK is set up as an application would (context manager, W3C propagator),
 * recording to memory so that this program can print the trace as a tree; in production, give
 * the providers an OTLP exporter instead. The same instrumentation goes to the dispatcher, the
 * worker and the agent. A scripted model answers, so this runs offline.
 *
 * Run: `npx tsx examples/otel.ts`
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
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
import { otelInstrumentation } from 'loopwork/otel';
import { ScriptedModel } from 'loopwork/testing';
import { z } from 'zod';

// 1. The SDK (what @opentelemetry/sdk-node would set up, with exporters of your choice).
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spans)],
});
class OnDemandReader extends MetricReader {
  protected onShutdown = async () => {};
  protected onForceFlush = async () => {};
}
const metrics = new OnDemandReader();
const meterProvider = new MeterProvider({ readers: [metrics] });

// 2. One instrumentation for the dispatcher, the worker and the agent.
const instrumentation = await otelInstrumentation({
  tracerProvider,
  meterProvider,
  agentName: 'dictionary',
});

const define = defineTool({
  name: 'define',
  description: 'Looks a word up',
  input: z.object({ word: z.string() }),
  execute: async ({ word }) => `${word}: a word worth looking up`,
});
const model = new ScriptedModel({
  modelId: 'scripted-model',
  turns: [
    {
      toolCalls: [
        { name: 'define', input: { word: 'loop' } },
        { name: 'define', input: { word: 'work' } },
      ],
      usage: { inputTokens: 120, cacheReadTokens: 800, outputTokens: 40 },
    },
    {
      text: 'Both words are defined.',
      usage: { inputTokens: 200, cacheReadTokens: 800, outputTokens: 12 },
    },
  ],
});

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const dictionary = agentTask({
  type: 'dictionary',
  checkpoints: createMemorySessionStore(),
  agent: {
    model,
    tools: [define],
    instrumentation,
    prices: { 'scripted-model': { inputPerMTok: 3, outputPerMTok: 15, cacheReadPerMTok: 0.3 } },
  },
});
const dispatcher = createDispatcher({ queue, runs, instrumentation });
const worker = createWorker({ queue, runs, handlers: [dictionary.handler], instrumentation });

// 3. A request handler dispatches; a worker (here the same process) runs the task.
await tracerProvider.getTracer('app').startActiveSpan('POST /ask', async (request) => {
  await dispatcher.dispatch(dictionary.task, { prompt: 'Define "loop" and "work".' });
  request.end();
});
console.log('worker:', await worker.runOnce());
await worker.stop();

// 4. The trace, as a tree.
const finished = spans.getFinishedSpans();
const children = (parent: ReadableSpan | undefined) =>
  finished
    .filter((span) => span.parentSpanContext?.spanId === parent?.spanContext().spanId)
    .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
const SHOWN = [
  'gen_ai.request.model',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.response.finish_reasons',
  'gen_ai.tool.call.id',
  'loopwork.run.status',
];
const print = (span: ReadableSpan, depth: number) => {
  const shown = SHOWN.filter((key) => span.attributes[key] !== undefined)
    .map(
      (key) =>
        `${key.replace(/^gen_ai\.|^loopwork\./, '')}=${JSON.stringify(span.attributes[key])}`,
    )
    .join(' ');
  console.log(`${'  '.repeat(depth)}${span.name}  ${shown}`);
  for (const child of children(span)) print(child, depth + 1);
};
const traces = new Set(finished.map((span) => span.spanContext().traceId));
console.log(`\n${finished.length} spans in ${traces.size} trace:`);
for (const root of children(undefined)) print(root, 1);

// 5. The metrics.
const { resourceMetrics } = await metrics.collect();
console.log('\nmetrics:');
for (const metric of resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)) {
  for (const point of metric.dataPoints) {
    const value = point.value as number | { count: number; sum?: number };
    const text = typeof value === 'number' ? value : `count=${value.count} sum=${value.sum}`;
    const type = point.attributes['gen_ai.token.type'] ?? point.attributes['loopwork.run.status'];
    console.log(`  ${metric.descriptor.name}${type ? ` (${type})` : ''}: ${text}`);
  }
}
if (traces.size !== 1) throw new Error('expected one trace');
