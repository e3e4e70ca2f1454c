import type { Usage } from '../model/usage';

/**
 * Where a run is. `queued` and `running` are open; every other status is final (see
 * `FINAL_STATUSES` and docs/orchestration.md for the transitions between them).
 */
export type RunRecordStatus =
  | 'queued'
  | 'running'
  | 'completed'
  | 'max_turns'
  | 'budget_exceeded'
  | 'waiting_input'
  | 'failed'
  | 'timed_out'
  | 'cancelled'
  | 'dead_lettered';

/** Why a run failed, timed out, was cancelled or dead-lettered (or why its last attempt failed). */
export interface RunError {
  /** Stable, machine-readable: `handler_error`, `timeout`, `worker_lost`, a LoopworkError code … */
  code: string;
  /** Readable, secrets already hidden. */
  message: string;
}

/** What the orchestration knows about one dispatched task, from dispatch to its result. */
export interface RunRecord {
  runId: string;
  taskType: string;
  status: RunRecordStatus;
  /** The validated payload, kept so the run can be enqueued again. */
  payload: unknown;
  /** Queue group (one at a time, in order), kept for every re-enqueue. */
  groupId?: string;
  /** Priority given at dispatch, kept for every re-enqueue. */
  priority?: 'high' | 'normal' | 'low';
  /** Attempts started so far: 0 until a worker starts the run, then +1 at every start. */
  attempt: number;
  /** Attempts the run may start; raised by one when an attempt is handed back unfinished by a graceful shutdown. */
  maxAttempts: number;
  /** +1 on every write: the compare-and-set token of {@link RunTransition.version}. */
  version: number;
  /** Worker holding (or that last held) the run. */
  workerId?: string;
  /** Queue message of the attempt that holds the run: another message of the same run is a duplicate. */
  messageId?: string;
  /** Epoch ms of the dispatch. */
  queuedAt: number;
  /** Epoch ms before which the run is not due (a dispatch or retry delay). */
  availableAt?: number;
  /** Epoch ms at which the current (or last) attempt started. */
  startedAt?: number;
  /** Epoch ms at which the run reached its final status. */
  finishedAt?: number;
  /** Epoch ms of the last write: the watchdog's staleness clock. */
  updatedAt: number;
  /** What the handler returned (the agent's final text for agent tasks), JSON, secrets hidden. */
  output?: unknown;
  /** Set instead of `output` when it was larger than the worker's `maxOutputBytes`: its size, and the blob holding it (absent when no blob store was configured). */
  outputRef?: { bytes: number; blobKey?: string };
  /** Tokens the run used, all attempts together (as far as the handler reported them). */
  usage?: Usage;
  /** Cost in USD, all attempts together (as far as the handler reported it). */
  costUsd?: number;
  /** The budget that stopped a `budget_exceeded` run (a `BudgetName`: `cost_usd`, `total_tokens` …). */
  budget?: string;
  /** Why the run ended as it did, or why its last attempt failed while it waits for a retry. */
  error?: RunError;
  /** Set by a cancel request while the run was running; the worker ends it `cancelled`. */
  cancel?: { reason: string; requestedAt: number };
  /** The dead-lettered run this one does again, when it was made by `Dispatcher.redrive`. */
  redrivenFrom?: string;
}

/** Fields a transition may set (everything but identity, dispatch facts and the store's own clocks). */
export type RunRecordChanges = Partial<
  Pick<
    RunRecord,
    | 'attempt'
    | 'maxAttempts'
    | 'workerId'
    | 'messageId'
    | 'availableAt'
    | 'startedAt'
    | 'finishedAt'
    | 'output'
    | 'outputRef'
    | 'usage'
    | 'costUsd'
    | 'budget'
    | 'error'
    | 'cancel'
  >
>;

/** A status change, applied only if the record is still as the writer saw it. */
export interface RunTransition {
  from: readonly RunRecordStatus[];
  to: RunRecordStatus;
  /** Apply only if the record's `version` equals this: nothing wrote it since the writer read it. */
  version?: number;
  /** Apply only if the record's `attempt` equals this (fences a superseded attempt). */
  attempt?: number;
  /** Fields to set along with the status. */
  set?: RunRecordChanges;
  /** Fields to remove. */
  unset?: ReadonlyArray<keyof RunRecordChanges>;
}

/** A query of {@link RunStore.list}. */
export interface RunQuery {
  status?: RunRecordStatus;
  taskType?: string;
  groupId?: string;
  /** Most runs in one page. @defaultValue 50 */
  limit?: number;
  /** Where the previous page ended (its `cursor`); omitted for the first page. */
  cursor?: string;
}

/** One page of {@link RunStore.list}. */
export interface RunPage {
  runs: RunRecord[];
  /** Pass it back for the next page; absent on the last page. */
  cursor?: string;
}

/**
 * Run records with compare-and-set transitions, a listing and a query for stale runs.
 * `transition` resolves with the updated record, or undefined when the record was not in a
 * `from` status, or not at the `version` / `attempt` given (someone else moved it first) — never
 * a silent overwrite. Every write increments `version` and moves `updatedAt` forward.
 */
export interface RunStore {
  /** Contract version this object implements. */
  readonly specificationVersion: 'loopwork.run-store.v2';
  /** Creates a record (its `version` as given, normally 1); rejects with `ConflictError` if the run id exists. */
  create(record: RunRecord): Promise<void>;
  get(runId: string): Promise<RunRecord | undefined>;
  /** Applies the transition atomically; undefined when its preconditions no longer hold. */
  transition(runId: string, transition: RunTransition): Promise<RunRecord | undefined>;
  /**
   * Runs matching the query, newest first: by `queuedAt`, or, when `status` is given, by the
   * clock of `listStale` (`updatedAt`, or a later `availableAt`) — so `{ status: 'failed' }` lists
   * the latest failures first.
   */
  list(query?: RunQuery): Promise<RunPage>;
  /**
   * Runs in `status` not written since `before`, oldest first: their `updatedAt` — or their
   * `availableAt` when that is later (a run delayed on purpose is not late before it is due) — is
   * before `before`. @defaultValue limit 100
   */
  listStale(status: RunRecordStatus, before: number, limit?: number): Promise<RunRecord[]>;
  /**
   * Optional: for each of `runIds`, in order, the run's {@link RunStanding} (what a worker checks of
   * its running runs once per lease renewal: a cancel request, a run that moved on), or undefined
   * when there is no such run. One call for all, reading only these fields: a worker checks all
   * its running runs with it, else with a `get` each.
   */
  getStandings?(runIds: readonly string[]): Promise<Array<RunStanding | undefined>>;
}

/** The fields of a run that say whether its current attempt may go on (see {@link RunStore.getStandings}). */
export type RunStanding = Pick<RunRecord, 'status' | 'attempt' | 'cancel'>;
