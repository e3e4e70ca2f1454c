import { LoopworkError } from '../errors';

/** What went wrong with a model call, normalized across providers. */
export type ModelErrorKind =
  | 'rate_limit'
  | 'overloaded'
  | 'server'
  | 'network'
  | 'timeout'
  | 'auth'
  | 'invalid_request'
  | 'not_found'
  | 'context_length'
  | 'content_filter';

const RETRYABLE_KINDS: ReadonlySet<ModelErrorKind> = new Set([
  'rate_limit',
  'overloaded',
  'server',
  'network',
  'timeout',
]);

/** Options of {@link ModelError}. */
export interface ModelErrorOptions {
  kind: ModelErrorKind;
  /** Provider the error came from, for example `anthropic`. */
  provider: string;
  /** HTTP status, when there was a response. */
  status?: number;
  /** How long the provider asked us to wait before retrying (from `retry-after` headers). */
  retryAfterMs?: number;
  /** Overrides the default (rate limit, overloaded, server, network and timeout are retryable). */
  retryable?: boolean;
  /**
   * The provider's id of the failed request (Anthropic's `request-id`, OpenAI's `x-request-id`
   * header), for a support ticket or the provider's logs.
   */
  requestId?: string | undefined;
  cause?: unknown;
}

/**
 * A model call failed. Adapters throw this; the loop retries it when `retryable`.
 *
 * Messages must never contain credentials: adapters build them from status and provider
 * error text only.
 */
export class ModelError extends LoopworkError {
  readonly kind: ModelErrorKind;
  readonly provider: string;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  /** The provider's id of the failed request, when the response carried one. */
  readonly requestId: string | undefined;

  constructor(message: string, options: ModelErrorOptions) {
    super('model_error', message, {
      retryable: options.retryable ?? RETRYABLE_KINDS.has(options.kind),
      cause: options.cause,
    });
    this.name = 'ModelError';
    this.kind = options.kind;
    this.provider = options.provider;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.requestId = options.requestId ?? undefined;
  }

  static isInstance(error: unknown): error is ModelError {
    return LoopworkError.isInstance(error) && error.code === 'model_error';
  }
}

/**
 * Maps an HTTP status to an error kind; the one place adapters take this mapping from.
 * Provider-specific cases (a 400 that says the context is too long) are refined by the adapter.
 */
export function modelErrorKindFromStatus(status: number): ModelErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 408) return 'timeout';
  if (status === 413) return 'context_length';
  if (status === 429) return 'rate_limit';
  if (status === 529 || status === 503) return 'overloaded';
  if (status >= 500) return 'server';
  return 'invalid_request';
}

/** A non-negative decimal number and nothing else ("1.5", not "1.5s" or "-1"). */
const DECIMAL = /^\d+(\.\d+)?$/;

/**
 * Reads `retry-after-ms` (milliseconds) or `retry-after` (seconds or an HTTP date) into
 * milliseconds; undefined when absent or unparseable.
 */
export function parseRetryAfter(
  headers: { get(name: string): string | null },
  now: number = Date.now(),
): number | undefined {
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms !== undefined && DECIMAL.test(ms)) return Number.parseFloat(ms);
  const value = headers.get('retry-after')?.trim();
  if (value === undefined) return undefined;
  if (DECIMAL.test(value)) return Number.parseFloat(value) * 1000;
  // Every HTTP date has a time of day. Without this check V8's lenient Date.parse reads garbage
  // such as "-5" or "later 5" as a date in 2001, which would mean "retry right now".
  if (!/\d\d:\d\d:\d\d/.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
