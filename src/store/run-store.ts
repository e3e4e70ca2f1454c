/** Lifecycle of a dispatched task. */
export type RunRecordStatus =
  | 'queued'
  | 'running'
  | 'waiting_input'
  | 'completed'
  | 'failed'
  | 'dead_lettered';

/** What the orchestration knows about one dispatched task. */
export interface RunRecord {
  runId: string;
  taskType: string;
  status: RunRecordStatus;
  /** 1 for the first dispatch; +1 for each re-dispatch by the watchdog or a retry. */
  attempt: number;
  /** The validated payload, kept so the run can be dispatched again. */
  payload: unknown;
  /** Queue group, kept so a re-dispatch stays ordered with its group. */
  groupId?: string;
  /** Priority given at dispatch, kept so a re-dispatch keeps it. */
  priority?: 'high' | 'normal' | 'low';
  /** Worker that last took the run. */
  workerId?: string;
  /** Why the run failed or was dead-lettered. */
  reason?: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds of the last transition; the watchdog's staleness clock. */
  updatedAt: number;
}

/** A status change, applied only if the record is still in one of `from` (and at `attempt`, when given). */
export interface RunTransition {
  from: readonly RunRecordStatus[];
  to: RunRecordStatus;
  /** Only apply if the record's attempt equals this (fences out stale deliveries). */
  attempt?: number;
  /**
   * Only apply if the record's `updatedAt` still equals this: nothing touched it since it was
   * read (the watchdog's guard against a worker that took the run meanwhile).
   */
  unchangedSince?: number;
  /** Fields to set along with the status. */
  set?: Partial<Pick<RunRecord, 'attempt' | 'workerId' | 'reason'>>;
}

/**
 * Run records with compare-and-set status transitions and a query for stale runs.
 * `transition` resolves with the updated record, or undefined when the record was not in a
 * `from` status (someone else moved it first) — never a silent overwrite.
 */
export interface RunStore {
  /** Contract version this object implements. */
  readonly specificationVersion: 'loopwork.run-store.v1';
  /** Creates a record; rejects with `ConflictError` if the run id exists. */
  create(record: RunRecord): Promise<void>;
  get(runId: string): Promise<RunRecord | undefined>;
  /** Applies the transition atomically; undefined when the precondition no longer holds. */
  transition(runId: string, transition: RunTransition): Promise<RunRecord | undefined>;
  /** Runs in `status` whose `updatedAt` is before `updatedBefore`, oldest first. */
  listStale(status: RunRecordStatus, updatedBefore: number, limit?: number): Promise<RunRecord[]>;
}
