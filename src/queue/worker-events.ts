import type { RunError, RunRecord } from '../store/run-store';
import type { ClaimedMessage } from './queue';

/**
 * What a worker reports, as a typed listener map (`worker.on('failed', (run, error) => …)`).
 * Each event carries the run record as written by the step it reports.
 */
export interface WorkerEvents {
  /** A run started on this worker (its first attempt, a retry, or taken over from a worker that died). */
  claimed: (run: RunRecord) => void;
  /** A run's work ended: `completed`, `max_turns`, `budget_exceeded`, `waiting_input`, or `timed_out` by its own time limit. */
  completed: (run: RunRecord) => void;
  /** A run ended `failed`, or `timed_out` after its last attempt ran out of time. */
  failed: (run: RunRecord, error: RunError) => void;
  /** An attempt failed and the run will be tried again after `delayMs`. */
  retrying: (run: RunRecord, error: RunError, delayMs: number) => void;
  /** A message was dead-lettered; `run` is its run when there was one. */
  dead_lettered: (
    run: RunRecord | undefined,
    error: RunError,
    message: ClaimedMessage | undefined,
  ) => void;
  /** A run ended `cancelled`. */
  cancelled: (run: RunRecord) => void;
  /** An attempt lost its message's lease (the queue gave it to someone else); it was stopped. */
  lease_lost: (runId: string, message: ClaimedMessage) => void;
  /** An error the worker survived (a store or queue failure), secrets hidden. */
  error: (error: unknown) => void;
}

/** The emitting side the worker's parts share. */
export type EmitWorkerEvent = <Name extends keyof WorkerEvents>(
  name: Name,
  ...args: Parameters<WorkerEvents[Name]>
) => void;
