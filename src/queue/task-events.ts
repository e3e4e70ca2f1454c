import type { RunError, RunRecord } from '../store/run-store';
import type { FinalStatus } from './lifecycle';

/**
 * Events the orchestration appends to a run's event log beside the agent's own events:
 * `task-finished` is always the last one of a run (SSE streams close after it).
 */
export type TaskEvent =
  | {
      type: 'task-finished';
      runId: string;
      status: FinalStatus;
      /** The run's attempt when it ended. */
      attempt: number;
      /** Why it failed, timed out, was cancelled or dead-lettered. */
      error?: RunError;
      /** Which budget stopped a `budget_exceeded` run. */
      budget?: string;
    }
  | {
      type: 'task-retried';
      runId: string;
      /** The attempt that failed (the next one is this + 1). */
      attempt: number;
      /** Why it failed. */
      error: RunError;
      /** When the next attempt may start, in milliseconds from the event. */
      delayMs: number;
    };

/** The `task-finished` event of a run that just reached its final status. */
export function finishedEvent(record: RunRecord): Extract<TaskEvent, { type: 'task-finished' }> {
  return {
    type: 'task-finished',
    runId: record.runId,
    status: record.status as FinalStatus,
    attempt: record.attempt,
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.budget === undefined ? {} : { budget: record.budget }),
  };
}
