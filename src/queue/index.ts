export type { AgentTaskOptions, AgentTaskPayload, AgentTaskSettings } from './agent-task';
export { agentTask } from './agent-task';
export type { Dispatcher, DispatchOptions, DispatchResult } from './dispatcher';
export { createDispatcher } from './dispatcher';
export type {
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  EnqueueOptions,
  Priority,
  Queue,
  QueueCapabilities,
} from './queue';
export { stopOnSignals } from './stop-on-signals';
export type { TaskDefinition, TaskEnvelope, TaskOptions } from './task';
export { defineTask, parseEnvelope, parsePayload } from './task';
export type { TaskEvent } from './task-events';
export type { JobOutcome, TaskContext, TaskHandler, TaskOutcome } from './task-handler';
export { handleTask, JOB_EXIT_CODES } from './task-handler';
export type { Watchdog, WatchdogOptions, WatchdogReport } from './watchdog';
export { createWatchdog } from './watchdog';
export type { Worker, WorkerOptions, WorkerStats } from './worker';
export { createWorker } from './worker';
