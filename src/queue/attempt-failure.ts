import { LoopworkError } from '../errors';
import type { Redactor } from '../secrets/redact';
import type { RunError } from '../store/run-store';

/** Longest error message kept on a run record or in an event. */
const MAX_MESSAGE = 2_000;

/** Runs `read`, or gives `fallback` when it throws (a getter or a Proxy of a hostile value). */
function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** A readable description of anything a handler threw or rejected with; never throws. */
export function describeThrown(thrown: unknown): string {
  return safely(() => {
    if (thrown instanceof Error) {
      const name = safely(() => String(thrown.name), 'Error');
      const message = safely(() => String(thrown.message), '(its message could not be read)');
      if (message === '') return name;
      return name === 'Error' ? message : `${name}: ${message}`;
    }
    if (thrown === undefined) return 'rejected with undefined (no reason given)';
    if (thrown === null) return 'rejected with null (no reason given)';
    if (typeof thrown === 'string') return thrown === '' ? 'rejected with an empty string' : thrown;
    if (typeof thrown === 'object') {
      const json = safely(() => JSON.stringify(thrown), undefined);
      const kind = safely(() => Object.prototype.toString.call(thrown), '[object]');
      return `rejected with ${kind}${json === undefined || json === '{}' ? '' : ` ${json}`}`;
    }
    return `rejected with ${typeof thrown} ${String(thrown)}`;
  }, 'rejected with a value that could not be described');
}

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
