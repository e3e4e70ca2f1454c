import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { Instrumentation } from 'loopwork';
import { otelInstrumentation } from 'loopwork/otel';

/** A metric reader that only collects on demand. */
class TestReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * An OpenTelemetry SDK set up as an application would (a context manager and the W3C propagator
 * registered globally), recording to memory; and an instrumentation writing to it.
 */
export async function otelSetup(options: { agentName?: string; contextManager?: boolean } = {}) {
  const { contextManager = true, ...rest } = options;
  // Without a context manager, nothing is registered globally; the propagator is given instead.
  if (contextManager) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const instrumentation: Instrumentation = await otelInstrumentation({
    tracerProvider,
    meterProvider,
    ...(contextManager ? {} : { propagator: new W3CTraceContextPropagator() }),
    ...rest,
  });
  const spans = () => exporter.getFinishedSpans();
  /** The one finished span with this name (fails the test when there are none or several). */
  const span = (name: string): ReadableSpan => {
    const found = spans().filter((s) => s.name === name);
    if (found.length !== 1)
      throw new Error(`expected one span "${name}", found ${found.length}: ${names(spans())}`);
    return found[0] as ReadableSpan;
  };
  /** Data points of one metric, by name (empty when it was never recorded). */
  const points = async (name: string): Promise<DataPoint<number | Histogram>[]> => {
    const { resourceMetrics } = await reader.collect();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (metric.descriptor.name === name)
          return metric.dataPoints as DataPoint<number | Histogram>[];
      }
    }
    return [];
  };
  const tracer = tracerProvider.getTracer('app');
  return { instrumentation, exporter, tracerProvider, meterProvider, spans, span, points, tracer };
}

export const names = (spans: readonly ReadableSpan[]) => spans.map((s) => s.name).join(', ');

/** The span's parent span id, or undefined for a root. */
export const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

export const idOf = (span: ReadableSpan) => span.spanContext().spanId;
