import { InvalidOptionError } from '../errors';
import { type RedactOptions, type Redactor, resolveRedactor } from '../secrets/redact';
import type { EventLog } from '../store/event-log';
import type { HeartbeatStore } from '../store/heartbeat-store';
import type { RunRecord, RunRecordStatus, RunStore } from '../store/run-store';
import type { Dispatcher } from './dispatcher';
import type { TaskDefinition } from './task';
import type { TaskEvent } from './task-events';

/** Options of {@link createWatchdog}. */
export interface WatchdogOptions {
  runs: RunStore;
  heartbeats: HeartbeatStore;
  dispatcher: Dispatcher;
  /** Task definitions, for their retry budgets; runs of other types are only marked failed. */
  tasks: readonly TaskDefinition[];
  /** Where a `task-retried` / `task-finished` event is appended for each run acted on. */
  events?: EventLog;
  /** A queued run older than this is re-dispatched. Make it longer than your longest queue wait and dispatch delay. @defaultValue 300000 */
  queuedTimeoutMs?: number;
  /** A running run not updated for this long is checked for a heartbeat. @defaultValue 900000 */
  runningTimeoutMs?: number;
  /** Time between checks in `start()`. @defaultValue 60000 */
  intervalMs?: number;
  /** Errors the watchdog survived, secrets already hidden. @defaultValue console.error */
  onError?: (error: unknown) => void;
  /** Secrets hidden from logged errors (see `createRedactor`); `false` turns it off. */
  redact?: RedactOptions | Redactor | false;
}

/** What one check did. */
export interface WatchdogReport {
  /** Runs given another attempt. */
  redispatched: string[];
  /** Runs marked failed for good (retry budget spent or unknown task type). */
  failed: string[];
}

/** Finds stuck runs and fails or re-dispatches them. */
export interface Watchdog {
  /** Runs one check now. */
  check(): Promise<WatchdogReport>;
  /** Checks every `intervalMs` until `stop()`. */
  start(): void;
  stop(): void;
}

/**
 * Creates the stuck-run watchdog. A run is stuck when it is `queued` longer than
 * `queuedTimeoutMs`, or `running` longer than `runningTimeoutMs` without a live heartbeat
 * (`run:<runId>`). A stuck run is marked failed with the reason, then — within its task's
 * `maxAttempts` — re-dispatched under a new attempt, which fences out any old delivery.
 *
 * @example
 * ```ts
 * const watchdog = createWatchdog({ runs, heartbeats, dispatcher, tasks: [summarize] });
 * watchdog.start();
 * ```
 */
export function createWatchdog(options: WatchdogOptions): Watchdog {
  const tasks = new Map(options.tasks.map((task) => [task.type, task]));
  const queuedTimeoutMs = options.queuedTimeoutMs ?? 5 * 60_000;
  const runningTimeoutMs = options.runningTimeoutMs ?? 15 * 60_000;
  const intervalMs = options.intervalMs ?? 60_000;
  const redactor = resolveRedactor(options.redact);
  const log = options.onError ?? ((error: unknown) => console.error('[loopwork:watchdog]', error));
  const onError = (error: unknown) => log(redactor.error(error));
  for (const [name, value] of Object.entries({ queuedTimeoutMs, runningTimeoutMs, intervalMs })) {
    if (!(Number.isFinite(value) && value > 0))
      throw new InvalidOptionError(`${name} must be a positive number, got ${value}`);
  }
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<WatchdogReport> | undefined;

  async function recover(
    record: RunRecord,
    from: RunRecordStatus,
    reason: string,
    report: WatchdogReport,
  ): Promise<void> {
    // Only if nothing touched the run since we read it: a worker may have just taken it.
    const failed = await options.runs.transition(record.runId, {
      from: [from],
      to: 'failed',
      attempt: record.attempt,
      unchangedSince: record.updatedAt,
      set: { reason },
    });
    if (!failed) return; // it moved on while we looked
    const task = tasks.get(record.taskType);
    if (!task || record.attempt >= task.maxAttempts) {
      report.failed.push(record.runId);
      await options.events?.append(record.runId, {
        type: 'task-finished',
        runId: record.runId,
        status: 'failed',
        reason,
      } satisfies TaskEvent);
      return;
    }
    const retried = await options.runs.transition(record.runId, {
      from: ['failed'],
      to: 'queued',
      attempt: record.attempt,
      set: { attempt: record.attempt + 1, reason },
    });
    if (!retried) return;
    await options.dispatcher.redispatch(task, retried);
    await options.events?.append(record.runId, {
      type: 'task-retried',
      runId: record.runId,
      attempt: retried.attempt,
      reason,
    } satisfies TaskEvent);
    report.redispatched.push(record.runId);
  }

  /** One run that cannot be recovered (a store error, a refused re-dispatch) must not stop the pass. */
  async function recoverSafely(...args: Parameters<typeof recover>): Promise<void> {
    try {
      await recover(...args);
    } catch (error) {
      onError(error);
    }
  }

  async function check(): Promise<WatchdogReport> {
    const report: WatchdogReport = { redispatched: [], failed: [] };
    const now = Date.now();
    for (const record of await options.runs.listStale('queued', now - queuedTimeoutMs)) {
      await recoverSafely(
        record,
        'queued',
        `queued for more than ${queuedTimeoutMs} ms without being picked up`,
        report,
      );
    }
    for (const record of await options.runs.listStale('running', now - runningTimeoutMs)) {
      if (await options.heartbeats.get(`run:${record.runId}`)) continue; // slow but alive
      await recoverSafely(
        record,
        'running',
        `worker heartbeat expired (worker ${record.workerId ?? 'unknown'})`,
        report,
      );
    }
    return report;
  }

  return {
    check() {
      // Overlapping checks would race each other's transitions; share the one in flight.
      checking ??= check().finally(() => {
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
