import { z } from 'zod';
import type { AgentOptions } from '../agent/options';
import type { RunResult } from '../agent/result';
import { runAgent } from '../agent/run-agent';
import { LoopworkError } from '../errors';
import type { SessionStore } from '../store/session-store';
import { defineTask, type TaskDefinition, type TaskOptions } from './task';
import { handleTask, type TaskContext, type TaskHandler } from './worker';

const agentPayload: z.ZodType<AgentTaskPayload> = z
  .object({
    /** The user's message: the first prompt of a session, or a follow-up. */
    prompt: z.string().min(1).optional(),
    /** Conversation this run continues; follow-ups should be dispatched with `groupId: sessionId`. */
    sessionId: z.string().min(1).optional(),
    /** Answers to the suspended tool calls of the session's last run. */
    answers: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((payload) => payload.prompt !== undefined || payload.answers !== undefined, {
    message: 'either prompt or answers is required',
    path: ['prompt'],
  });

/** Payload of the ready-made agent task. */
export interface AgentTaskPayload {
  /** The user's message: the first prompt of a session, or a follow-up. */
  prompt?: string | undefined;
  /** Conversation this run continues; dispatch follow-ups with `groupId: sessionId`. */
  sessionId?: string | undefined;
  /** Answers to the suspended tool calls of the session's last run. */
  answers?: Record<string, unknown> | undefined;
}

/** Agent settings of an agent task, fixed or chosen per payload. */
export type AgentTaskSettings = Omit<
  AgentOptions,
  'prompt' | 'followUp' | 'runId' | 'state' | 'checkpoints' | 'signal' | 'answers' | 'onEvent'
>;

/** Options of {@link agentTask}. */
export interface AgentTaskOptions
  extends Partial<Omit<TaskOptions<typeof agentPayload>, 'payload'>> {
  /** Where runs are checkpointed (key: run id) and sessions kept (key: `session:<id>`). */
  checkpoints: SessionStore;
  /** The model, tools, limits … of the agent. */
  agent:
    | AgentTaskSettings
    | ((payload: AgentTaskPayload, context: TaskContext) => AgentTaskSettings);
}

/**
 * A ready task type that runs an agent: checkpointed after every step, so a redelivered task
 * resumes from its last completed step; its events go to the run's event log; a suspended agent
 * leaves the run `waiting_input`, and a follow-up dispatch with the same `sessionId` continues the
 * conversation from the stored session.
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
  handler: TaskHandler<AgentTaskPayload>;
} {
  const { checkpoints, agent, ...taskOptions } = options;
  const task = defineTask({ type: 'agent', ...taskOptions, payload: agentPayload });
  const handler = handleTask(task, async (payload, context) => {
    const settings = typeof agent === 'function' ? agent(payload, context) : agent;
    const start = await startingPoint(checkpoints, payload, context.runId);
    const result = await runAgent({
      ...settings,
      ...start,
      runId: context.runId,
      checkpoints,
      signal: context.signal,
      onEvent: context.emit,
    });
    if (context.signal.aborted) throw context.signal.reason;
    if (result.status === 'failed' || result.status === 'timeout' || result.status === 'aborted') {
      throw (
        result.error ??
        new LoopworkError('model_error', `agent run ended ${result.status}`, { retryable: true })
      );
    }
    if (payload.sessionId !== undefined) await saveSession(checkpoints, payload.sessionId, result);
    return { status: result.status === 'suspended' ? 'waiting_input' : 'completed' };
  });
  return { task, handler };
}

const sessionKey = (sessionId: string) => `session:${sessionId}`;

/** Where a run starts: its own checkpoint (a redelivery), the session's last state, or nothing. */
async function startingPoint(
  checkpoints: SessionStore,
  payload: AgentTaskPayload,
  runId: string,
): Promise<Pick<AgentOptions, 'prompt' | 'followUp' | 'state' | 'answers'>> {
  // A checkpoint under this run id means an earlier delivery got that far: continue it as is.
  if (await checkpoints.load(runId)) return {};
  const session =
    payload.sessionId === undefined
      ? undefined
      : await checkpoints.load(sessionKey(payload.sessionId));
  if (!session) return payload.prompt === undefined ? {} : { prompt: payload.prompt };
  return {
    state: { ...session.state, runId },
    ...(payload.prompt === undefined ? {} : { followUp: payload.prompt }),
    ...(payload.answers === undefined ? {} : { answers: payload.answers }),
  };
}

async function saveSession(
  checkpoints: SessionStore,
  sessionId: string,
  result: RunResult,
): Promise<void> {
  const key = sessionKey(sessionId);
  const current = await checkpoints.load(key);
  await checkpoints.save(key, result.state, current?.version ?? null);
}
