import { randomUUID } from 'node:crypto';
import { ConflictError, InvalidOptionError, InvalidPayloadError } from '../errors';
import { assertInstrumentation } from '../instrumentation/assert-instrumentation';
import type { Instrumentation, TraceCarrier } from '../instrumentation/instrumentation';
import { type RedactOptions, type Redactor, resolveRedactor } from '../secrets/redact';
import type { EventLog } from '../store/event-log';
import type { RunRecord, RunRecordStatus, RunStore } from '../store/run-store';
import { DISPATCHER_DEFAULTS } from './defaults';
import { jointSteps } from './joint-steps';
import { judgeCancel } from './lifecycle';
import type { DeadLetter, EnqueueOptions, Priority, Queue } from './queue';
import { type RedriveResult, redriveLetter } from './redrive';
import { assertPriority, parsePayload, type TaskDefinition, type TaskEnvelope } from './task';
import { finishedEvent } from './task-events';

/** Options of {@link createDispatcher}. */
export interface DispatcherOptions {
  queue: Queue;
  runs: RunStore;
  /** Where a `task-finished` event is appended when a queued run is cancelled. */
  events?: EventLog;
  /** Largest payload accepted, as JSON bytes. @defaultValue DISPATCHER_DEFAULTS.maxPayloadBytes (1 MiB) */
  maxPayloadBytes?: number;
  /** Secrets hidden from the errors it throws (a payload's field names are quoted in them); `false` turns it off. */
  redact?: RedactOptions | Redactor | false;
  /**
   * Wraps each enqueue of a dispatch and puts the trace context it gives into the message, so the
   * worker's attempt continues the dispatcher's trace (`otelInstrumentation()` from `loopwork/otel`).
   */
  instrumentation?: Instrumentation;
}

/** Options of {@link Dispatcher.dispatch}. */
export interface DispatchOptions {
  /**
   * Your id for the run, and the dispatch's idempotency key: dispatching the same id again is a
   * no-op that returns the first (so a caller may safely retry a dispatch). @defaultValue a UUID
   */
  runId?: string;
  /** @defaultValue the task's priority */
  priority?: Priority;
  /** Not claimable before this many milliseconds. */
  delayMs?: number;
  /** Runs of one group (for example one conversation) execute one at a time, in order. */
  groupId?: string;
}

/** What a dispatch did. */
export interface DispatchResult {
  runId: string;
  /** True when a run with this id already existed, so nothing was enqueued. */
  deduplicated: boolean;
}

/** What a cancel did. */
export interface CancelResult {
  runId: string;
  /**
   * `cancelled`: the run was queued and ended at once; `requested`: it is running, and its worker
   * aborts it at its next lease renewal; `finished`: it had already ended (`status` says how);
   * `unknown`: there is no such run.
   */
  outcome: 'cancelled' | 'requested' | 'finished' | 'unknown';
  /** The run's status after the call. */
  status?: RunRecordStatus;
}

/** Validates payloads, records runs and enqueues them; cancels them. */
export interface Dispatcher {
  /** Validates `payload` (throws `InvalidPayloadError` naming the field), records the run as queued, enqueues it. */
  dispatch<Payload>(
    task: TaskDefinition<Payload>,
    payload: Payload,
    options?: DispatchOptions,
  ): Promise<DispatchResult>;
  /**
   * Enqueues a recorded run again (the watchdog's recovery of a lost message). Where the queue
   * deduplicates, a run whose message is still queued gets no second one.
   */
  enqueueRun(
    task: TaskDefinition,
    record: RunRecord,
    options?: { delayMs?: number },
  ): Promise<void>;
  /**
   * Cancels a run from any process: a queued run ends `cancelled` now and never starts; a running
   * one has its signal aborted by its worker within one lease-renewal interval and ends
   * `cancelled`. Idempotent: a finished run is left as it is.
   */
  cancel(runId: string, reason?: string): Promise<CancelResult>;
  /**
   * Gives a dead letter's work another chance (`loopwork dead-letters redrive`). Pass the letter
   * as `queue.deadLetters()` returns it. A dead-lettered run stays as it ended; a new run with the
   * same payload, group and priority is dispatched onto the letter's queue, linked to it by
   * `redrivenFrom`; its id is derived from the letter, so repeating a redrive creates no second
   * run. A letter whose run never ended is enqueued again as that run. Only then is the letter
   * removed. A letter that is no task message, or whose run ended otherwise (a leftover copy), is
   * skipped and stays. Needs a queue with `removeDeadLetter`.
   */
  redrive(letter: DeadLetter): Promise<RedriveResult>;
}

