import type { Usage } from '../model/usage';
import type { TaskDefinition } from './task';

/** What a task handler receives besides its payload. */
export interface TaskContext {
  runId: string;
  /** The run's attempt: 1 on its first start, +1 each time it is started again. */
  attempt: number;
  /** Attempts the run may start in all. */
  maxAttempts: number;
  /** How many times this message has been delivered (1 on the first try). */
  deliveryCount: number;
  workerId: string;
  /**
   * Aborted when the attempt must stop: its timeout, a cancel request, a lost lease or a
   * shutdown. Stop promptly and leave your state checkpointed; the worker waits `abortGraceMs`,
   * then abandons the handler.
   */
  signal: AbortSignal;
  /**
   * Aborted once this attempt no longer owns the run (abandoned after `abortGraceMs`, its lease
   * lost, taken over by another worker). Check it before each write of your own
   * (`context.fence.throwIfAborted()`): a write after it would land on a run that moved on.
   */
  fence: AbortSignal;
  /** Appends to the run's event log (a no-op without one, and once `fence` is aborted); appends keep their order. */
  emit(data: unknown): void;
}

/** Statuses a handler may end its run with through {@link outcome}. */
export type OutcomeStatus =
  | 'completed'
  | 'max_turns'
  | 'budget_exceeded'
  | 'waiting_input'
  | 'timed_out'
  | 'failed';

/** What {@link outcome} takes. */
export interface OutcomeInit<Output = unknown> {
  status: OutcomeStatus;
  /** Kept on the run record as `output` (JSON; over the worker's `maxOutputBytes` it goes to the blob store). */
  output?: Output;
  /** Tokens the run used, kept on the record. */
  usage?: Usage;
  /** Cost in USD, kept on the record. */
  costUsd?: number;
  /** With `budget_exceeded`: which budget stopped it. */
  budget?: string;
  /** With `failed`: what went wrong (an Error, or anything thrown). */
  error?: unknown;
  /** With `failed`: whether another attempt may succeed (the task's `maxAttempts` still applies). @defaultValue true */
  retryable?: boolean;
}

const OUTCOME = Symbol.for('loopwork.outcome');

/** A handler's ending other than a plain return value; made by {@link outcome}. */
export interface TaskOutcome<Output = unknown> extends OutcomeInit<Output> {
  readonly [OUTCOME]: true;
}

/**
 * Ends a run with a status other than `completed`, or with usage and cost on its record. A
 * handler that simply returns a value completes with that value as its output.
 *
 * @example
 * ```ts
 * handleTask(crawl, async ({ url }) => {
 *   const pages = await fetchAll(url);
 *   if (pages.length === 0) return outcome({ status: 'failed', error: 'nothing to crawl', retryable: false });
 *   return outcome({ status: 'completed', output: { pages: pages.length }, costUsd: 0.02 });
 * });
 * ```
 */
export function outcome<Output>(init: OutcomeInit<Output>): TaskOutcome<Output> {
  return { ...init, [OUTCOME]: true };
}

/** True for a value made by {@link outcome} (also across copies of the package). */
export function isOutcome(value: unknown): value is TaskOutcome {
  return typeof value === 'object' && value !== null && OUTCOME in value;
}

/** A task type with the function that runs it. Create one with {@link handleTask}. */
export interface TaskHandler<Payload = unknown, Output = unknown> {
  readonly task: TaskDefinition<Payload>;
  /** Resolves with the run's output (or an {@link outcome}); anything else — a rejection with any value — is a failed attempt. */
  run(payload: Payload, context: TaskContext): Promise<Output | TaskOutcome<Output>>;
}

/** Binds a function to a task definition, typing its payload from the schema. */
export function handleTask<Payload, Output = unknown>(
  task: TaskDefinition<Payload>,
  run: TaskHandler<Payload, Output>['run'],
): TaskHandler<Payload, Output> {
  return { task, run };
}

/** How one claimed message ended on this worker. */
export type JobOutcome =
  | 'completed'
  | 'max_turns'
  | 'budget_exceeded'
  | 'waiting_input'
  | 'retrying'
  | 'failed'
  | 'timed_out'
  | 'cancelled'
  | 'dead_lettered'
  | 'interrupted'
  | 'duplicate'
  | 'lease_lost'
  | 'error'
  | 'idle';

/**
 * Exit codes of job mode, one per outcome, so a scheduler can tell how a job ended: 0 when the
 * work is done (or there was nothing to do), non-zero otherwise; 75 (`EX_TEMPFAIL`) when the
 * worker's own infrastructure failed (a store or queue error) and the message was left for
 * another try.
 */
export const JOB_EXIT_CODES: Readonly<Record<JobOutcome, number>> = {
  completed: 0,
  max_turns: 0,
  budget_exceeded: 0,
  waiting_input: 0,
  duplicate: 0,
  idle: 0,
  failed: 1,
  dead_lettered: 2,
  retrying: 3,
  interrupted: 4,
  lease_lost: 5,
  cancelled: 6,
  timed_out: 7,
  error: 75,
};
