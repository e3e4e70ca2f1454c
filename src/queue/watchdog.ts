import { InvalidOptionError } from '../errors';
import { type RedactOptions, type Redactor, resolveRedactor } from '../secrets/redact';
import type { EventLog } from '../store/event-log';
import type { HeartbeatStore } from '../store/heartbeat-store';
import type { RunRecord, RunRecordStatus, RunStore } from '../store/run-store';
import { WATCHDOG_DEFAULTS } from './defaults';
import type { Dispatcher } from './dispatcher';
import { judgeStuck } from './lifecycle';
import type { TaskDefinition } from './task';
import { finishedEvent, type TaskEvent } from './task-events';

/** Options of {@link createWatchdog}; defaults are in `WATCHDOG_DEFAULTS`. */
export interface WatchdogOptions {
  runs: RunStore;
  heartbeats: HeartbeatStore;
  dispatcher: Dispatcher;
  /** Task definitions, to enqueue their runs again; a stuck run of another type is only ended. */
  tasks: readonly TaskDefinition[];
  /** Where a `task-retried` / `task-finished` event is appended for each run acted on. */
  events?: EventLog;
  /** A queued run not written for this long is enqueued again. @defaultValue WATCHDOG_DEFAULTS.queuedTimeoutMs (5 min) */
  queuedTimeoutMs?: number;
  /** A running run not written for this long is checked for a heartbeat. @defaultValue WATCHDOG_DEFAULTS.runningTimeoutMs (15 min) */
  runningTimeoutMs?: number;
  /** Time between checks in `start()`. @defaultValue WATCHDOG_DEFAULTS.intervalMs (30 s) */
  intervalMs?: number;
  /** Errors the watchdog survived, secrets already hidden. @defaultValue console.error */
  onError?: (error: unknown) => void;
  /** Secrets hidden from logged errors (see `createRedactor`); `false` turns it off. */
  redact?: RedactOptions | Redactor | false;
}

/** What one check did. */
export interface WatchdogReport {
  /** Runs enqueued again: queued runs whose message may be lost, running runs whose worker is gone. */
  requeued: string[];
  /** Runs ended for good (attempts used up, cancelled, or of an unknown task type). */
  ended: string[];
}

/** Finds stuck runs and requeues or ends them. */
export interface Watchdog {
  /** Runs one check now. */
  check(): Promise<WatchdogReport>;
  /** Checks every `intervalMs` until `stop()`. */
  start(): void;
  stop(): void;
}

/**
 * Creates the stuck-run watchdog, the backstop for what leases cannot see. A run is stuck when
 * it is `queued` longer than `queuedTimeoutMs` without a write (its message may have been lost:
 * it is enqueued again — a no-op where the queue deduplicates, a dropped duplicate elsewhere), or
 * `running` longer than `runningTimeoutMs` without a write and without a live heartbeat
 * (`run:<runId>`): its worker died and its message is gone (a live message would have been
 * redelivered and the run taken over). The run lifecycle (`judgeStuck`) decides: requeue within
 * the run's attempts, or end it; each as one compare-and-set on the version the watchdog read.
 *
 * @example
 * ```ts
 * const watchdog = createWatchdog({ runs, heartbeats, dispatcher, events, tasks: [summarize] });
 * watchdog.start();
 * ```
 */
export function createWatchdog(options: WatchdogOptions): Watchdog {
  const tasks = new Map(options.tasks.map((task) => [task.type, task]));
  const queuedTimeoutMs = options.queuedTimeoutMs ?? WATCHDOG_DEFAULTS.queuedTimeoutMs;
  const runningTimeoutMs = options.runningTimeoutMs ?? WATCHDOG_DEFAULTS.runningTimeoutMs;
  const intervalMs = options.intervalMs ?? WATCHDOG_DEFAULTS.intervalMs;
  const redactor = resolveRedactor(options.redact);
  const log = options.onError ?? ((error: unknown) => console.error('[loopwork:watchdog]', error));
  const onError = (error: unknown) => log(redactor.error(error));
  for (const [name, value] of Object.entries({ queuedTimeoutMs, runningTimeoutMs, intervalMs })) {
    if (!(Number.isFinite(value) && value > 0))
      throw new InvalidOptionError(`${name} must be a positive number, got ${value}`);
  }
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<WatchdogReport> | undefined;

  async function recover(record: RunRecord, reason: string, report: WatchdogReport) {
    const alive =
      record.status === 'running' &&
      (await options.heartbeats.get(`run:${record.runId}`)) !== undefined;
    const now = Date.now();
    const verdict = judgeStuck(record, alive, reason, now);
    if (verdict.kind === 'leave') return;
    const task = tasks.get(record.taskType);
    if (verdict.kind === 'requeue' && !task) {
      if (record.status === 'queued') return; // not ours to enqueue; another watchdog may know it
      const error = {
        code: 'unknown_task',
        message: `${reason}; no task "${record.taskType}" is known to this watchdog`,
      };
      const ended = await options.runs.transition(record.runId, {
        from: ['running'],
        to: 'failed',
        version: record.version,
        set: { error, finishedAt: now },
      });
      if (ended) await finished(ended, report);
      return;
    }
    // One write: if the run moved since it was read (a worker just took it), nothing happens.
    const written = await options.runs.transition(record.runId, verdict.transition);
    if (!written) return;
    if (verdict.kind === 'final') return finished(written, report);
    await options.dispatcher.enqueueRun(task as TaskDefinition, written, {
      delayMs: verdict.delayMs,
    });
    report.requeued.push(record.runId);
    if (verdict.error) {
      const event: TaskEvent = {
        type: 'task-retried',
        runId: record.runId,
        attempt: written.attempt,
        error: verdict.error,
        delayMs: verdict.delayMs,
      };
      await options.events?.append(record.runId, redactor.value(event)).catch(onError);
    }
  }

  async function finished(run: RunRecord, report: WatchdogReport): Promise<void> {
    report.ended.push(run.runId);
    await options.events?.append(run.runId, redactor.value(finishedEvent(run))).catch(onError);
  }

  /** One run that cannot be recovered (a store error, a refused enqueue) must not stop the pass. */
  async function recoverSafely(record: RunRecord, reason: string, report: WatchdogReport) {
    try {
      await recover(record, reason, report);
    } catch (error) {
      onError(error);
    }
  }

  async function check(): Promise<WatchdogReport> {
    const report: WatchdogReport = { requeued: [], ended: [] };
    const passes: Array<[RunRecordStatus, number, string]> = [
      [
        'queued',
        queuedTimeoutMs,
        `queued for more than ${queuedTimeoutMs} ms without being picked up`,
      ],
      ['running', runningTimeoutMs, 'its worker stopped beating (heartbeat expired)'],
    ];
    for (const [status, timeoutMs, reason] of passes) {
      for (const record of await options.runs.listStale(status, Date.now() - timeoutMs)) {
        const why =
          status === 'running' ? `${reason}: worker ${record.workerId ?? 'unknown'}` : reason;
        await recoverSafely(record, redactor.string(why), report);
      }
    }
    return report;
  }

  return {
    check() {
      // Overlapping checks would race each other's transitions; share the one in flight. A store
      // error (its message may quote a connection URL) leaves through the redactor.
      checking ??= check()
        .catch((error: unknown) => {
          throw redactor.error(error);
        })
        .finally(() => {
          checking = undefined;
        });
      return checking;
    },
    start() {
      timer ??= setInterval(() => this.check().catch(onError), intervalMs);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
