import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { InvalidOptionError, LeaseLostError, LoopworkError } from '../errors';
import { type RedactOptions, type Redactor, resolveRedactor } from '../secrets/redact';
import type { EventLog } from '../store/event-log';
import type { HeartbeatStore } from '../store/heartbeat-store';
import type { RunStore } from '../store/run-store';
import type { ClaimedMessage, Queue } from './queue';
import { parseEnvelope, parsePayload, type TaskDefinition, type TaskEnvelope } from './task';
import type { TaskEvent } from './task-events';
import type { JobOutcome, TaskContext, TaskHandler, TaskOutcome } from './task-handler';

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  queue: Queue;
  runs: RunStore;
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types share one list.
  handlers: readonly TaskHandler<any>[];
  /** Where the worker and its runs beat; the watchdog reads them. */
  heartbeats?: HeartbeatStore;
  /** Where `context.emit` and the worker's task events go. */
  events?: EventLog;
  /** @defaultValue `<hostname>-<pid>-<random>` */
  id?: string;
  /** Tasks run at once in daemon mode. @defaultValue 1 */
  concurrency?: number;
  /** Lease per claim, renewed every third of it while a task runs. @defaultValue 60000 */
  leaseMs?: number;
  /** Heartbeat time to live; beats are sent every third of it. @defaultValue 90000 */
  heartbeatTtlMs?: number;
  /** Longest wait of one claim call. @defaultValue 5000 */
  pollWaitMs?: number;
  /** Time running tasks get to finish on `stop()` before they are interrupted and released. @defaultValue 30000 */
  shutdownGraceMs?: number;
  /** Called with errors the worker survived (a store that failed, a lost lease), secrets already hidden. @defaultValue console.error */
  onError?: (error: unknown) => void;
  /** Secrets hidden from task events, failure reasons and logged errors (see `createRedactor`); `false` turns it off. */
  redact?: RedactOptions | Redactor | false;
}

/** A worker's vital signs; `lastClaimAt` exposes a worker that is alive but no longer consuming. */
export interface WorkerStats {
  id: string;
  running: number;
  processed: number;
  /** Epoch ms of the last claim that returned a message. */
  lastClaimAt: number | undefined;
  /** Epoch ms of the last claim call that returned (with or without messages). */
  lastPollAt: number | undefined;
}

/** A queue consumer in daemon mode (`run`) or job mode (`runOnce`). */
export interface Worker {
  readonly id: string;
  /** Claims and runs tasks until `stop()`; resolves once every task is settled. */
  run(): Promise<void>;
  /** Job mode: claims one task (waiting up to `waitMs`), runs it, and says how it ended. */
  runOnce(options?: { waitMs?: number }): Promise<JobOutcome>;
  /** Graceful shutdown: stop claiming, let tasks finish within the grace period, then interrupt and release the rest. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Stops at once without settling anything, as if the process died (leases simply run out). For tests and fatal errors. */
  abandon(): void;
  stats(): WorkerStats;
}

