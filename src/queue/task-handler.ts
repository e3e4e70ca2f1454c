import type { TaskDefinition } from './task';

/** What a task handler receives besides its payload. */
export interface TaskContext {
  runId: string;
  /** The run's attempt (raised by watchdog re-dispatches). */
  attempt: number;
  /** How many times this message has been delivered (1 on the first try). */
  deliveryCount: number;
  workerId: string;
  /** Aborted on timeout, lost lease or shutdown; stop promptly and leave your state checkpointed. */
  signal: AbortSignal;
  /** Appends to the run's event log (a no-op without one); appends keep their order. */
  emit(data: unknown): void;
}

/** How a handler ended, when not plainly completed. */
export type TaskOutcome = {
  status: 'completed' | 'waiting_input';
  /** Kept as the run record's `reason` and in `task-finished` (for example why an agent stopped). */
  note?: string;
};

/** A task type with the function that runs it. Create one with {@link handleTask}. */
export interface TaskHandler<Payload = unknown> {
  readonly task: TaskDefinition<Payload>;
  run(payload: Payload, context: TaskContext): Promise<TaskOutcome | undefined | void>;
}

/** Binds a function to a task definition, typing its payload from the schema. */
export function handleTask<Payload>(
  task: TaskDefinition<Payload>,
  run: TaskHandler<Payload>['run'],
): TaskHandler<Payload> {
  return { task, run };
}

/** How one claimed message ended on this worker. */
export type JobOutcome =
  | 'completed'
  | 'waiting_input'
  | 'retrying'
  | 'failed'
  | 'dead_lettered'
  | 'interrupted'
  | 'duplicate'
  | 'lease_lost'
  | 'idle';

/** Exit codes of job mode, one per outcome, so a scheduler can tell how a job ended. */
export const JOB_EXIT_CODES: Readonly<Record<JobOutcome, number>> = {
  completed: 0,
  waiting_input: 0,
  duplicate: 0,
  idle: 0,
  failed: 1,
  dead_lettered: 2,
  retrying: 3,
  interrupted: 4,
  lease_lost: 5,
};
