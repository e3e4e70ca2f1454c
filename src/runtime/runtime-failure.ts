// Helpers for runtime adapters: how a run that failed, or could not start, is reported — the same
// record and the same result whatever the framework, and never a throw of their own.

import { RUN_STATE_SCHEMA_VERSION, type RunState } from '../agent/run-state';
import { LoopworkError } from '../errors';
import { describeThrown, safely } from '../internal/describe-thrown';
import { createRedactor, type Redactor } from '../secrets/redact';
import { createBudgetLedger } from './budget-ledger';
import type { RuntimeResult, RuntimeRunOptions } from './runtime';

let redactor: Redactor | undefined;

/**
 * An error's record in a run state: a `LoopworkError`'s code (else `error`) and its message with
 * no secret in it (the built-in key formats and the environment's keys).
 */
export function runtimeErrorRecord(error: Error): { code: string; message: string } {
  // Built on first use: it reads the secrets in the environment then.
  redactor ??= createRedactor();
  const code = safely(() => (LoopworkError.isInstance(error) ? error.code : 'error'), 'error');
  const message = safely(() => String(error.message), describeThrown(error));
  return { code, message: redactor.string(message) };
}

/** What was thrown, as an Error: a framework, a model or a tool may throw anything. */
export function asRuntimeError(value: unknown, adapter: string): Error {
  return value instanceof Error
    ? value
    : new Error(`[loopwork:${adapter}] the run threw a non-Error value: ${describeThrown(value)}`);
}

/**
 * The result of a run that could not start (a missing peer, a state written by another runtime,
 * bad settings): `failed`, keeping what an earlier attempt spent, with its `run-finished` event.
 */
export function failedBeforeStart(options: RuntimeRunOptions, error: Error): RuntimeResult {
  const prior = options.resumeFrom?.state;
  const state: RunState = {
    ...(prior ?? {
      schemaVersion: RUN_STATE_SCHEMA_VERSION,
      messages: [],
      turns: [],
      toolResults: [],
      suspensions: [],
    }),
    runId: options.runId,
    status: 'failed',
    error: runtimeErrorRecord(error),
  };
  const { usage, costUsd } = createBudgetLedger({ turns: state.turns }).spent();
  options.emit({
    type: 'run-finished',
    runId: options.runId,
    status: 'failed',
    turns: state.turns.length,
    usage,
    costUsd,
  });
  return { status: 'failed', state, usage, costUsd, error };
}
