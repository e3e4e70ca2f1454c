/**
 * The OpenTelemetry adapter: `import { otelInstrumentation } from 'loopwork/otel'`. Traces and
 * metrics following the OpenTelemetry GenAI semantic conventions, from dispatch through the
 * worker's attempt to each model and tool call, as one trace. `@opentelemetry/api` (1.9 or
 * later 1.x) is an optional peer dependency, loaded only when `otelInstrumentation()` is called.
 *
 * @packageDocumentation
 */

export {
  METRIC_AGENT_COST,
  METRIC_AGENT_RUNS,
  METRIC_TASK_ATTEMPTS,
  METRIC_TASK_QUEUE_WAIT,
} from './instruments';
export type { OtelInstrumentationOptions } from './otel-instrumentation';
export { OTEL_SCOPE_NAME, otelInstrumentation } from './otel-instrumentation';
export type { OtelApi } from './peers';
