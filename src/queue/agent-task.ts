import { z } from 'zod';
import type { AgentOptions } from '../agent/options';
import type { RunResult } from '../agent/result';
import { runAgent } from '../agent/run-agent';
import { ConflictError, InvalidStateError, LeaseLostError } from '../errors';
import type { SessionStore, StoredRunState } from '../store/session-store';
import { isRetryable } from './attempt-failure';
import { defineTask, type TaskDefinition, type TaskOptions } from './task';
import {
  handleTask,
  outcome,
  type TaskContext,
  type TaskHandler,
  type TaskOutcome,
} from './task-handler';

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
  /** Sessions kept in memory per worker, used when the store's version still matches. @defaultValue 100 */
  sessionCacheSize?: number;
  /** The model, tools, limits … of the agent. */
  agent:
    | AgentTaskSettings
    | ((payload: AgentTaskPayload, context: TaskContext) => AgentTaskSettings);
}

/**
 * A ready task type that runs an agent: checkpointed after every step, so a redelivered task
 * resumes from its last completed step; its events go to the run's event log; its result — the
 * final text as output, usage, cost, and the status the agent stopped with (`completed`,
 * `max_turns`, `budget_exceeded` with the budget, `timed_out` by `maxDurationMs`) — goes on the run
 * record. A suspended agent leaves the run `waiting_input`, and a follow-up dispatch with the same
 * `sessionId` continues the conversation from the stored session. A failed agent run is a failed
 * attempt (retried when its error is retryable). Checkpoint writes are fenced: an attempt
 * abandoned after its timeout cannot write over the attempt that took the run over.
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
  const { checkpoints, agent, sessionCacheSize, ...taskOptions } = options;
  const cache = new SessionCache(sessionCacheSize ?? 100);
  const task = defineTask({ type: 'agent', ...taskOptions, payload: agentPayload });
  const handler = handleTask<AgentTaskPayload, string>(task, async (payload, context) => {
    const settings = typeof agent === 'function' ? agent(payload, context) : agent;
    const store = fenced(checkpoints, context);
    const start = await startingPoint(store, cache, payload, context.runId);
    const result = await runAgent({
      ...settings,
      ...start.options,
      runId: context.runId,
      checkpoints: store,
      signal: context.signal,
      onEvent: context.emit,
    });
    if (context.signal.aborted) throw context.signal.reason;
    const spent = { output: result.text, usage: result.usage, costUsd: result.costUsd };
    if (result.status === 'failed' || result.status === 'aborted') {
      const error = result.error ?? new Error(`agent run ended ${result.status}`);
      return failed(error, spent);
    }
    if (payload.sessionId !== undefined) {
      await saveSession(store, cache, payload.sessionId, start.sessionVersion, result);
    }
    switch (result.status) {
      case 'suspended':
        return outcome({ status: 'waiting_input', ...spent });
      case 'timeout':
        return outcome({ status: 'timed_out', ...spent });
      case 'budget_exceeded':
        return outcome({
          status: 'budget_exceeded',
          ...spent,
          ...(result.budget ? { budget: result.budget } : {}),
        });
      default:
        return outcome({ status: result.status, ...spent });
    }
  });
  return { task, handler };
}

/** A failed agent run as a failed attempt, retried when its error says another may succeed. */
function failed(
  error: Error,
  spent: Pick<TaskOutcome<string>, 'output' | 'usage' | 'costUsd'>,
): TaskOutcome<string> {
  return outcome({ status: 'failed', error, retryable: isRetryable(error), ...spent });
}

/**
 * The checkpoint store as this attempt may use it: every write is refused once the attempt no
 * longer owns the run (`context.fence` aborted), so an abandoned attempt cannot overwrite the
 * checkpoints of the attempt that took the run over.
 */
function fenced(store: SessionStore, context: TaskContext): SessionStore {
  const guard = () => {
    if (context.fence.aborted) {
      throw new LeaseLostError(
        `attempt ${context.attempt} of run "${context.runId}" no longer owns the run (abandoned, taken over or its lease lost); its checkpoint write is refused`,
      );
    }
  };
  return {
    specificationVersion: store.specificationVersion,
    load: (key) => store.load(key),
    async save(key, state, expectedVersion) {
      guard();
      return store.save(key, state, expectedVersion);
    },
    async delete(key) {
      guard();
      return store.delete(key);
    },
    ...(store.version ? { version: (key: string) => store.version!(key) } : {}),
  };
}

const sessionKey = (sessionId: string) => `session:${sessionId}`;

/** Where a run starts: its own checkpoint (a redelivery), the session's last state, or nothing. */
/** Where a run starts, and the session version it builds on (null: a new session). */
interface StartingPoint {
  options: Pick<AgentOptions, 'prompt' | 'followUp' | 'state' | 'answers'>;
  sessionVersion: number | null;
}

/**
 * Sessions this worker saved or loaded lately, so a follow-up on the same worker (the common
 * case with groupId routing) skips loading and parsing a long transcript. An entry is used only
 * when the store's current version matches it, so another worker's write is never missed.
 */
class SessionCache {
  private readonly entries = new Map<string, StoredRunState>();
  constructor(private readonly size: number) {}

  get(key: string, version: number | undefined): StoredRunState | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.version !== version) return undefined;
    this.entries.delete(key); // re-insert: the Map's order is the recency order
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: StoredRunState): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.size)
      this.entries.delete(this.entries.keys().next().value as string);
  }
}

const exists = async (store: SessionStore, key: string) =>
  (store.version ? await store.version(key) : (await store.load(key))?.version) !== undefined;

async function loadSession(
  store: SessionStore,
  cache: SessionCache,
  key: string,
): Promise<StoredRunState | undefined> {
  if (store.version) {
    const version = await store.version(key);
    if (version === undefined) return undefined;
    const cached = cache.get(key, version);
    if (cached) return cached;
  }
  const loaded = await store.load(key);
  if (loaded) cache.set(key, loaded);
  return loaded;
}

async function startingPoint(
  checkpoints: SessionStore,
  cache: SessionCache,
  payload: AgentTaskPayload,
  runId: string,
): Promise<StartingPoint> {
  const session =
    payload.sessionId === undefined
      ? undefined
      : await loadSession(checkpoints, cache, sessionKey(payload.sessionId));
  const sessionVersion = session?.version ?? null;
  // A checkpoint under this run id means an earlier delivery got that far: continue it as is.
  if (await exists(checkpoints, runId)) return { options: {}, sessionVersion };
  if (!session)
    return {
      options: payload.prompt === undefined ? {} : { prompt: payload.prompt },
      sessionVersion,
    };
  return {
    options: {
      state: { ...session.state, runId },
      ...(payload.prompt === undefined ? {} : { followUp: payload.prompt }),
      ...(payload.answers === undefined ? {} : { answers: payload.answers }),
    },
    sessionVersion,
  };
}

/** Saves the run's final state as the session, if the session is still where the run started. */
async function saveSession(
  checkpoints: SessionStore,
  cache: SessionCache,
  sessionId: string,
  basedOn: number | null,
  result: RunResult,
): Promise<void> {
  const key = sessionKey(sessionId);
  try {
    const version = await checkpoints.save(key, result.state, basedOn);
    cache.set(key, { state: result.state, version });
  } catch (error) {
    if (!ConflictError.isInstance(error)) throw error;
    throw new InvalidStateError(
      `session "${sessionId}" moved on while run "${result.runId}" ran (two follow-ups at once); ` +
        'dispatch the runs of one session with groupId: sessionId so they run one at a time',
    );
  }
}
