import type { StandardSchemaV1 } from '../agent/standard-schema';
import { InvalidOptionError, InvalidPayloadError } from '../errors';
import type { TraceCarrier } from '../instrumentation/instrumentation';
import { describeIssues } from '../internal/describe-issues';
import { TASK_DEFAULTS } from './defaults';
import type { Priority } from './queue';

/** A kind of work: its payload schema, where it is queued, and how long and how often it may run. */
export interface TaskDefinition<Payload = unknown> {
  /** Unique name, carried in every message. */
  readonly type: string;
  /** Validates payloads at dispatch and again on the worker. */
  readonly payload: StandardSchemaV1<unknown, Payload>;
  /** Queue the task is routed to; workers for this task claim from it. */
  readonly queue: string;
  /** An attempt taking longer is aborted and counts as a failed attempt (`timed_out` once none is left). */
  readonly timeoutMs: number;
  /** Attempts a run may start (its first run, retries after failures and after crashed workers) before giving up. */
  readonly maxAttempts: number;
  /** Delay before the retry after failed attempt `attempt` (1-based). */
  retryDelayMs(attempt: number): number;
  /** Default priority of dispatches. */
  readonly priority: Priority;
}

/** Options of {@link defineTask}; only `type` and `payload` are required. */
export interface TaskOptions<Schema extends StandardSchemaV1> {
  type: string;
  payload: Schema;
  /** @defaultValue `loopwork:tasks:<type>` */
  queue?: string;
  /** @defaultValue TASK_DEFAULTS.timeoutMs (30 minutes) */
  timeoutMs?: number;
  /** @defaultValue TASK_DEFAULTS.maxAttempts (3) */
  maxAttempts?: number;
  /** Exponential backoff between attempts, doubling from `minDelayMs`. @defaultValue TASK_DEFAULTS.retryBackoff */
  retryBackoff?: { minDelayMs: number; maxDelayMs: number };
  /** @defaultValue TASK_DEFAULTS.priority ('normal') */
  priority?: Priority;
}

const TYPE_PATTERN = /^[a-zA-Z0-9][\w.:-]{0,99}$/;

/**
 * Defines a task type. Share the definition between dispatchers and workers: it is the single
 * source of truth for the payload shape, routing and retry policy.
 *
 * @example
 * ```ts
 * export const summarize = defineTask({
 *   type: 'summarize',
 *   payload: z.object({ url: z.string().url() }),
 *   timeoutMs: 5 * 60_000,
 * });
 * ```
 */
export function defineTask<Schema extends StandardSchemaV1>(
  options: TaskOptions<Schema>,
): TaskDefinition<StandardSchemaV1.InferOutput<Schema>> {
  if (typeof options.type !== 'string' || !TYPE_PATTERN.test(options.type)) {
    throw new InvalidOptionError(
      `type must be 1-100 letters, digits or "_.:-" starting with a letter or digit, got ${JSON.stringify(options.type)}`,
    );
  }
  if (typeof options.payload?.['~standard']?.validate !== 'function') {
    throw new InvalidOptionError(`payload of task "${options.type}" must be a zod schema`);
  }
  const { minDelayMs, maxDelayMs } = options.retryBackoff ?? TASK_DEFAULTS.retryBackoff;
  for (const [name, value] of Object.entries({
    timeoutMs: options.timeoutMs,
    maxAttempts: options.maxAttempts,
  })) {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new InvalidOptionError(
        `${name} of task "${options.type}" must be a positive integer, got ${value}`,
      );
    }
  }
  // Unchecked, these broke silently later: NaN retry delays, unsortable priorities, no queue.
  for (const [name, value] of Object.entries({ minDelayMs, maxDelayMs })) {
    if (!(Number.isInteger(value) && value >= 0)) {
      throw new InvalidOptionError(
        `retryBackoff.${name} of task "${options.type}" must be a non-negative integer, got ${value}`,
      );
    }
  }
  if (minDelayMs > maxDelayMs) {
    throw new InvalidOptionError(
      `retryBackoff.minDelayMs of task "${options.type}" must not exceed maxDelayMs (${minDelayMs} > ${maxDelayMs})`,
    );
  }
  assertPriority(options.priority, `priority of task "${options.type}"`);
  if (options.queue !== undefined && (typeof options.queue !== 'string' || options.queue === '')) {
    throw new InvalidOptionError(
      `queue of task "${options.type}" must be a non-empty string, got ${JSON.stringify(options.queue)}`,
    );
  }
  return {
    type: options.type,
    payload: options.payload as StandardSchemaV1<unknown, StandardSchemaV1.InferOutput<Schema>>,
    queue: options.queue ?? `${TASK_DEFAULTS.queuePrefix}${options.type}`,
    timeoutMs: options.timeoutMs ?? TASK_DEFAULTS.timeoutMs,
    maxAttempts: options.maxAttempts ?? TASK_DEFAULTS.maxAttempts,
    retryDelayMs: (attempt) => Math.min(maxDelayMs, minDelayMs * 2 ** (attempt - 1)),
    priority: options.priority ?? TASK_DEFAULTS.priority,
  };
}

