export type { AgentTaskOptions, AgentTaskPayload, AgentTaskSettings } from './agent-task';
export { agentTask } from './agent-task';
export { DISPATCHER_DEFAULTS, TASK_DEFAULTS, WATCHDOG_DEFAULTS, WORKER_DEFAULTS } from './defaults';
export type {
  CancelResult,
  Dispatcher,
  DispatcherOptions,
  DispatchOptions,
  DispatchResult,
} from './dispatcher';
export { createDispatcher } from './dispatcher';
export type {
  AttemptOutcome,
  CancelVerdict,
  Delivery,
  DeliveryVerdict,
  FinalStatus,
  Settlement,
  StuckVerdict,
} from './lifecycle';
export {
  classifyDelivery,
  FINAL_STATUSES,
  isFinal,
  judgeCancel,
  judgeStuck,
  mayRetry,
  settleAttempt,
  TRANSITIONS,
} from './lifecycle';
export type {
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  EnqueueOptions,
  Priority,
  Queue,
  QueueCapabilities,
  QueueRunSteps,
  QueueStats,
  StartedClaim,
} from './queue';
export type { RedriveResult } from './redrive';
export type { AttemptEnd } from './run-attempt';
export { stopOnSignals } from './stop-on-signals';
export type { TaskDefinition, TaskEnvelope, TaskOptions } from './task';
export { defineTask, parsePayload } from './task';
export type { TaskEvent } from './task-events';
export type {
  JobOutcome,
  OutcomeInit,
  OutcomeStatus,
  TaskContext,
  TaskHandler,
  TaskOutcome,
} from './task-handler';
export { handleTask, isOutcome, JOB_EXIT_CODES, outcome } from './task-handler';
export type { Watchdog, WatchdogOptions, WatchdogReport } from './watchdog';
export { createWatchdog } from './watchdog';
export type { Worker, WorkerOptions, WorkerStats } from './worker';
export { createWorker } from './worker';
export type { WorkerEvents } from './worker-events';
