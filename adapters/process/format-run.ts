import type { RuntimeRunOptions } from 'loopwork';
import { PROCESS_DEFAULTS } from './defaults';
import type { FormatRun, ProcessFormat } from './format';
import type { ProcessRuntimeSettings } from './settings';
import { toolSpec } from './tools';

/** What the format is told of a run: its prompt (or the continue prompt), handle, limits, tools. */
export function formatRunOf(
  settings: ProcessRuntimeSettings,
  format: ProcessFormat,
  options: RuntimeRunOptions,
  maxTurns: number,
): FormatRun {
  const prior = options.resumeFrom?.state;
  const kind = options.resumeFrom?.kind;
  const handle = prior?.runtime?.handle ?? undefined;
  const prompt = options.input.prompt;
  // A vendor session resumed after a crash already holds the task: it is asked to go on.
  const continues = kind === 'attempt' && format.handleKind === 'session' && handle !== undefined;
  const extra = settings.args ?? [];
  return {
    runId: options.runId,
    ...(continues
      ? { prompt: settings.continuePrompt ?? PROCESS_DEFAULTS.continuePrompt }
      : prompt !== undefined
        ? { prompt }
        : {}),
    ...(options.input.answers ? { answers: options.input.answers } : {}),
    ...(handle !== undefined ? { handle } : {}),
    ...(kind ? { resumeKind: kind } : {}),
    limits: { ...options.limits, maxTurns },
    tools: (settings.tools ?? []).map(toolSpec),
    input: settings.input ?? format.defaultInput,
    remainingTurns: Math.max(0, maxTurns - (prior?.turns.length ?? 0)),
    extraArgs:
      typeof extra === 'function'
        ? extra({ runId: options.runId, resumed: prior !== undefined })
        : extra,
  };
}
