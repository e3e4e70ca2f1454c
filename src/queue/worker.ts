import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { InvalidOptionError } from '../errors';
import { type RedactOptions, type Redactor, resolveRedactor } from '../secrets/redact';
import type { EventLog } from '../store/event-log';
import type { HeartbeatStore } from '../store/heartbeat-store';
import type { RunStore } from '../store/run-store';
import { Interrupt, type ProcessMessageDeps, processMessage } from './process-message';
import type { ClaimedMessage, Queue } from './queue';
import type { JobOutcome, TaskHandler } from './task-handler';

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
  const deps: ProcessMessageDeps = {
    queue: options.queue,
    runs: options.runs,
    heartbeats: options.heartbeats,
    events: options.events,
    handlers,
    workerId: id,
    leaseMs,
    heartbeatTtlMs,
    redactor,
    onError,
  };
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
    const done = processMessage(message, controller, deps)
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
