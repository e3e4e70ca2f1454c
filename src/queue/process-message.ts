import { LeaseLostError, LoopworkError } from '../errors';
import type { Redactor } from '../secrets/redact';
import type { EventLog } from '../store/event-log';
import type { HeartbeatStore } from '../store/heartbeat-store';
import type { RunStore } from '../store/run-store';
import type { ClaimedMessage, Queue } from './queue';
import { parseEnvelope, parsePayload, type TaskEnvelope } from './task';
import type { TaskEvent } from './task-events';
import type { JobOutcome, TaskContext, TaskHandler, TaskOutcome } from './task-handler';

/** What {@link processMessage} works with: the worker's stores, handlers and settings, resolved. */
export interface ProcessMessageDeps {
  queue: Queue;
  runs: RunStore;
  /** Where runs beat; the watchdog reads them. */
  heartbeats: HeartbeatStore | undefined;
  /** Where `context.emit` and the task events go. */
  events: EventLog | undefined;
  /** Handlers by task type. */
  handlers: ReadonlyMap<string, TaskHandler>;
  /** The worker's id: the run's `workerId` and the handler's `context.workerId`. */
  workerId: string;
  /** Lease per claim, renewed every third of it while a task runs. */
  leaseMs: number;
  /** Heartbeat time to live; beats are sent every third of it. */
  heartbeatTtlMs: number;
  redactor: Redactor;
  /** Called with errors survived (a store that failed, a lost lease), secrets already hidden. */
  onError: (error: unknown) => void;
}

