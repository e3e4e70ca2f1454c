import {
  addUsage,
  type BudgetName,
  emptyUsage,
  LoopworkError,
  type Redactor,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  type RuntimeResult,
  type RuntimeRunOptions,
} from 'loopwork';
import type { Signal } from './format';

/** How the run ends, decided once (the first stop wins). */
export interface Ending {
  status: RuntimeResult['status'];
  budget?: BudgetName;
  error?: Error;
}

/** What {@link decideEnding} looks at once the process is gone. */
export interface EndFacts {
  /** Set when loopwork stopped the run (cancel, a limit, a bad line, a refused checkpoint). */
  stopped: Ending | undefined;
  aborted: boolean;
  /** The agent's own `result`, when it wrote one. */
  result: Extract<Signal, { kind: 'result' }> | undefined;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  command: string;
  format: string;
  exitCodes: Record<number, RuntimeResult['status']> | undefined;
  badLines: number;
  /** The kept end of stderr. */
  stderr: string;
  redactor: Redactor;
}

/**
 * How a process run ended — the one place that decides it: a stop's reason first, then the
 * run's aborted signal, then the agent's result line, then the exit code (`exitCodes`, `0` →
 * completed, any other → failed). A failure carries the redacted end of stderr.
 */
export function decideEnding(facts: EndFacts): Ending {
  const withStderr = (ending: Ending): Ending => {
    const tail = facts.stderr.trim();
    if (!ending.error || !tail || ending.error.message.includes('stderr:')) return ending;
    const message = `${ending.error.message}; stderr: ${facts.redactor.string(tail)}`;
    return { ...ending, error: new Error(message, { cause: ending.error }) };
  };
  if (facts.stopped) return withStderr(facts.stopped);
  if (facts.aborted) return { status: 'aborted' };
  const { result, exit } = facts;
  if (result) {
    if (result.status === 'completed') return { status: 'completed' };
    const why = result.error ? `: ${facts.redactor.string(result.error)}` : '';
    return withStderr({
      status: result.status,
      error: new Error(
        `[loopwork:process] ${facts.format}: the agent ended ${result.status}${why}`,
      ),
    });
  }
  const codes: Record<number, RuntimeResult['status']> = { 0: 'completed', ...facts.exitCodes };
  const status = typeof exit?.code === 'number' ? (codes[exit.code] ?? 'failed') : 'failed';
  if (status === 'completed') return { status };
  const how = exit?.signal ? `was killed by ${exit.signal}` : `exited with code ${exit?.code}`;
  const lines = facts.badLines > 0 ? ` (${facts.badLines} stdout lines could not be read)` : '';
  return withStderr({
    status,
    error: new Error(`[loopwork:process] "${facts.command}" ${how}${lines}`),
  });
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The result of a run that could not start (a state of another runtime, bad tools). */
export function refusedRun(name: string, options: RuntimeRunOptions, error: Error): RuntimeResult {
  const prior = options.resumeFrom?.state;
  const state: RunState = {
    schemaVersion: RUN_STATE_SCHEMA_VERSION,
    runId: options.runId,
    status: 'failed',
    messages: prior?.messages ?? [],
    turns: prior?.turns ?? [],
    toolResults: [],
    suspensions: [],
    error: { code: LoopworkError.isInstance(error) ? error.code : 'error', message: error.message },
    runtime: prior?.runtime ?? { name, handle: null },
  };
  const usage = state.turns.reduce((sum, turn) => addUsage(sum, turn.usage), emptyUsage());
  const costUsd = state.turns.reduce((sum, turn) => sum + turn.costUsd, 0);
  return { status: 'failed', state, usage, costUsd, error };
}
