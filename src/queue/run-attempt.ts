import { toJsonValue } from '../internal/json';
import type { RunRecord } from '../store/run-store';
import { isRetryable, runErrorOf } from './attempt-failure';
import type { Scheduled } from './due-queue';
import { eventAppender } from './event-appender';
import type { AttemptOutcome } from './lifecycle';
import type { ClaimedMessage } from './queue';
import { OutputError, resultFields } from './run-output';
import type { TaskContext, TaskHandler, TaskOutcome } from './task-handler';
import { isOutcome } from './task-handler';
import type { WorkerDeps } from './worker-deps';

/** Why a running attempt's signal was aborted. */
export class Interrupt extends Error {
  constructor(
    readonly kind: 'shutdown' | 'timeout' | 'cancelled' | 'lease_lost' | 'superseded' | 'abandoned',
    message: string,
  ) {
    super(message);
    this.name = 'Interrupt';
  }
}

/** How an attempt ended: an outcome to settle, or a reason to settle nothing. */
export type AttemptEnd =
  | AttemptOutcome
  /** The message's lease was lost: another holder may own it now. */
  | { kind: 'lost' }
  /** The run moved on without this attempt (the watchdog requeued it, another attempt took it). */
  | { kind: 'superseded' }
  /** The worker was abandoned (a simulated crash): leave everything as a dead process would. */
  | { kind: 'abandoned' };

/**
 * Runs one started attempt of a run: the handler under a renewed lease, a heartbeat, the task's
 * timeout and cancel checks. An attempt whose handler does not stop within `abortGraceMs` of its
 * signal is abandoned: its late result is ignored, its `fence` is aborted (so its own writes and
 * `emit`s stop) and the run is settled without it. Rejects only when storing the output fails
 * (the blob store is down): an infrastructure error, which leaves the message for another try.
 * `firstBeatWritten`: the run's first heartbeat is already written (by the claim that started it).
 */
