import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import { InvalidOptionError } from '../errors';
import { assertInstrumentation } from '../instrumentation/assert-instrumentation';
import type { Instrumentation } from '../instrumentation/instrumentation';
import { type RedactOptions, type Redactor, resolveRedactor } from '../secrets/redact';
import type { BlobStore } from '../store/blob-store';
import type { EventLog } from '../store/event-log';
import type { HeartbeatStore } from '../store/heartbeat-store';
import type { RunStore } from '../store/run-store';
import { WORKER_DEFAULTS } from './defaults';
import { DueQueue } from './due-queue';
import { jointSteps } from './joint-steps';
import { onQueueDeadLetter, processMessage } from './process-message';
import type { DeadLetter, Queue, StartedClaim } from './queue';
import { renewals } from './renewals';
import { Interrupt } from './run-attempt';
import type { JobOutcome, TaskHandler } from './task-handler';
import type { WorkerDeps } from './worker-deps';
import type { WorkerEvents } from './worker-events';

/** Options of {@link createWorker}; defaults are in `WORKER_DEFAULTS`. */
export interface WorkerOptions {
  queue: Queue;
  runs: RunStore;
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types share one list.
  handlers: readonly TaskHandler<any, any>[];
  /** Where the worker and its runs beat; the watchdog reads them. */
  heartbeats?: HeartbeatStore;
  /** Where `context.emit` and the worker's task events go. */
  events?: EventLog;
  /** Where outputs larger than `maxOutputBytes` are kept (`runs/<runId>/output.json`). */
  blobs?: BlobStore;
  /** @defaultValue `<hostname>-<pid>-<random>` */
  id?: string;
  /** Tasks run at once in daemon mode. @defaultValue WORKER_DEFAULTS.concurrency (1) */
  concurrency?: number;
  /** Lease per claim, renewed every third of it while a task runs. @defaultValue WORKER_DEFAULTS.leaseMs (10 s) */
  leaseMs?: number;
  /** Heartbeat time to live; beats are sent every third of it. @defaultValue WORKER_DEFAULTS.heartbeatTtlMs (30 s) */
  heartbeatTtlMs?: number;
  /** Longest wait of one claim call. @defaultValue WORKER_DEFAULTS.pollWaitMs (5 s) */
  pollWaitMs?: number;
  /** Time running tasks get to finish on `stop()` before their signal aborts. @defaultValue WORKER_DEFAULTS.shutdownGraceMs (30 s) */
  shutdownGraceMs?: number;
  /** Time a handler gets to stop after its signal aborted before it is abandoned. @defaultValue WORKER_DEFAULTS.abortGraceMs (10 s) */
  abortGraceMs?: number;
  /** Deliveries of one message before it is dead-lettered unparsed. @defaultValue WORKER_DEFAULTS.maxDeliveries (20) */
  maxDeliveries?: number;
  /** Largest output kept on a run record, as JSON bytes. @defaultValue WORKER_DEFAULTS.maxOutputBytes (64 KiB) */
  maxOutputBytes?: number;
  /** Called with errors the worker survived (a store that failed, a lost lease), secrets already hidden. @defaultValue console.error */
  onError?: (error: unknown) => void;
  /** Secrets hidden from task events, run records, failure reasons and logged errors (see `createRedactor`); `false` turns it off. */
  redact?: RedactOptions | Redactor | false;
  /**
   * Wraps each attempt, continuing the trace its message carries (`otelInstrumentation()` from
   * `loopwork/otel`). Give the same one to the agent (`agentTask`'s agent settings) for its
   * model and tool calls. @defaultValue none: nothing is wrapped
   */
  instrumentation?: Instrumentation;
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

/** A queue consumer in daemon mode (`run`) or job mode (`runOnce`), reporting through typed events. */
export interface Worker {
  readonly id: string;
  /** Adds a listener for a worker event (see {@link WorkerEvents}). */
  on<Name extends keyof WorkerEvents>(name: Name, listener: WorkerEvents[Name]): Worker;
  /** Adds a listener called once. */
  once<Name extends keyof WorkerEvents>(name: Name, listener: WorkerEvents[Name]): Worker;
  /** Removes a listener. */
  off<Name extends keyof WorkerEvents>(name: Name, listener: WorkerEvents[Name]): Worker;
  /** Claims and runs tasks until `stop()`; resolves once every task is settled. */
  run(): Promise<void>;
  /** Job mode: claims one task (waiting up to `waitMs`), runs it, and says how it ended (see `JOB_EXIT_CODES`). */
  runOnce(options?: { waitMs?: number }): Promise<JobOutcome>;
  /**
   * Graceful shutdown: stop claiming, let tasks finish within the grace period, then abort their
   * signals; a task still running `abortGraceMs` later is abandoned and handed back to the queue.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Stops at once without settling anything, as if the process died (leases simply run out). For tests and fatal errors. */
  abandon(): void;
  stats(): WorkerStats;
}

function positive(name: string, value: number, integer = false): number {
  if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) {
    throw new InvalidOptionError(
      `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${typeof value === 'number' ? value : JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Checks the options and fills in `WORKER_DEFAULTS`. */
function resolveOptions(options: WorkerOptions) {
  const d = WORKER_DEFAULTS;
  if (!Array.isArray(options.handlers) || options.handlers.length === 0)
    throw new InvalidOptionError('handlers must name at least one task');
  const settings = {
    concurrency: positive('concurrency', options.concurrency ?? d.concurrency, true),
    leaseMs: positive('leaseMs', options.leaseMs ?? d.leaseMs),
    heartbeatTtlMs: positive('heartbeatTtlMs', options.heartbeatTtlMs ?? d.heartbeatTtlMs),
    pollWaitMs: positive('pollWaitMs', options.pollWaitMs ?? d.pollWaitMs),
    shutdownGraceMs: options.shutdownGraceMs ?? d.shutdownGraceMs,
    abortGraceMs: options.abortGraceMs ?? d.abortGraceMs,
    maxDeliveries: positive('maxDeliveries', options.maxDeliveries ?? d.maxDeliveries, true),
    maxOutputBytes: positive('maxOutputBytes', options.maxOutputBytes ?? d.maxOutputBytes, true),
  };
  for (const name of ['shutdownGraceMs', 'abortGraceMs'] as const) {
    const value = settings[name];
    if (!(Number.isFinite(value) && value >= 0))
      throw new InvalidOptionError(`${name} must be a number >= 0, got ${value}`);
  }
  const most = Math.max(...options.handlers.map((handler) => handler.task.maxAttempts));
  if (settings.maxDeliveries < most) {
    throw new InvalidOptionError(
      `maxDeliveries (${settings.maxDeliveries}) must be at least the largest maxAttempts of the handlers (${most}), or runs would be dead-lettered before their attempts are used`,
    );
  }
  return settings;
}

/**
 * Creates a worker for the given task handlers; it claims only from their queues.
 *
 * Per message (see `processMessage`): parse and validate, ask the run lifecycle what the delivery
 * means, run the attempt under a renewed lease, a heartbeat, the task's timeout and cancel checks,
 * then settle the run as the lifecycle decides — one compare-and-set write — and the message.
 *
 * @example
 * ```ts
 * const worker = createWorker({ queue, runs, heartbeats, events, handlers: [handleTask(summarize, run)], concurrency: 4 });
 * worker.on('failed', (run, error) => console.warn(`${run.runId} failed: ${error.message}`));
 * stopOnSignals(worker);
 * await worker.run();
 * ```
 */
export function createWorker(options: WorkerOptions): Worker {
  const settings = resolveOptions(options);
  assertInstrumentation(options.instrumentation);
  const id = options.id ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const redactor = resolveRedactor(options.redact);
  const emitter = new EventEmitter<WorkerEvents>();
  const log =
    options.onError ?? ((error: unknown) => console.error(`[loopwork:worker ${id}]`, error));
  const report = (error: unknown) => {
    const hidden = redactor.error(error);
    log(hidden);
    emitter.emit('error', hidden);
  };
  const handlers = new Map(
    options.handlers.map((handler) => [handler.task.type, handler as TaskHandler]),
  );
  const queues = [...new Set(options.handlers.map((handler) => handler.task.queue))];
  const parts: Omit<WorkerDeps, 'renewals'> = {
    ...settings,
    queue: options.queue,
    runs: options.runs,
    joint: jointSteps(options.queue, options.runs, {
      heartbeats: options.heartbeats,
      events: options.events,
    }),
    heartbeats: options.heartbeats,
    events: options.events,
    blobs: options.blobs,
    instrumentation: options.instrumentation,
    handlers,
    workerId: id,
    redactor,
    report,
    due: new DueQueue(report),
    emit: (name, ...args) => {
      try {
        (emitter.emit as (name: string, ...args: unknown[]) => boolean)(name, ...args);
      } catch (error) {
        // A throwing listener is the application's bug; it must not take a run down with it.
        if (name !== 'error') report(error);
      }
    },
  };
  const deps: WorkerDeps = { ...parts, renewals: renewals(parts) };
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
      ?.beat(`worker:${id}`, settings.heartbeatTtlMs, {
        running: running.size,
        lastClaimAt: stats.lastClaimAt ?? null,
        lastPollAt: stats.lastPollAt ?? null,
      })
      .catch(report);

  // The queue starts fresh runs in its claim when it can; not under an instrumentation, which is
  // told each run's record as it was before its start (the queue wait).
  const claimAndStart = options.instrumentation?.attempt ? undefined : deps.joint?.claimAndStart;

  async function claim(max: number, waitMs: number): Promise<StartedClaim[]> {
    const claimOptions = {
      consumer: id,
      leaseMs: settings.leaseMs,
      max,
      waitMs,
      signal: stopping.signal,
      maxDeliveries: settings.maxDeliveries,
      onDeadLetter: (letter: DeadLetter) => onQueueDeadLetter(letter, deps),
    };
    const claimed = claimAndStart
      ? await claimAndStart(queues, {
          ...claimOptions,
          workerId: id,
          // Each started run's first heartbeat too, when the queue can write it.
          ...(deps.joint?.beats && deps.heartbeats
            ? { heartbeatTtlMs: settings.heartbeatTtlMs }
            : {}),
        })
      : (await options.queue.claim(queues, claimOptions)).map((message) => ({ message }));
    stats.lastPollAt = Date.now();
    if (claimed.length > 0) stats.lastClaimAt = stats.lastPollAt;
    return claimed;
  }

  function start({ message, started }: StartedClaim): Promise<JobOutcome> {
    const controller = new AbortController();
    const done = processMessage(message, controller, deps, started).finally(() => {
      running.delete(message.receipt);
      stats.running = running.size;
      stats.processed += 1;
      slotFreed?.();
    });
    running.set(message.receipt, { controller, done });
    stats.running = running.size;
    return done;
  }

  // Wakes the claim loop when a task ends. Not a Promise.race over the running tasks: that would
  // add a reaction to every running task's promise per wait, held until each ends (hours, for
  // long runs at a high concurrency).
  let slotFreed: (() => void) | undefined;
  async function waitForSlot(): Promise<void> {
    while (running.size >= settings.concurrency)
      await new Promise<void>((resolve) => {
        slotFreed = resolve;
      });
    slotFreed = undefined;
  }

  const worker: Worker = {
    id,
    on(name, listener) {
      emitter.on(name, listener as never);
      return worker;
    },
    once(name, listener) {
      emitter.once(name, listener as never);
      return worker;
    },
    off(name, listener) {
      emitter.off(name, listener as never);
      return worker;
    },
    async run() {
      await beatWorker();
      workerBeat = setInterval(beatWorker, settings.heartbeatTtlMs / 3);
      try {
        while (!stopping.signal.aborted) {
          await waitForSlot();
          if (stopping.signal.aborted) break;
          let messages: StartedClaim[];
          try {
            messages = await claim(settings.concurrency - running.size, settings.pollWaitMs);
          } catch (error) {
            if (stopping.signal.aborted) break;
            report(error);
            // A queue that is down should not spin the CPU; try again shortly.
            await new Promise((resolve) => setTimeout(resolve, 1_000));
            continue;
          }
          for (const message of messages) start(message);
        }
        await Promise.all([...running.values()].map((task) => task.done));
      } finally {
        clearInterval(workerBeat);
        if (!abandoned) await options.heartbeats?.remove(`worker:${id}`).catch(report);
      }
    },
    async runOnce(runOptions = {}) {
      let message: StartedClaim | undefined;
      try {
        [message] = await claim(1, runOptions.waitMs ?? settings.pollWaitMs);
      } catch (error) {
        // The queue is down: a job says so with its exit code, not with an unredacted rejection.
        report(error);
        return 'error';
      }
      return message ? start(message) : 'idle';
    },
    async stop(stopOptions = {}) {
      stopping.abort();
      const grace = stopOptions.graceMs ?? settings.shutdownGraceMs;
      const all = Promise.all([...running.values()].map((task) => task.done));
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(() => resolve('expired'), grace);
      });
      const first = await Promise.race([all, expired]);
      clearTimeout(timer);
      if (first === 'expired') {
        // Each attempt then has abortGraceMs to stop before it is abandoned and handed back.
        for (const task of running.values())
          task.controller.abort(new Interrupt('shutdown', 'worker shutting down'));
        await all;
      }
    },
    abandon() {
      abandoned = true;
      stopping.abort();
      clearInterval(workerBeat);
      deps.renewals.stop();
      for (const task of running.values())
        task.controller.abort(new Interrupt('abandoned', 'worker abandoned'));
    },
    stats: () => ({ ...stats }),
  };
  return worker;
}
