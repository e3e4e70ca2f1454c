import { InvalidStateError } from 'loopwork';

/** The runtime's name in run states and events. */
export const RUNTIME_NAME = 'openai-agents';

/**
 * What the runtime keeps in a run state's `runtime.handle`: the SDK's own `RunState`, serialized
 * by `state.toString()` and read back by `RunState.fromString(agent, state)`.
 */
export interface AgentsRunHandle {
  /** Format of this handle. */
  version: 1;
  /** `RunState.toString()` of the SDK run. */
  state: string;
}

/**
 * The handle in a run state's `runtime` field, or undefined when the state has none yet; a state
 * written by another runtime is refused (it cannot be continued here).
 */
export function handleOf(
  runtime: { name: string; handle: unknown } | undefined,
  where: string,
): AgentsRunHandle | undefined {
  if (!runtime) return undefined;
  if (runtime.name !== RUNTIME_NAME) {
    throw new InvalidStateError(
      `[loopwork:openai-agents] ${where} was written by the "${runtime.name}" runtime; an OpenAI Agents run cannot continue it (start a new session)`,
    );
  }
  const handle = runtime.handle as Partial<AgentsRunHandle> | null;
  if (handle?.version !== 1 || typeof handle.state !== 'string') {
    throw new InvalidStateError(
      `[loopwork:openai-agents] ${where} has no valid OpenAI Agents run handle (expected { version: 1, state: string })`,
    );
  }
  return handle as AgentsRunHandle;
}