/**
 * Creates a dispatcher. The run record is written before the message, so a crash in between
 * leaves a queued run with no message, which the watchdog enqueues again: nothing is lost.
 *
 * @example
 * ```ts
 * const dispatcher = createDispatcher({ queue, runs, events });
 * const { runId } = await dispatcher.dispatch(summarize, { url: 'https://example.com' });
 * await dispatcher.cancel(runId, 'the user closed the tab');
 * ```
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { queue, runs } = options;
  const redactor = resolveRedactor(options.redact);
  const maxPayloadBytes = options.maxPayloadBytes ?? DISPATCHER_DEFAULTS.maxPayloadBytes;
  if (!(Number.isInteger(maxPayloadBytes) && maxPayloadBytes > 0)) {
    throw new InvalidOptionError(
      `maxPayloadBytes must be a positive integer, got ${JSON.stringify(maxPayloadBytes)}`,
    );
  }
  const { instrumentation } = options;
  assertInstrumentation(instrumentation);
  /** Enqueues a message (see Queue.enqueue). */
  type Put = (
    queue: string,
    body: string,
    options: EnqueueOptions,
  ) => Promise<{ id: string; deduplicated: boolean }>;
  /** Where a run's message goes: its task's queue, or for a redrive the letter's queue. */
  type Route = Pick<TaskDefinition, 'type' | 'queue'> & { priority?: Priority };
  const joint = jointSteps(queue, runs);
  /** The run's message: its queue, body and options. */
  const messageOf = (
    task: Route,
    record: RunRecord,
    delayMs: number | undefined,
    trace?: TraceCarrier,
  ): [queue: string, body: string, options: EnqueueOptions] => {
    const envelope: TaskEnvelope = {
      v: 2,
      type: task.type,
      runId: record.runId,
      payload: record.payload,
      dispatchedAt: Date.now(),
      ...(trace && Object.keys(trace).length > 0 ? { trace } : {}),
    };
    const { capabilities } = queue;
    return [
      task.queue,
      JSON.stringify(envelope),
      {
        priority: record.priority ?? task.priority ?? 'normal',
        // While the run's message is still queued, enqueueing it again adds nothing.
        ...(capabilities.dedupe ? { dedupeId: record.runId } : {}),
        ...(delayMs === undefined || delayMs <= 0 ? {} : { delayMs }),
        ...(record.groupId === undefined ? {} : { groupId: record.groupId }),
      },
    ];
  };
  const enqueue = (task: Route, record: RunRecord, delayMs: number | undefined) =>
    queue.enqueue(...messageOf(task, record, delayMs));

  /** Errors leave through the redactor: their messages quote field names, ids and store errors. */
  const hidden = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw redactor.error(error);
    }
  };

  const dispatcher: Dispatcher = {
    dispatch: (task, payload, dispatchOptions) =>
      hidden(() => dispatch(task, payload, dispatchOptions)),
    enqueueRun: (task, record, enqueueOptions) =>
      hidden(() => enqueue(task, record, enqueueOptions?.delayMs).then(() => {})),
    cancel: (runId, reason) => hidden(() => cancel(runId, reason)),
    redrive: (letter) =>
      hidden(() =>
        redriveLetter(
          {
            queue,
            runs,
            enqueue: (record, queueName) =>
              enqueueTraced({ type: record.taskType, queue: queueName }, record, undefined),
          },
          letter,
        ),
      ),
  };
  return dispatcher;

  /**
   * Enqueues a recorded run with `put` (the queue's enqueue, or the joint step that records the
   * run with it), inside the instrumentation's dispatch span when there is one.
   */
  async function enqueueTraced(
    route: Route,
    record: RunRecord,
    delayMs: number | undefined,
    put: Put = (...message) => queue.enqueue(...message),
  ) {
    if (!instrumentation?.dispatch) {
      await put(...messageOf(route, record, delayMs));
      return;
    }
    await instrumentation.dispatch(
      { runId: record.runId, taskType: route.type, queue: route.queue },
      async (trace) => {
        await put(...messageOf(route, record, delayMs, trace));
      },
    );
  }

  async function dispatch<Payload>(
    task: TaskDefinition<Payload>,
    payload: Payload,
    dispatchOptions: DispatchOptions = {},
  ): Promise<DispatchResult> {
    assertDispatchOptions(queue, dispatchOptions);
    const { runId, delayMs, groupId, priority } = dispatchOptions;
    const parsed = await parsePayload(task, payload);
    assertSize(task, parsed, maxPayloadBytes);
    const now = Date.now();
    const record: RunRecord = {
      runId: runId ?? randomUUID(),
      taskType: task.type,
      status: 'queued',
      payload: parsed,
      attempt: 0,
      maxAttempts: task.maxAttempts,
      version: 1,
      ...(groupId === undefined ? {} : { groupId }),
      ...(priority === undefined ? {} : { priority }),
      queuedAt: now,
      ...(delayMs ? { availableAt: now + delayMs } : {}),
      updatedAt: now,
    };
    const deduplicated = { runId: record.runId, deduplicated: true };
    if (joint) {
      // The record and its message in one step: a crash cannot leave one without the other.
      const createAndEnqueue: Put = (...message) => joint.createAndEnqueue(record, ...message);
      try {
        await enqueueTraced(task, record, delayMs, createAndEnqueue);
      } catch (error) {
        if (ConflictError.isInstance(error)) return deduplicated;
        throw error;
      }
      return { runId: record.runId, deduplicated: false };
    }
    try {
      await runs.create(record);
    } catch (error) {
      if (ConflictError.isInstance(error)) return deduplicated;
      throw error;
    }
    await enqueueTraced(task, record, delayMs);
    return { runId: record.runId, deduplicated: false };
  }

  async function cancel(runId: string, reason = 'cancelled'): Promise<CancelResult> {
    // A few rounds: each lost compare-and-set means someone moved the run meanwhile; look again.
    for (let round = 0; round < 5; round++) {
      const record = await runs.get(runId);
      if (!record) return { runId, outcome: 'unknown' };
      const verdict = judgeCancel(record, reason, Date.now());
      if (verdict.kind === 'none') {
        const asked = record.cancel !== undefined && record.status === 'running';
        return { runId, outcome: asked ? 'requested' : 'finished', status: record.status };
      }
      const written = await runs.transition(runId, verdict.transition);
      if (!written) continue;
      if (verdict.kind === 'request') return { runId, outcome: 'requested', status: 'running' };
      await options.events?.append(runId, redactor.value(finishedEvent(written)));
      return { runId, outcome: 'cancelled', status: 'cancelled' };
    }
    const record = await runs.get(runId);
    return { runId, outcome: 'finished', ...(record ? { status: record.status } : {}) };
  }
}

