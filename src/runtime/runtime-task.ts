import { z } from 'zod';
import type { RunState } from '../agent/run-state';
import { ConflictError, InvalidStateError, LeaseLostError } from '../errors';
import { isRetryable } from '../queue/attempt-failure';
import { defineTask, type TaskDefinition, type TaskOptions } from '../queue/task';
import {
  handleTask,
  outcome,
  type TaskContext,
  type TaskHandler,
  type TaskOutcome,
} from '../queue/task-handler';
import type { SessionStore, StoredRunState } from '../store/session-store';
import type { Runtime, RuntimeLimits, RuntimeResult } from './runtime';

/** Payload of a runtime task (and of the agent task). */
export interface RuntimeTaskPayload {
  /** The user's message: the first prompt of a session, or a follow-up. */
  prompt?: string | undefined;
  /** Conversation this run continues; dispatch follow-ups with `groupId: sessionId`. */
  sessionId?: string | undefined;
  /** Answers to the suspended tool calls of the session's last run. */
  answers?: Record<string, unknown> | undefined;
}

export const runtimePayload: z.ZodType<RuntimeTaskPayload> = z
  .object({
    prompt: z.string().min(1).optional(),
    sessionId: z.string().min(1).optional(),
    answers: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((payload) => payload.prompt !== undefined || payload.answers !== undefined, {
    message: 'either prompt or answers is required',
    path: ['prompt'],
  });

/** Options of {@link runtimeTask}. */
export interface RuntimeTaskOptions
  extends Partial<Omit<TaskOptions<typeof runtimePayload>, 'payload'>> {
  /** Where runs are checkpointed (key: run id) and sessions kept (key: `session:<id>`). */
  checkpoints: SessionStore;
  /** The runtime that runs each task (loopwork's loop, or an adapter's). */
  runtime: Runtime | ((payload: RuntimeTaskPayload, context: TaskContext) => Runtime);
  /** Hard limits of each run (turns, tokens, cost). @defaultValue none beyond the runtime's own */
  limits?: RuntimeLimits | ((payload: RuntimeTaskPayload, context: TaskContext) => RuntimeLimits);
  /** Sessions kept in memory per worker, used when the store's version still matches. @defaultValue 100 */
  sessionCacheSize?: number;
}

/**
 * A task type that runs any {@link Runtime} under a worker: its state checkpointed (and fenced:
 * an abandoned attempt cannot write over the one that took the run over), resumed on redelivery,
 * its events in the run's event log, its result — final text, usage, cost, the status it stopped
 * with — on the run record, and sessions: a dispatch with the same `sessionId` continues the
 * conversation from the last run's state (dispatch them with `groupId: sessionId`).
 *
 * @example
 * ```ts
 * const coder = runtimeTask({ type: 'coder', checkpoints, runtime: claudeAgentRuntime({ … }), limits: { maxCostUsd: 2 } });
 * await dispatcher.dispatch(coder.task, { prompt: 'Fix the flaky test', sessionId: 's1' }, { groupId: 's1' });
 * ```
 */
export function runtimeTask(options: RuntimeTaskOptions): {
  task: TaskDefinition<RuntimeTaskPayload>;
  handler: TaskHandler<RuntimeTaskPayload, string>;
} {
  return runtimeTaskWith(options, textOf);
}

/**
 * {@link runtimeTask} with its own mapping from a runtime's result to the run's output: the final
 * text for `runtimeTask`, the validated answer for an `agentTask` with an `output` schema.
 * @internal
 */
export function runtimeTaskWith<Output>(
  options: RuntimeTaskOptions,
  outputOf: (result: RuntimeResult) => Output | undefined,
): {
  task: TaskDefinition<RuntimeTaskPayload>;
  handler: TaskHandler<RuntimeTaskPayload, Output>;
} {
  const { checkpoints, runtime, limits, sessionCacheSize, ...taskOptions } = options;
  const cache = new SessionCache(sessionCacheSize ?? 100);
  const task = defineTask({ type: 'runtime', ...taskOptions, payload: runtimePayload });
  const handler = handleTask<RuntimeTaskPayload, Output>(task, async (payload, context) => {
    const chosen = typeof runtime === 'function' ? runtime(payload, context) : runtime;
    const store = fenced(checkpoints, context);
    const session =
      payload.sessionId === undefined
        ? undefined
        : await loadSession(store, cache, sessionKey(payload.sessionId));
    // A checkpoint under this run id means an earlier attempt got that far: continue it as is.
    const own = await store.load(context.runId);
    let version = own?.version ?? null;
    const result = await chosen.run({
      runId: context.runId,
      input: {
        ...(payload.prompt === undefined ? {} : { prompt: payload.prompt }),
        ...(payload.answers === undefined ? {} : { answers: payload.answers }),
      },
      limits: (typeof limits === 'function' ? limits(payload, context) : limits) ?? {},
      signal: context.signal,
      emit: context.emit,
      ...(own
        ? { resumeFrom: { kind: 'attempt' as const, state: own.state } }
        : session
          ? { resumeFrom: { kind: 'session' as const, state: session.state } }
          : {}),
      async checkpoint(state) {
        version = await store.save(context.runId, state, version);
      },
    });
    if (context.signal.aborted) throw context.signal.reason;
    const output = outputOf(result);
    const spent = {
      ...(output === undefined ? {} : { output }),
      usage: result.usage,
      costUsd: result.costUsd,
    };
    if (result.status === 'failed' || result.status === 'aborted') {
      const error = result.error ?? new Error(`${chosen.name} run ended ${result.status}`);
      return outcome({ status: 'failed', error, retryable: isRetryable(error), ...spent });
    }
    if (payload.sessionId !== undefined)
      await saveSession(store, cache, payload.sessionId, session?.version ?? null, result);
    return endingOf(result, spent);
  });
  return { task, handler };
}

const textOf = (result: RuntimeResult) =>
  typeof result.output === 'string' ? result.output : JSON.stringify(result.output ?? '');

/** The outcome of a run that did not fail. */
function endingOf<Output>(
  result: RuntimeResult,
  spent: Pick<TaskOutcome<Output>, 'output' | 'usage' | 'costUsd'>,
): TaskOutcome<Output> {
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
      return outcome({ status: result.status as 'completed' | 'max_turns', ...spent });
  }
}

const sessionKey = (sessionId: string) => `session:${sessionId}`;

/**
 * The checkpoint store as this attempt may use it: every write is refused once the attempt no
 * longer owns the run (`context.fence` aborted).
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

/** Saves the run's final state as the session, if the session is still where the run started. */
async function saveSession(
  store: SessionStore,
  cache: SessionCache,
  sessionId: string,
  basedOn: number | null,
  result: { state: RunState },
): Promise<void> {
  const key = sessionKey(sessionId);
  try {
    const version = await store.save(key, result.state, basedOn);
    cache.set(key, { state: result.state, version });
  } catch (error) {
    if (!ConflictError.isInstance(error)) throw error;
    throw new InvalidStateError(
      `session "${sessionId}" moved on while run "${result.state.runId}" ran (two follow-ups at once); ` +
        'dispatch the runs of one session with groupId: sessionId so they run one at a time',
    );
  }
}
