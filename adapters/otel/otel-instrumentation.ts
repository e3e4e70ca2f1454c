import type {
  Context,
  MeterProvider,
  Span,
  SpanOptions,
  TextMapPropagator,
  TracerProvider,
} from '@opentelemetry/api';
import {
  createRedactor,
  type Instrumentation,
  ModelError,
  type RedactOptions,
  type Redactor,
} from 'loopwork';
import { agentSpans } from './agent-spans';
import { createInstruments } from './instruments';
import { importApi, type OtelApi } from './peers';
import { queueSpans } from './queue-spans';

/** Options of {@link otelInstrumentation}. */
export interface OtelInstrumentationOptions {
  /** Where spans go. @defaultValue the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** Where metrics go. @defaultValue the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /**
   * Writes and reads the trace context carried in task messages.
   * @defaultValue the global propagator (`propagation`; W3C Trace Context once an SDK is set up)
   */
  propagator?: TextMapPropagator;
  /** The agent's name: `gen_ai.agent.name`, and the `invoke_agent` span's name. @defaultValue none */
  agentName?: string;
  /**
   * Secrets hidden from error messages put on spans (exceptions, status); like the core's
   * `redact` option: the built-in key formats and key variables of `process.env` by default.
   */
  redact?: RedactOptions | Redactor | false;
  /** Loads `@opentelemetry/api` (for tests). @defaultValue `import('@opentelemetry/api')` */
  loadApi?: () => Promise<OtelApi>;
}

/** Tracer and meter name of this adapter (its instrumentation scope). */
export const OTEL_SCOPE_NAME = 'loopwork';

/**
 * What the span builders share: the API, the tracer, the instruments, the redactor, and the
 * context of each run's innermost open span (attempt, then agent run) by run id. The map keeps
 * loopwork's own spans in one tree even where no context manager carries the active span across
 * `await`; with one (any Node SDK sets it up), a tool's or an SDK's own spans nest too.
 */
export interface OtelShared {
  api: OtelApi;
  tracer: ReturnType<TracerProvider['getTracer']>;
  instruments: ReturnType<typeof createInstruments>;
  redactor: Redactor;
  propagator: TextMapPropagator;
  agentName: string | undefined;
  runContexts: Map<string, Context>;
  /** Runs `work` in a new span (child of `parent`, active while `work` runs); `end` describes how it ended. */
  inSpan<T>(
    name: string,
    options: SpanOptions,
    parent: Context,
    work: (inner: Context) => Promise<T>,
    end: (span: Span, result: T) => void,
    runId?: string,
  ): Promise<T>;
  /**
   * Runs `record` (span attributes, metrics), reporting a throw to the OpenTelemetry diagnostic
   * logger instead of passing it on: a telemetry failure must never fail a model call (which the
   * loop would then retry and pay for again), a tool call or a run.
   */
  safely(record: () => void): void;
  /** Marks `span` failed: `error.type`, an exception event (message redacted), status ERROR. */
  fail(span: Span, errorType: string, error?: unknown): void;
}

/**
 * Creates an {@link Instrumentation} recording OpenTelemetry spans and metrics: a `dispatch`
 * (PRODUCER) span per dispatch whose context travels in the task message, a `process` (CONSUMER)
 * span per attempt continuing it, and under it the GenAI spans of the agent: `invoke_agent`
 * (INTERNAL) around the run, `chat {model}` (CLIENT) per model call, `execute_tool {tool}` per
 * tool call. Give the same object to the dispatcher, the worker and the agent. Loads
 * `@opentelemetry/api` (an optional peer dependency) on the first call.
 *
 * @example
 * ```ts
 * const instrumentation = await otelInstrumentation({ agentName: 'support' });
 * const dispatcher = createDispatcher({ queue, runs, instrumentation });
 * const assistant = agentTask({ checkpoints, agent: { model, tools, instrumentation } });
 * const worker = createWorker({ queue, runs, handlers: [assistant.handler], instrumentation });
 * ```
 */
export async function otelInstrumentation(
  options: OtelInstrumentationOptions = {},
): Promise<Instrumentation> {
  const api = await importApi(options.loadApi);
  const tracer = (options.tracerProvider ?? api.trace.getTracerProvider()).getTracer(
    OTEL_SCOPE_NAME,
  );
  const meter = (options.meterProvider ?? api.metrics.getMeterProvider()).getMeter(OTEL_SCOPE_NAME);
  const redactor =
    options.redact && 'string' in options.redact
      ? options.redact
      : createRedactor(options.redact === false ? { defaults: false } : (options.redact ?? {}));
  const shared: OtelShared = {
    api,
    tracer,
    instruments: createInstruments(meter),
    redactor,
    propagator: options.propagator ?? api.propagation,
    agentName: options.agentName,
    runContexts: new Map(),
    fail(span, errorType, error) {
      span.setAttribute('error.type', errorType);
      const message = error === undefined ? errorType : redactor.string(messageOf(error));
      if (error !== undefined) {
        span.recordException({
          name: error instanceof Error ? error.name : 'Error',
          message,
          ...(error instanceof Error && error.stack ? { stack: redactor.string(error.stack) } : {}),
        });
      }
      span.setStatus({ code: api.SpanStatusCode.ERROR, message });
    },
    async inSpan(name, spanOptions, parent, work, end, runId) {
      const span = tracer.startSpan(name, spanOptions, parent);
      const inner = api.trace.setSpan(parent, span);
      const previous = runId === undefined ? undefined : shared.runContexts.get(runId);
      if (runId !== undefined) shared.runContexts.set(runId, inner);
      try {
        const result = await api.context.with(inner, work, undefined, inner);
        shared.safely(() => end(span, result));
        return result;
      } catch (error) {
        shared.safely(() => shared.fail(span, errorTypeOf(error), error));
        throw error;
      } finally {
        if (runId !== undefined) {
          if (previous) shared.runContexts.set(runId, previous);
          else shared.runContexts.delete(runId);
        }
        shared.safely(() => span.end());
      }
    },
    safely(record) {
      try {
        record();
      } catch (error) {
        api.diag.error('[loopwork:otel] recording telemetry failed; the run goes on', error);
      }
    },
  };
  return {
    specificationVersion: 'loopwork.instrumentation.v1',
    ...agentSpans(shared),
    ...queueSpans(shared),
  };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : String(JSON.stringify(error) ?? error);
}

/**
 * A low-cardinality class of a thrown error for `error.type`: a `ModelError`'s kind, a loopwork
 * error's code, else the class name (`_OTHER` for a plain `Error` or a non-error).
 */
export function errorTypeOf(error: unknown): string {
  if (ModelError.isInstance(error)) return error.kind;
  const value = error as { code?: unknown; name?: unknown } | null;
  if (typeof value === 'object' && value !== null) {
    if (typeof value.code === 'string') return value.code;
    if (typeof value.name === 'string' && value.name !== 'Error') return value.name;
  }
  return '_OTHER';
}
