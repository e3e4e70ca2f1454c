/** How a run of the AI SDK runtime reports what went wrong, in loopwork's terms. */
import { RetryError } from 'ai';
import {
  BudgetStop,
  createBudgetLedger,
  createRedactor,
  LoopworkError,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  type RuntimeResult,
  type RuntimeRunOptions,
} from 'loopwork';
import { createRedactor as createKeyRedactor, toAdapterError } from './map-error';

let redactor: ReturnType<typeof createRedactor> | undefined;

export function errorRecord(error: Error): { code: string; message: string } {
  redactor ??= createRedactor();
  return {
    code: LoopworkError.isInstance(error) ? error.code : 'error',
    message: redactor.string(error.message),
  };
}

/** A thrown value of any kind as an Error (models and tools may throw strings or objects). */
export const asError = (value: unknown): Error =>
  value instanceof Error
    ? value
    : new Error(
        `[loopwork:ai-sdk] ${typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))}`,
      );

const redactKeys = createKeyRedactor([]);

/**
 * What a failed run reports: loopwork's own errors as they are, a provider's error (after the
 * AI SDK's retries) as a `ModelError` with its kind and `retryable`, so the worker retries only
 * what may succeed; key-like strings are scrubbed from its message.
 */
export function runError(failure: unknown, provider: string): Error {
  if (LoopworkError.isInstance(failure)) return failure;
  const cause = RetryError.isInstance(failure) ? failure.lastError : failure;
  const signal = new AbortController().signal;
  return asError(toAdapterError(cause, { provider, signal, redact: redactKeys }));
}

/** The BudgetStop behind an error, also inside the AI SDK's RetryError. */
export function budgetStopIn(error: unknown): BudgetStop | undefined {
  for (let cause = error; cause; ) {
    if (BudgetStop.isInstance(cause)) return cause;
    const { lastError, cause: next } = cause as { lastError?: unknown; cause?: unknown };
    cause = lastError ?? next;
  }
  return undefined;
}

/** The result of a run that could not start (bad input, a state from another runtime). */
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
    error: errorRecord(error),
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
