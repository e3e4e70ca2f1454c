import { type RuntimeTaskOptions, runtimeTask } from 'loopwork';
import { processRuntime } from './process-runtime';
import type { ProcessRuntimeSettings } from './settings';

/** Options of {@link processTask}: a runtime task's, with the process settings in `process`. */
export interface ProcessTaskOptions extends Omit<RuntimeTaskOptions, 'runtime'> {
  /** The command each run starts, and how it is read. */
  process: ProcessRuntimeSettings;
}

/**
 * A task type that runs a command per task under a worker: `runtimeTask` with a
 * {@link processRuntime} — checkpointed session or thread id, resume on redelivery, sessions,
 * cancel reaching the whole process group.
 *
 * @example
 * ```ts
 * const agent = processTask({ type: 'py-agent', checkpoints, process: { command: 'python3', args: ['agent.py'] }, limits: { maxCostUsd: 1 } });
 * const worker = createWorker({ queue, runs, handlers: [agent.handler] });
 * ```
 */
export function processTask(options: ProcessTaskOptions): ReturnType<typeof runtimeTask> {
  const { process, ...task } = options;
  return runtimeTask({ type: 'process', ...task, runtime: processRuntime(process) });
}