/** Why a running task's controller was aborted. */
export class Interrupt extends Error {
  constructor(
    readonly kind: 'shutdown' | 'timeout' | 'lease_lost' | 'abandoned',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Processes one claimed message to its end and says how it ended; `controller` is aborted with an
 * {@link Interrupt} to cut the task short.
 *
 * Parse and validate (a malformed message is dead-lettered once, with its reason), fence out stale
 * deliveries by the run's attempt, mark the run running, then run the handler under a renewed
 * lease, a heartbeat and the task's timeout. Success acks; failure releases for a retry with
 * backoff until `maxAttempts` deliveries, then marks the run failed.
 */
export async function processMessage(
  message: ClaimedMessage,
  controller: AbortController,
  deps: ProcessMessageDeps,
): Promise<JobOutcome> {
  let envelope: TaskEnvelope;
  try {
    envelope = parseEnvelope(message.body);
  } catch (error) {
    await deps.queue.deadLetter(message, `malformed message: ${(error as Error).message}`);
    return 'dead_lettered';
  }
  const handler = deps.handlers.get(envelope.type);
  if (!handler)
    return deadLetterRun(
      message,
      envelope,
      `unknown task type "${envelope.type}" on queue "${message.queue}"`,
      deps,
    );
  let payload: unknown;
  try {
    payload = await parsePayload(handler.task, envelope.payload);
  } catch (error) {
    return deadLetterRun(message, envelope, (error as Error).message, deps);
  }
  const take = () =>
    deps.runs.transition(envelope.runId, {
      from: ['queued', 'running', 'waiting_input'],
      to: 'running',
      attempt: envelope.attempt,
      set: { workerId: deps.workerId },
    });
  // The common case in one round trip: the run is still this attempt's and open, so take it.
  // Only when that fails is the record read, to tell a leftover delivery from a lost run.
  if (message.deliveryCount <= handler.task.maxAttempts && (await take()))
    return execute(message, envelope, handler, payload, controller, deps);
  const record = await deps.runs.get(envelope.runId);
  if (!record)
    return deadLetterRun(message, envelope, `no run record for run "${envelope.runId}"`, deps);
  const terminal =
    record.status === 'completed' ||
    record.status === 'failed' ||
    record.status === 'dead_lettered';
  if (record.attempt > envelope.attempt || (terminal && record.attempt === envelope.attempt)) {
    // A leftover delivery: the run moved on (re-dispatched) or already ended. Drop it.
    await deps.queue.ack(message);
    return 'duplicate';
  }
  if (message.deliveryCount > handler.task.maxAttempts) {
    return deadLetterRun(
      message,
      envelope,
      `delivered ${message.deliveryCount} times without finishing (maxAttempts ${handler.task.maxAttempts}); did the worker die each time?`,
      deps,
    );
  }
  const claimed = await deps.runs.transition(envelope.runId, {
    from: ['queued', 'running', 'waiting_input'],
    to: 'running',
    attempt: envelope.attempt,
    set: { workerId: deps.workerId },
  });
  if (!claimed) {
    await deps.queue.ack(message);
    return 'duplicate';
  }
  return execute(message, envelope, handler, payload, controller, deps);
}

async function execute(
  message: ClaimedMessage,
  envelope: TaskEnvelope,
  handler: TaskHandler,
  payload: unknown,
  controller: AbortController,
  deps: ProcessMessageDeps,
): Promise<JobOutcome> {
  const { runId } = envelope;
  let appends = Promise.resolve();
  const emit = (data: unknown) => {
    const log = deps.events;
    if (!log) return;
    appends = appends.then(() => log.append(runId, deps.redactor.value(data)).then(() => {}));
    // Reported once the handler ends (`appends.catch(deps.onError)` below); until then a failed
    // append (the store down longer than its client retries) must not be an unhandled
    // rejection, which ends a Node process.
    appends.catch(() => {});
  };
  const beat = () =>
    deps.heartbeats
      ?.beat(`run:${runId}`, deps.heartbeatTtlMs, { workerId: deps.workerId })
      .catch(deps.onError);
  // Not awaited: the watchdog reads a run's heartbeat only once the run has not been updated for
  // runningTimeoutMs, and the transition to running just updated it.
  void beat();
  const heartbeat = setInterval(beat, deps.heartbeatTtlMs / 3);
  const renew = setInterval(() => {
    deps.queue.extend(message, deps.leaseMs).catch((error) => {
      if (LeaseLostError.isInstance(error))
        controller.abort(new Interrupt('lease_lost', error.message));
      else deps.onError(error);
    });
  }, deps.leaseMs / 3);
  const timeout = setTimeout(
    () =>
      controller.abort(
        new Interrupt(
          'timeout',
          `task "${handler.task.type}" timed out after ${handler.task.timeoutMs} ms`,
        ),
      ),
    handler.task.timeoutMs,
  );
  const context: TaskContext = {
    runId,
    attempt: envelope.attempt,
    deliveryCount: message.deliveryCount,
    workerId: deps.workerId,
    signal: controller.signal,
    emit,
  };
  let outcome: TaskOutcome | undefined;
  let failure: unknown;
  try {
    outcome = (await handler.run(payload, context)) ?? undefined;
  } catch (error) {
    failure = error;
  } finally {
    clearInterval(heartbeat);
    clearInterval(renew);
    clearTimeout(timeout);
  }
  const interrupt = controller.signal.aborted ? (controller.signal.reason as Interrupt) : undefined;
  if (interrupt?.kind === 'abandoned') return 'interrupted';
  await appends.catch(deps.onError);
  if (interrupt?.kind === 'lease_lost') return 'lease_lost';
  if (interrupt?.kind === 'shutdown') {
    await deps.runs.transition(runId, {
      from: ['running'],
      to: 'queued',
      attempt: envelope.attempt,
      set: { reason: 'worker shut down; released' },
    });
    await deps.queue.release(message);
    return 'interrupted';
  }
  // Each ending below is recorded only if the run is still this attempt's: when the watchdog
  // re-dispatched it meanwhile, it belongs to the new attempt, and this delivery is a leftover
  // that must neither end it nor append a task-finished its stream would stop at.
  const superseded = async () => {
    await deps.queue.ack(message);
    return 'duplicate' as const;
  };
  if (failure === undefined && !interrupt) {
    const status = outcome?.status ?? 'completed';
    const note = outcome?.note === undefined ? undefined : deps.redactor.string(outcome.note);
    const ended = await deps.runs.transition(runId, {
      from: ['running'],
      to: status,
      attempt: envelope.attempt,
      ...(note === undefined ? {} : { set: { reason: note } }),
    });
    if (!ended) return superseded();
    await finalEvent(
      runId,
      {
        type: 'task-finished',
        runId,
        status,
        ...(note === undefined ? {} : { reason: note }),
      },
      deps,
    );
    await deps.queue.ack(message);
    return status;
  }
  // A failure may come from being cut off from the queue longer than the lease (a Redis
  // outage): another worker may have taken the task over meanwhile, at the same attempt.
  // Requeueing or failing the run would pull it from under that worker, so first make sure
  // this delivery is still ours (and keep it ours while the run is written).
  try {
    await deps.queue.extend(message, deps.leaseMs);
  } catch (error) {
    if (LeaseLostError.isInstance(error)) return 'lease_lost';
    throw error;
  }
  const reason = deps.redactor.string(interrupt?.message ?? describeFailure(failure));
  // A loopwork error that says it is not retryable (bad auth, a prompt over the context window,
  // a bad option) fails the run now. A conflict is the exception: it is a concurrent writer of
  // the same state (a superseded delivery still running), and a later attempt continues from
  // the winner's checkpoint.
  const permanent =
    LoopworkError.isInstance(failure) && !failure.retryable && failure.code !== 'conflict';
  if (!permanent && message.deliveryCount < handler.task.maxAttempts) {
    const requeued = await deps.runs.transition(runId, {
      from: ['running'],
      to: 'queued',
      attempt: envelope.attempt,
      set: { reason },
    });
    if (!requeued) return superseded();
    await deps.queue.release(message, {
      delayMs: handler.task.retryDelayMs(message.deliveryCount),
    });
    return 'retrying';
  }
  const failed = await deps.runs.transition(runId, {
    from: ['running'],
    to: 'failed',
    attempt: envelope.attempt,
    set: { reason },
  });
  if (!failed) return superseded();
  await finalEvent(runId, { type: 'task-finished', runId, status: 'failed', reason }, deps);
  await deps.queue.ack(message);
  return 'failed';
}

async function deadLetterRun(
  message: ClaimedMessage,
  envelope: TaskEnvelope,
  unsafeReason: string,
  deps: ProcessMessageDeps,
): Promise<JobOutcome> {
  const reason = deps.redactor.string(unsafeReason);
  await deps.queue.deadLetter(message, reason);
  const moved = await deps.runs.transition(envelope.runId, {
    from: ['queued', 'running', 'waiting_input'],
    to: 'dead_lettered',
    set: { reason },
  });
  if (moved)
    await finalEvent(
      envelope.runId,
      {
        type: 'task-finished',
        runId: envelope.runId,
        status: 'dead_lettered',
        reason,
      },
      deps,
    );
  return 'dead_lettered';
}

async function finalEvent(runId: string, data: TaskEvent, deps: ProcessMessageDeps): Promise<void> {
  await deps.events?.append(runId, data).catch(deps.onError);
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
