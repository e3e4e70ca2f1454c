import type { Runtime } from 'loopwork';
import { asError, refusedRun } from './ending';
import { ProcessRun } from './process-run';
import { checkSettings, type ProcessRuntimeSettings } from './settings';

/**
 * A {@link Runtime} that runs a command per run, in its own process group: CLI agents (`claude -p`,
 * `codex exec`) and agents in any language speaking loopwork's NDJSON protocol. Its stdout is read
 * as the format says and mapped to loopwork events, turns and a result; the session or thread id
 * (or the agent's own state) is checkpointed and passed back on resume; cancel stops the whole
 * group (SIGINT, SIGTERM, SIGKILL after grace periods).
 *
 * @example
 * ```ts
 * const runtime = processRuntime({ command: 'python3', args: ['agent.py'] }); // loopwork-ndjson
 * const claude = processRuntime({ command: 'claude', format: 'claude-stream-json', args: ['--permission-mode', 'dontAsk'] });
 * ```
 */
export function processRuntime(settings: ProcessRuntimeSettings): Runtime {
  const format = checkSettings(settings);
  const name = `process:${format.name}`;
  return {
    specificationVersion: 'loopwork.runtime.v1',
    name,
    async run(options) {
      let run: ProcessRun;
      try {
        run = new ProcessRun(settings, format, name, options);
      } catch (error) {
        return refusedRun(name, options, asError(error));
      }
      return run.execute();
    },
  };
}
