import type { StandardSchemaV1 } from '../agent/standard-schema';
import { type LoopRuntimeSettings, loopRuntime } from '../runtime/loop-runtime';
import {
  type RuntimeTaskOptions,
  type RuntimeTaskPayload,
  type runtimePayload,
  runtimeTask,
  runtimeTaskWith,
} from '../runtime/runtime-task';
import type { TaskDefinition, TaskOptions } from './task';
import type { TaskContext, TaskHandler } from './task-handler';

/** Payload of the ready-made agent task. */
export type AgentTaskPayload = RuntimeTaskPayload;

/** Agent settings of an agent task, fixed or chosen per payload (the output schema is {@link AgentTaskOptions.output}). */
export type AgentTaskSettings = Omit<LoopRuntimeSettings, 'output'>;

/** Options of {@link agentTask}. `Output` is the type of the run's output (the final text without `output`). */
export interface AgentTaskOptions<Output = string>
  extends Partial<Omit<TaskOptions<typeof runtimePayload>, 'payload'>>,
    Pick<RuntimeTaskOptions, 'checkpoints' | 'sessionCacheSize'> {
  /** The model, tools, limits … of the agent. */
  agent:
    | AgentTaskSettings
    | ((payload: AgentTaskPayload, context: TaskContext) => AgentTaskSettings);
  /**
   * Schema of the agent's answer (as `runAgent`'s `output`): the run record's `output` is then
   * the validated answer instead of the final text, and a run that ends without a valid one has
   * no output (a `failed` run's error is an `OutputValidationError`).
   */
  output?: StandardSchemaV1<unknown, Output>;
}

/**
 * A ready task type that runs loopwork's agent loop (a {@link runtimeTask} of `loopRuntime`):
 * checkpointed after every step, so a redelivered task resumes from its last completed step; its
 * events go to the run's event log; its result — the final text as output (or, with `output`,
 * the validated answer), usage, cost, and the status the agent stopped with (`completed`,
 * `max_turns`, `budget_exceeded` with the budget, `timed_out` by `maxDurationMs`) — goes on the
 * run record. A suspended agent leaves the run `waiting_input`, and a follow-up dispatch with the
 * same `sessionId` continues the conversation from the stored session. A failed agent run is a
 * failed attempt (retried when its error is retryable). Checkpoint writes are fenced: an attempt
 * abandoned after its timeout cannot write over the attempt that took the run over.
 *
 * @example
 * ```ts
 * const assistant = agentTask({ type: 'assistant', checkpoints, agent: { model, tools, maxCostUsd: 1 } });
 * await dispatcher.dispatch(assistant.task, { prompt: 'Fix the flaky test', sessionId: 's1' }, { groupId: 's1' });
 * const worker = createWorker({ queue, runs, events, handlers: [assistant.handler] });
 *
 * const triage = agentTask({ type: 'triage', checkpoints, agent: { model }, output: z.object({ severity: z.enum(['low', 'high']) }) });
 * ```
 */
export function agentTask<Output = string>(
  options: AgentTaskOptions<Output>,
): {
  task: TaskDefinition<AgentTaskPayload>;
  handler: TaskHandler<AgentTaskPayload, Output>;
} {
  const { agent, output, ...rest } = options;
  const settingsOf = (payload: AgentTaskPayload, context: TaskContext): LoopRuntimeSettings => {
    const settings = typeof agent === 'function' ? agent(payload, context) : agent;
    return output === undefined ? settings : { ...settings, output };
  };
  const taskOptions: RuntimeTaskOptions = {
    type: 'agent',
    ...rest,
    runtime: (payload, context) => loopRuntime(settingsOf(payload, context)),
  };
  if (output === undefined) {
    // Without a schema the output is the final text, so Output is its default, string.
    return runtimeTask(taskOptions) as unknown as ReturnType<typeof agentTask<Output>>;
  }
  return runtimeTaskWith(taskOptions, (result) => result.output as Output | undefined);
}
