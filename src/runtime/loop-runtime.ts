import type { AgentOptions } from '../agent/options';
import { runAgent } from '../agent/run-agent';
import type { RunState } from '../agent/run-state';
import type { SessionStore } from '../store/session-store';
import type { Runtime, RuntimeRunOptions } from './runtime';

/** The agent settings of {@link loopRuntime}: everything of `runAgent` but what each run brings. */
export type LoopRuntimeSettings = Omit<
  AgentOptions,
  'prompt' | 'followUp' | 'runId' | 'state' | 'checkpoints' | 'signal' | 'answers' | 'onEvent'
>;

/**
 * loopwork's own agent loop (`runAgent`) as a {@link Runtime}: the model, tools, hooks and limits
 * of `settings`, with the run's limits laid over them.
 *
 * @example
 * ```ts
 * const assistant = runtimeTask({ type: 'assistant', checkpoints, runtime: loopRuntime({ model, tools }) });
 * ```
 */
export function loopRuntime(settings: LoopRuntimeSettings): Runtime {
  return {
    specificationVersion: 'loopwork.runtime.v1',
    name: 'loopwork',
    async run(options) {
      const { resumeFrom, input } = options;
      const start: Pick<AgentOptions, 'prompt' | 'followUp' | 'state' | 'answers'> =
        resumeFrom?.kind === 'attempt'
          ? { state: resumeFrom.state }
          : resumeFrom
            ? {
                state: { ...resumeFrom.state, runId: options.runId },
                ...(input.prompt === undefined ? {} : { followUp: input.prompt }),
                ...(input.answers === undefined ? {} : { answers: input.answers }),
              }
            : input.prompt === undefined
              ? {}
              : { prompt: input.prompt };
      const result = await runAgent({
        ...settings,
        ...options.limits,
        ...start,
        runId: options.runId,
        checkpoints: checkpointSink(options),
        signal: options.signal,
        onEvent: options.emit,
      });
      return {
        status: result.status,
        // With an output schema, only the validated answer: never the text of a refused one.
        ...(settings.output === undefined
          ? { output: result.text }
          : result.output === undefined
            ? {}
            : { output: result.output }),
        state: result.state,
        usage: result.usage,
        costUsd: result.costUsd,
        ...(result.budget ? { budget: result.budget } : {}),
        ...(result.error ? { error: result.error } : {}),
      };
    },
  };
}

/**
 * `runAgent` checkpoints into a `SessionStore`; here every save goes to the runtime's
 * `checkpoint` (which keeps the versions), and nothing is loaded: the start is given explicitly.
 */
function checkpointSink(options: RuntimeRunOptions): SessionStore {
  let version = 0;
  return {
    specificationVersion: 'loopwork.session-store.v1',
    load: async () => undefined,
    async save(_key, state: RunState) {
      await options.checkpoint(state);
      return ++version;
    },
    delete: async () => {},
  };
}
