import { LoopworkError } from '../errors';
import { describeThrown, safely } from '../internal/describe-thrown';
import type { Redactor } from '../secrets/redact';
import type { RunError } from '../store/run-store';

/** Longest error message kept on a run record or in an event. */
const MAX_MESSAGE = 2_000;

export { describeThrown };

/** The record's view of a failure: a stable code and a readable, redacted, bounded message. */
export function runErrorOf(thrown: unknown, redactor: Redactor, code?: string): RunError {
  const own = safely(() => (LoopworkError.isInstance(thrown) ? thrown.code : undefined), undefined);
  const text = describeThrown(thrown);
  const bounded = text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}… (truncated)` : text;
  return {
    code: code ?? own ?? 'handler_error',
    message: safely(() => redactor.string(bounded), '(the message could not be redacted)'),
  };
}

/**
 * Whether another attempt may succeed after `thrown`. A loopwork error that says it is not
 * retryable (bad auth, a prompt over the context window, a bad option) is final. A conflict is
 * the exception: it is a concurrent writer of the same state (a superseded attempt still running),
 * and a later attempt continues from the winner's checkpoint. Anything else may be transient.
 */
export function isRetryable(thrown: unknown): boolean {
  return safely(
    () => !LoopworkError.isInstance(thrown) || thrown.retryable || thrown.code === 'conflict',
    true,
  );
}
