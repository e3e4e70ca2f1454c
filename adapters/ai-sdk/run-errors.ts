/** How a run of the AI SDK runtime reports what went wrong, in loopwork's terms. */
import { RetryError } from 'ai';
import { BudgetStop, LoopworkError } from 'loopwork';
import { asRuntimeError, failedBeforeStart, runtimeErrorRecord } from 'loopwork/adapter-kit';
import { createRedactor as createKeyRedactor, toAdapterError } from './map-error';

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

/** A thrown value of any kind as an Error (models and tools may throw strings or objects). */
export const asError = (value: unknown): Error => asRuntimeError(value, 'ai-sdk');

export { failedBeforeStart, runtimeErrorRecord as errorRecord };