/** A string id of at most 256 characters, or InvalidOptionError naming the option. */
function assertId(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value === '' || value.length > 256)) {
    throw new InvalidOptionError(
      `${name} must be a non-empty string of at most 256 characters, got ${String(JSON.stringify(value)).slice(0, 80)}`,
    );
  }
}

/** Checks a dispatch's options before anything is written (an empty run id would be recorded, then dead-lettered). */
function assertDispatchOptions(queue: Queue, options: DispatchOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(
      `dispatch options must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  assertId('runId', options.runId);
  assertId('groupId', options.groupId);
  const { delayMs } = options;
  if (
    delayMs !== undefined &&
    !(typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0)
  ) {
    throw new InvalidOptionError(`delayMs must be a number >= 0, got ${String(delayMs)}`);
  }
  assertPriority(options.priority, 'priority');
  assertSupported(queue, options);
}

/** Refuses a payload larger than the limit before anything is recorded. */
function assertSize(task: TaskDefinition, payload: unknown, maxPayloadBytes: number): void {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (error) {
    throw new InvalidPayloadError(
      `payload of task "${task.type}" cannot be serialized as JSON (${(error as Error).message})`,
    );
  }
  const bytes = Buffer.byteLength(json ?? '');
  if (bytes > maxPayloadBytes) {
    throw new InvalidPayloadError(
      `payload of task "${task.type}" is ${bytes} bytes of JSON, over maxPayloadBytes (${maxPayloadBytes}); put large inputs in a blob store and pass their key`,
    );
  }
}

/**
 * Refuses, before anything is recorded, an option the queue cannot honour: recording the run and
 * then failing to enqueue it would leave a queued run with no message.
 */
function assertSupported(queue: Queue, options: DispatchOptions): void {
  const { capabilities, adapter } = queue;
  const refuse = (option: string, capability: string) => {
    throw new InvalidOptionError(
      `${option} is not supported by the ${adapter} queue (capabilities.${capability} is false)`,
    );
  };
  if (options.groupId !== undefined && !capabilities.groups) refuse('groupId', 'groups');
  if (options.delayMs !== undefined && options.delayMs > 0 && !capabilities.delay)
    refuse('delayMs', 'delay');
  const priority = options.priority;
  if (priority !== undefined && priority !== 'normal' && !capabilities.priority)
    refuse('priority', 'priority');
}
