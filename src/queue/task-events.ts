import type { RunRecordStatus } from '../store/run-store';

/**
 * Events the orchestration appends to a run's event log beside the agent's own events:
 * `task-finished` is always the last one of a run (SSE streams close after it).
 */
export type TaskEvent =
  | {
      type: 'task-finished';
      runId: string;
      status: Extract<RunRecordStatus, 'completed' | 'waiting_input' | 'failed' | 'dead_lettered'>;
      /** Why it failed or was dead-lettered, or where an agent stopped short. */
      reason?: string;
    }
  | {
      type: 'task-retried';
      runId: string;
      /** The new attempt the watchdog dispatched. */
      attempt: number;
      reason: string;
    };