/** Throws {@link InvalidOptionError} unless `value` is undefined or a {@link Priority}. */
export function assertPriority(value: unknown, name: string): void {
  if (value !== undefined && value !== 'high' && value !== 'normal' && value !== 'low') {
    throw new InvalidOptionError(
      `${name} must be 'high', 'normal' or 'low', got ${JSON.stringify(value)}`,
    );
  }
}

/** Validates a payload against its task's schema; throws {@link InvalidPayloadError} naming the field. */
export async function parsePayload<Payload>(
  task: TaskDefinition<Payload>,
  payload: unknown,
): Promise<Payload> {
  const result = await task.payload['~standard'].validate(payload);
  if (result.issues) {
    throw new InvalidPayloadError(
      `payload of task "${task.type}" is invalid: ${describeIssues(result.issues)}`,
    );
  }
  return result.value;
}

/** The JSON body of every task message. */
export interface TaskEnvelope {
  /** Envelope format version (1 also carried an `attempt`, now kept on the run record only). */
  v: 2;
  type: string;
  runId: string;
  payload: unknown;
  dispatchedAt: number;
  /**
   * Trace context of the dispatch (W3C `traceparent`, `tracestate`), set by an instrumentation
   * such as `loopwork/otel`. Optional: envelopes without it, or with a malformed one, still parse.
   */
  trace?: TraceCarrier;
}

/** Largest trace context kept from a message: W3C headers are far smaller. */
const MAX_TRACE_ENTRIES = 8;
const MAX_TRACE_CHARS = 1024;

/**
 * The trace context of a message, when it is a small object of strings; anything else is dropped,
 * not refused: broken telemetry must never dead-letter a task (promise 4 is about the payload).
 */
function traceOf(value: unknown): TraceCarrier | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  if (entries.length === 0 || entries.length > MAX_TRACE_ENTRIES) return undefined;
  for (const [key, text] of entries) {
    if (typeof text !== 'string' || key.length + text.length > MAX_TRACE_CHARS) return undefined;
  }
  return Object.fromEntries(entries) as TraceCarrier;
}

/** Reads a message body (format 2, or 1 from an older dispatcher); throws an Error saying what is malformed. */
export function parseEnvelope(body: string): TaskEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    // The parser's message quotes the start of the body: keep only where it went wrong.
    const at = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new Error(
      `body is not JSON (${at === undefined ? 'unparseable' : `unexpected input at position ${at}`}, ${body.length} characters)`,
    );
  }
  const envelope = value as (Partial<Omit<TaskEnvelope, 'v'>> & { v?: unknown }) | null;
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope))
    throw new Error('body is not a JSON object');
  if (envelope.v !== 1 && envelope.v !== 2)
    throw new Error(`unsupported envelope version ${JSON.stringify(envelope.v) ?? 'undefined'}`);
  if (typeof envelope.type !== 'string') throw new Error('envelope has no string "type"');
  if (typeof envelope.runId !== 'string' || envelope.runId === '')
    throw new Error('envelope has no "runId"');
  const parsed: TaskEnvelope = {
    v: 2,
    type: envelope.type,
    runId: envelope.runId,
    payload: envelope.payload,
    dispatchedAt: typeof envelope.dispatchedAt === 'number' ? envelope.dispatchedAt : 0,
  };
  const trace = traceOf(envelope.trace);
  if (trace) parsed.trace = trace;
  return parsed;
}