class Interrupt extends Error {
  constructor(
    readonly kind: 'shutdown' | 'timeout' | 'lease_lost' | 'abandoned',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Creates a worker for the given task handlers; it claims only from their queues.
 *
 * Per message: parse and validate (a malformed message is dead-lettered once, with its reason),
 * fence out stale deliveries by the run's attempt, mark the run running, then run the handler
 * under a renewed lease, a heartbeat and the task's timeout. Success acks; failure releases for
 * a retry with backoff until `maxAttempts` deliveries, then marks the run failed.
 *
 * @example
 * ```ts
 * const worker = createWorker({ queue, runs, heartbeats, handlers: [handleTask(summarize, run)], concurrency: 4 });
 * stopOnSignals(worker);
 * await worker.run();
 * ```
 */
export function createWorker(options: WorkerOptions): Worker {
  const id = options.id ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const concurrency = options.concurrency ?? 1;
  const leaseMs = options.leaseMs ?? 60_000;
  const heartbeatTtlMs = options.heartbeatTtlMs ?? 90_000;
  const redactor = resolveRedactor(options.redact);
  const report =
    options.onError ?? ((error: unknown) => console.error(`[loopwork:worker ${id}]`, error));
  const onError = (error: unknown) => report(redactor.error(error));
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidOptionError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  if (options.handlers.length === 0)
    throw new InvalidOptionError('handlers must name at least one task');
  const handlers = new Map(
    options.handlers.map((handler) => [handler.task.type, handler as TaskHandler]),
  );
  const queues = [...new Set(options.handlers.map((handler) => handler.task.queue))];
  const stopping = new AbortController();
  const running = new Map<string, { controller: AbortController; done: Promise<JobOutcome> }>();
  const stats: WorkerStats = {
    id,
    running: 0,
    processed: 0,
    lastClaimAt: undefined,
    lastPollAt: undefined,
  };
  let abandoned = false;
  let workerBeat: NodeJS.Timeout | undefined;

  const beatWorker = () =>
    options.heartbeats
      ?.beat(`worker:${id}`, heartbeatTtlMs, {
        running: running.size,
        lastClaimAt: stats.lastClaimAt ?? null,
        lastPollAt: stats.lastPollAt ?? null,
      })
      .catch(onError);

  async function claim(max: number, waitMs: number): Promise<ClaimedMessage[]> {
    const messages = await options.queue.claim(queues, {
      consumer: id,
      leaseMs,
      max,
      waitMs,
      signal: stopping.signal,
    });
    stats.lastPollAt = Date.now();
    if (messages.length > 0) stats.lastClaimAt = stats.lastPollAt;
    return messages;
  }

  function start(message: ClaimedMessage): Promise<JobOutcome> {
    const controller = new AbortController();
    const done = handleMessage(message, controller)
      .catch((error) => {
        onError(error);
        return 'lease_lost' as const;
      })
      .finally(() => {
        running.delete(message.receipt);
        stats.running = running.size;
        stats.processed += 1;
      });
    running.set(message.receipt, { controller, done });
    stats.running = running.size;
    return done;
  }

  async function handleMessage(
    message: ClaimedMessage,
    controller: AbortController,
  ): Promise<JobOutcome> {
    let envelope: TaskEnvelope;
    try {
      envelope = parseEnvelope(message.body);
    } catch (error) {
      await options.queue.deadLetter(message, `malformed message: ${(error as Error).message}`);
      return 'dead_lettered';
    }
    const handler = handlers.get(envelope.type);
    if (!handler)
      return deadLetterRun(
        message,
        envelope,
        `unknown task type "${envelope.type}" on queue "${message.queue}"`,
      );
    let payload: unknown;
    try {
      payload = await parsePayload(handler.task, envelope.payload);
    } catch (error) {
      return deadLetterRun(message, envelope, (error as Error).message);
    }
    const take = () =>
      options.runs.transition(envelope.runId, {
        from: ['queued', 'running', 'waiting_input'],
        to: 'running',
        attempt: envelope.attempt,
        set: { workerId: id },
      });
    // The common case in one round trip: the run is still this attempt's and open, so take it.
    // Only when that fails is the record read, to tell a leftover delivery from a lost run.
    if (message.deliveryCount <= handler.task.maxAttempts && (await take()))
      return execute(message, envelope, handler, payload, controller);
    const record = await options.runs.get(envelope.runId);
    if (!record)
      return deadLetterRun(message, envelope, `no run record for run "${envelope.runId}"`);
    const terminal =
      record.status === 'completed' ||
      record.status === 'failed' ||
      record.status === 'dead_lettered';
    if (record.attempt > envelope.attempt || (terminal && record.attempt === envelope.attempt)) {
      // A leftover delivery: the run moved on (re-dispatched) or already ended. Drop it.
      await options.queue.ack(message);
      return 'duplicate';
    }
    if (message.deliveryCount > handler.task.maxAttempts) {
      return deadLetterRun(
        message,
        envelope,
        `delivered ${message.deliveryCount} times without finishing (maxAttempts ${handler.task.maxAttempts}); did the worker die each time?`,
      );
    }
    const claimed = await options.runs.transition(envelope.runId, {
      from: ['queued', 'running', 'waiting_input'],
      to: 'running',
      attempt: envelope.attempt,
      set: { workerId: id },
    });
    if (!claimed) {
      await options.queue.ack(message);
      return 'duplicate';
    }
    return execute(message, envelope, handler, payload, controller);
  }

  async function execute(
    message: ClaimedMessage,
    envelope: TaskEnvelope,
    handler: TaskHandler,
    payload: unknown,
    controller: AbortController,
  ): Promise<JobOutcome> {
    const { runId } = envelope;
    let appends = Promise.resolve();
    const emit = (data: unknown) => {
      const log = options.events;
      if (!log) return;
      appends = appends.then(() => log.append(runId, redactor.value(data)).then(() => {}));
      // Reported once the handler ends (`appends.catch(onError)` below); until then a failed
      // append (the store down longer than its client retries) must not be an unhandled
      // rejection, which ends a Node process.
      appends.catch(() => {});
    };
    const beat = () =>
      options.heartbeats?.beat(`run:${runId}`, heartbeatTtlMs, { workerId: id }).catch(onError);
    // Not awaited: the watchdog reads a run's heartbeat only once the run has not been updated for
    // runningTimeoutMs, and the transition to running just updated it.
    void beat();
    const heartbeat = setInterval(beat, heartbeatTtlMs / 3);
    const renew = setInterval(() => {
      options.queue.extend(message, leaseMs).catch((error) => {
        if (LeaseLostError.isInstance(error))
          controller.abort(new Interrupt('lease_lost', error.message));
        else onError(error);
      });
    }, leaseMs / 3);
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
      workerId: id,
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
    const interrupt = controller.signal.aborted
      ? (controller.signal.reason as Interrupt)
      : undefined;
    if (interrupt?.kind === 'abandoned') return 'interrupted';
    await appends.catch(onError);
    if (interrupt?.kind === 'lease_lost') return 'lease_lost';
    if (interrupt?.kind === 'shutdown') {
      await options.runs.transition(runId, {
        from: ['running'],
        to: 'queued',
        attempt: envelope.attempt,
        set: { reason: 'worker shut down; released' },
      });
      await options.queue.release(message);
      return 'interrupted';
    }
    // Each ending below is recorded only if the run is still this attempt's: when the watchdog
    // re-dispatched it meanwhile, it belongs to the new attempt, and this delivery is a leftover
    // that must neither end it nor append a task-finished its stream would stop at.
    const superseded = async () => {
      await options.queue.ack(message);
      return 'duplicate' as const;
    };
    if (failure === undefined && !interrupt) {
      const status = outcome?.status ?? 'completed';
      const note = outcome?.note === undefined ? undefined : redactor.string(outcome.note);
      const ended = await options.runs.transition(runId, {
        from: ['running'],
        to: status,
        attempt: envelope.attempt,
        ...(note === undefined ? {} : { set: { reason: note } }),
      });
      if (!ended) return superseded();
      await finalEvent(runId, {
        type: 'task-finished',
        runId,
        status,
        ...(note === undefined ? {} : { reason: note }),
      });
      await options.queue.ack(message);
      return status;
    }
    // A failure may come from being cut off from the queue longer than the lease (a Redis
    // outage): another worker may have taken the task over meanwhile, at the same attempt.
    // Requeueing or failing the run would pull it from under that worker, so first make sure
    // this delivery is still ours (and keep it ours while the run is written).
    try {
      await options.queue.extend(message, leaseMs);
    } catch (error) {
      if (LeaseLostError.isInstance(error)) return 'lease_lost';
      throw error;
    }
    const reason = redactor.string(interrupt?.message ?? describeFailure(failure));
    // A loopwork error that says it is not retryable (bad auth, a prompt over the context window,
    // a bad option) fails the run now. A conflict is the exception: it is a concurrent writer of
    // the same state (a superseded delivery still running), and a later attempt continues from
    // the winner's checkpoint.
    const permanent =
      LoopworkError.isInstance(failure) && !failure.retryable && failure.code !== 'conflict';
    if (!permanent && message.deliveryCount < handler.task.maxAttempts) {
      const requeued = await options.runs.transition(runId, {
        from: ['running'],
        to: 'queued',
        attempt: envelope.attempt,
        set: { reason },
      });
      if (!requeued) return superseded();
      await options.queue.release(message, {
        delayMs: handler.task.retryDelayMs(message.deliveryCount),
      });
      return 'retrying';
    }
    const failed = await options.runs.transition(runId, {
      from: ['running'],
      to: 'failed',
      attempt: envelope.attempt,
      set: { reason },
    });
    if (!failed) return superseded();
    await finalEvent(runId, { type: 'task-finished', runId, status: 'failed', reason });
    await options.queue.ack(message);
    return 'failed';
  }

  async function deadLetterRun(
    message: ClaimedMessage,
    envelope: TaskEnvelope,
    unsafeReason: string,
  ): Promise<JobOutcome> {
    const reason = redactor.string(unsafeReason);
    await options.queue.deadLetter(message, reason);
    const moved = await options.runs.transition(envelope.runId, {
      from: ['queued', 'running', 'waiting_input'],
      to: 'dead_lettered',
      set: { reason },
    });
    if (moved)
      await finalEvent(envelope.runId, {
        type: 'task-finished',
        runId: envelope.runId,
        status: 'dead_lettered',
        reason,
      });
    return 'dead_lettered';
  }

  async function finalEvent(runId: string, data: TaskEvent): Promise<void> {
    await options.events?.append(runId, data).catch(onError);
  }

  async function waitForSlot(): Promise<void> {
    while (running.size >= concurrency)
      await Promise.race([...running.values()].map((task) => task.done));
  }

  return {
    id,
    async run() {
      await beatWorker();
      workerBeat = setInterval(beatWorker, heartbeatTtlMs / 3);
      try {
        while (!stopping.signal.aborted) {
          await waitForSlot();
          if (stopping.signal.aborted) break;
          let messages: ClaimedMessage[];
          try {
            messages = await claim(concurrency - running.size, options.pollWaitMs ?? 5_000);
          } catch (error) {
            if (stopping.signal.aborted) break;
            onError(error);
            // A queue that is down should not spin the CPU; try again shortly.
            await new Promise((resolve) => setTimeout(resolve, 1_000));
            continue;
          }
          for (const message of messages) start(message);
        }
        await Promise.all([...running.values()].map((task) => task.done));
      } finally {
        clearInterval(workerBeat);
        if (!abandoned) await options.heartbeats?.remove(`worker:${id}`).catch(onError);
      }
    },
    async runOnce(runOptions = {}) {
      const [message] = await claim(1, runOptions.waitMs ?? options.pollWaitMs ?? 5_000);
      return message ? start(message) : 'idle';
    },
    async stop(stopOptions = {}) {
      stopping.abort();
      const grace = stopOptions.graceMs ?? options.shutdownGraceMs ?? 30_000;
      const all = Promise.all([...running.values()].map((task) => task.done));
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(() => resolve('expired'), grace);
      });
      const first = await Promise.race([all, expired]);
      clearTimeout(timer);
      if (first === 'expired') {
        for (const task of running.values())
          task.controller.abort(new Interrupt('shutdown', 'worker shutting down'));
        await all;
      }
    },
    abandon() {
      abandoned = true;
      stopping.abort();
      clearInterval(workerBeat);
      for (const task of running.values())
        task.controller.abort(new Interrupt('abandoned', 'worker abandoned'));
    },
    stats: () => ({ ...stats }),
  };
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