export async function runAttempt(
  message: ClaimedMessage,
  record: RunRecord,
  handler: TaskHandler,
  payload: unknown,
  controller: AbortController,
  deps: WorkerDeps,
  firstBeatWritten = false,
): Promise<AttemptEnd> {
  const { runId } = record;
  const fence = new AbortController();
  const interrupt = (kind: Interrupt['kind'], why: string) => {
    if (!controller.signal.aborted) controller.abort(new Interrupt(kind, why));
  };
  const loseOwnership = (kind: 'lease_lost' | 'superseded', why: string) => {
    interrupt(kind, why);
    fence.abort(controller.signal.reason);
  };

  // Appends run in order; events emitted during an append go together in the next one. A failed
  // append is counted and the next still runs, so a blip of the log costs the events it hit.
  const appender = deps.events ? eventAppender(deps.events, runId) : undefined;
  const emit = (data: unknown) => {
    if (!appender || fence.signal.aborted) return;
    appender.push(toJsonValue(deps.redactor.value(data)));
  };

  const beat = () =>
    deps.heartbeats
      ?.beat(`run:${runId}`, deps.heartbeatTtlMs, { workerId: deps.workerId })
      .catch(deps.report);
  // The queue's claim may have written the first beat with the start (QueueRunSteps.beats).
  if (!firstBeatWritten) void beat();
  // Heartbeats, lease renewals, the time limit and the grace period all go on the worker's one
  // timer (deps.due), not on timers of the attempt's own; heartbeats and renewals in rounds for
  // all the worker's attempts (one call each when the stores can).
  const unbeat = deps.heartbeats ? deps.renewals.beat(runId) : undefined;
  // The lease is renewed with the worker's other attempts' (one call per round when the queue
  // can), and each round reads the run for a cancel request or a run that moved on without us.
  // Once the message or the run is no longer ours, the renewals stop, while the handler winds down.
  const unhold = deps.renewals.hold({
    message,
    runId,
    attempt: record.attempt,
    lost: (why) => {
      loseOwnership('lease_lost', why);
      unhold();
    },
    cancelled: (why) => interrupt('cancelled', why),
    superseded: (why) => {
      loseOwnership('superseded', why);
      unhold();
    },
  });
  const timeout = deps.due.after(handler.task.timeoutMs, () =>
    interrupt(
      'timeout',
      `task "${handler.task.type}" timed out after ${handler.task.timeoutMs} ms`,
    ),
  );

  // Once the signal aborts, for whatever reason, the handler has abortGraceMs to stop.
  let abandonTimer: Scheduled | undefined;
  const abandoned = new Promise<'abandoned'>((resolve) => {
    const start = () => {
      const reason = controller.signal.reason as Interrupt | undefined;
      if (reason?.kind === 'abandoned') return resolve('abandoned');
      abandonTimer = deps.due.after(deps.abortGraceMs, () => resolve('abandoned'));
    };
    if (controller.signal.aborted) start();
    else controller.signal.addEventListener('abort', start, { once: true });
  });

  const context: TaskContext = {
    runId,
    attempt: record.attempt,
    maxAttempts: record.maxAttempts,
    deliveryCount: message.deliveryCount,
    workerId: deps.workerId,
    signal: controller.signal,
    fence: fence.signal,
    emit,
  };
  type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };
  const running: Promise<Settled> = Promise.resolve()
    .then(() => handler.run(payload, context))
    .then(
      (value) => ({ ok: true, value }),
      (error: unknown) => ({ ok: false, error }),
    );
  const settled = await Promise.race([running, abandoned]);
  unbeat?.();
  unhold();
  timeout.cancel();
  abandonTimer?.cancel();
  const reason = controller.signal.aborted ? (controller.signal.reason as Interrupt) : undefined;
  if (settled === 'abandoned') fence.abort(reason);
  if (reason?.kind === 'abandoned') return { kind: 'abandoned' };
  // The events the handler emitted come before the worker's own (task-finished is the last).
  if (appender) {
    await boundedWait(appender.flushed(), deps.abortGraceMs);
    if (appender.lost.count > 0) deps.report(lostEvents(runId, appender.lost));
  }
  fence.abort(reason ?? ATTEMPT_ENDED);
  if (reason?.kind === 'lease_lost') return { kind: 'lost' };
  if (reason?.kind === 'superseded') return { kind: 'superseded' };
  // Once the signal aborted, the interrupt decides how the attempt ended, not the handler's
  // return: a handler that returns early on abort has not finished its work.
  if (!reason && settled !== 'abandoned' && settled.ok) return returned(runId, settled.value, deps);
  const why =
    settled === 'abandoned'
      ? `${reason?.message ?? 'interrupted'}; the handler did not stop within abortGraceMs (${deps.abortGraceMs} ms) and was abandoned`
      : undefined;
  switch (reason?.kind) {
    case 'cancelled':
      return { kind: 'cancelled' };
    case 'shutdown':
      return { kind: 'released' };
    case 'timeout':
      return {
        kind: 'failed',
        error: { code: 'timeout', message: why ?? reason.message },
        retryable: true,
        timedOut: true,
      };
    default: {
      const error = (settled as { error: unknown }).error;
      return {
        kind: 'failed',
        error: runErrorOf(error, deps.redactor),
        retryable: isRetryable(error),
        timedOut: false,
      };
    }
  }
}

/** The outcome of a handler that resolved with `value` (a plain output, or an `outcome()`). */
async function returned(runId: string, value: unknown, deps: WorkerDeps): Promise<AttemptOutcome> {
  const ending: TaskOutcome = isOutcome(value)
    ? value
    : ({ status: 'completed', output: value } as TaskOutcome);
  let result: Awaited<ReturnType<typeof resultFields>>;
  try {
    result = await resultFields(runId, ending, deps);
  } catch (error) {
    if (!(error instanceof OutputError)) throw error;
    return {
      kind: 'failed',
      error: { code: 'invalid_output', message: error.message },
      retryable: false,
      timedOut: false,
    };
  }
  if (ending.status !== 'failed') return { kind: 'returned', status: ending.status, result };
  return {
    kind: 'failed',
    error: runErrorOf(ending.error, deps.redactor),
    retryable: ending.retryable ?? true,
    timedOut: false,
    result,
  };
}

/**
 * The reason a normally ended attempt's fence is aborted with: an `AbortError`, as `abort()`
 * gives, made once. Building one per task (a DOMException and its stack trace) was about a tenth
 * of the worker's CPU time per task in a profile of bench/queue.ts.
 */
const ATTEMPT_ENDED = (() => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new DOMException('the attempt has ended', 'AbortError');
  } finally {
    Error.stackTraceLimit = limit;
  }
})();

/** Waits for `promise`, at most `ms`. */
async function boundedWait(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** One report for every event of an attempt the log refused, with the first failure as cause. */
function lostEvents(runId: string, failed: { count: number; first: unknown }): Error {
  const first = failed.first instanceof Error ? failed.first.message : String(failed.first);
  return new Error(
    `[loopwork:worker] ${failed.count} event(s) of run "${runId}" could not be appended to the event log; the first failure: ${first}`,
    { cause: failed.first },
  );
}
