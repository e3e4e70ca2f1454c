import { type LoopRuntimeSettings, loopRuntime } from '../runtime/loop-runtime';
import {
  type RuntimeTaskOptions,
  type RuntimeTaskPayload,
  type runtimePayload,
  runtimeTask,
} from '../runtime/runtime-task';
import type { TaskDefinition, TaskOptions } from './task';
import type { TaskContext, TaskHandler } from './task-handler';

/** Payload of the ready-made agent task. */
export type AgentTaskPayload = RuntimeTaskPayload;

/** Agent settings of an agent task, fixed or chosen per payload. */
export type AgentTaskSettings = LoopRuntimeSettings;

/** Options of {@link agentTask}. */
export interface AgentTaskOptions
  extends Partial<Omit<TaskOptions<typeof runtimePayload>, 'payload'>>,
    Pick<RuntimeTaskOptions, 'checkpoints' | 'sessionCacheSize'> {
  /** The model, tools, limits … of the agent. */
  agent:
    | AgentTaskSettings
    | ((payload: AgentTaskPayload, context: TaskContext) => AgentTaskSettings);
}

/**
 * A ready task type that runs loopwork's agent loop (a {@link runtimeTask} of `loopRuntime`):
 * checkpointed after every step, so a redelivered task resumes from its last completed step; its
 * events go to the run's event log; its result — the final text as output, usage, cost, and the
 * status the agent stopped with (`completed`, `max_turns`, `budget_exceeded` with the budget,
 * `timed_out` by `maxDurationMs`) — goes on the run record. A suspended agent leaves the run
 * `waiting_input`, and a follow-up dispatch with the same `sessionId` continues the conversation
 * from the stored session. A failed agent run is a failed attempt (retried when its error is
 * retryable). Checkpoint writes are fenced: an attempt abandoned after its timeout cannot write
 * over the attempt that took the run over.
 *
 * @example
 * ```ts
 * const assistant = agentTask({ type: 'assistant', checkpoints, agent: { model, tools, maxCostUsd: 1 } });
 * await dispatcher.dispatch(assistant.task, { prompt: 'Fix the flaky test', sessionId: 's1' }, { groupId: 's1' });
 * const worker = createWorker({ queue, runs, events, handlers: [assistant.handler] });
 * ```
 */
export function agentTask(options: AgentTaskOptions): {
  task: TaskDefinition<AgentTaskPayload>;
  handler: TaskHandler<AgentTaskPayload, string>;
} {
  const { agent, ...rest } = options;
  return runtimeTask({
    type: 'agent',
    ...rest,
    runtime: (payload, context) =>
      loopRuntime(typeof agent === 'function' ? agent(payload, context) : agent),
  });
}
