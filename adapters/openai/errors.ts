import {
  ModelError,
  type ModelErrorKind,
  modelErrorKindFromStatus,
  parseRetryAfter,
} from 'loopwork';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

/** Provider name used in errors, events and `providerOptions`. */
export const PROVIDER = 'openai';
/** Prefix of every message this adapter writes. */
export const PREFIX = '[loopwork:openai]';

/** Error codes OpenAI sends in a body or an in-stream error event, and what they mean here. */
const CODE_KINDS: Readonly<Record<string, ModelErrorKind>> = {
  context_length_exceeded: 'context_length',
  rate_limit_exceeded: 'rate_limit',
  insufficient_quota: 'rate_limit',
  invalid_api_key: 'auth',
  model_not_found: 'not_found',
  server_error: 'server',
  invalid_prompt: 'content_filter',
  content_policy_violation: 'content_filter',
  image_content_policy_violation: 'content_filter',
};
// Compatible servers (and older OpenAI models) say it only in words, with a generic code.
const CONTEXT_LENGTH_TEXT = /maximum context length|context[ _]length|context window/i;
// Rate-limit messages say when: "Please try again in 2s" / "in 644ms" / "in 1m30s".
const TRY_AGAIN = /try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)/i;
// OpenAI masks keys it echoes (`sk-proj-****abcd`); proxies may not. Either way, never repeat one.
const KEY_PATTERN = /\bsk-[A-Za-z0-9_*-]{6,}/g;

/** Removes the configured API key, and anything shaped like an OpenAI key, from `text`. */
export function redact(text: string, secret: string | null | undefined): string {
  const withoutSecret = secret && secret.length >= 8 ? text.split(secret).join('[redacted]') : text;
  return withoutSecret.replace(KEY_PATTERN, 'sk-[redacted]');
}

// `instanceof` fails when the client comes from another copy of the SDK; the class name does not.
function isSdkError<T>(error: unknown, type: abstract new (...args: never[]) => T): error is T {
  return (
    error instanceof type ||
    (typeof error === 'object' && error !== null && error.constructor?.name === type.name)
  );
}

/** Reads OpenAI's `x-ratelimit-reset-*` durations (`1s`, `6m0s`, `20ms`) into milliseconds. */
export function parseResetDuration(value: string | null): number | undefined {
  if (value === null || !/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(value)) return undefined;
  const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const [, amount, , unit] of value.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) {
    total += Number(amount) * (unitMs[unit as string] ?? 0);
  }
  return Math.round(total);
}

/**
 * How long a 429 asks us to wait: `retry-after-ms` / `retry-after` first (the core's reading),
 * else the reset time of whichever `x-ratelimit-*` budget is exhausted.
 */
export function retryAfterOf(headers: Headers | undefined, status: number): number | undefined {
  if (!headers) return undefined;
  const explicit = parseRetryAfter(headers);
  if (explicit !== undefined || status !== 429) return explicit;
  const waits = (['requests', 'tokens'] as const)
    .filter((budget) => headers.get(`x-ratelimit-remaining-${budget}`) === '0')
    .map((budget) => parseResetDuration(headers.get(`x-ratelimit-reset-${budget}`)))
    .filter((wait) => wait !== undefined);
  return waits.length > 0 ? Math.max(...waits) : undefined;
}

function fromApiError(error: APIError, secret: string | null | undefined): ModelError {
  const code = typeof error.code === 'string' ? error.code : undefined;
  const { status, type } = error;
  let kind: ModelErrorKind =
    status === undefined
      ? (CODE_KINDS[code ?? ''] ??
        CODE_KINDS[type ?? ''] ??
        (type === 'invalid_request_error' ? 'invalid_request' : 'server'))
      : modelErrorKindFromStatus(status);
  if (
    code === 'context_length_exceeded' ||
    (kind === 'invalid_request' && CONTEXT_LENGTH_TEXT.test(error.message))
  ) {
    kind = 'context_length';
  } else if (CODE_KINDS[code ?? ''] === 'content_filter') {
    kind = 'content_filter';
  }
  // Neither an empty quota nor a request larger than the whole per-minute limit gets better by
  // waiting: retrying would only burn the retry budget.
  const hopeless =
    code === 'insufficient_quota' ||
    type === 'insufficient_quota' ||
    (kind === 'rate_limit' && /request too large/i.test(error.message));
  const retryAfterMs =
    (status === undefined ? undefined : retryAfterOf(error.headers, status)) ??
    (kind === 'rate_limit'
      ? parseResetDuration(TRY_AGAIN.exec(error.message)?.[1] ?? null)
      : undefined);
  const details = [code ?? type, error.requestID ? `request ${error.requestID}` : undefined]
    .filter(Boolean)
    .join(', ');
  const text = redact(error.message, secret);
  // An HTML error page from a gateway can be long; the start says what it is.
  const shown = text.length > 500 ? `${text.slice(0, 500)}…` : text;
  const message = `${PREFIX} ${status === undefined ? 'stream error: ' : ''}${shown}${details ? ` (${details})` : ''}`;
  return new ModelError(message, {
    kind,
    provider: PROVIDER,
    ...(status === undefined ? {} : { status }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(hopeless ? { retryable: false } : {}),
    ...(error.requestID ? { requestId: error.requestID } : {}),
    // The body may echo the key (a proxy that does not mask it): keep it out of the cause too.
    cause: text === error.message ? error : new Error(text),
  });
}

/**
 * Maps whatever the SDK threw to what the loop expects: the abort reason when the call's signal
 * fired (never a retryable error), a {@link ModelError} for API, connection and timeout errors,
 * and anything else unchanged.
 */
export function toModelError(
  error: unknown,
  signal: AbortSignal,
  secret: string | null | undefined,
): unknown {
  if (signal.aborted) return signal.reason;
  if (ModelError.isInstance(error) || isSdkError(error, APIUserAbortError)) return error;
  if (isSdkError(error, APIConnectionTimeoutError)) {
    return new ModelError(`${PREFIX} the request timed out`, {
      kind: 'timeout',
      provider: PROVIDER,
      cause: error,
    });
  }
  if (isSdkError(error, APIConnectionError)) {
    const cause = (error as { cause?: unknown }).cause;
    const reason = cause instanceof Error ? `: ${redact(cause.message, secret)}` : '';
    return new ModelError(`${PREFIX} connection error${reason}`, {
      kind: 'network',
      provider: PROVIDER,
      cause: error,
    });
  }
  if (isSdkError(error, APIError)) return fromApiError(error, secret);
  return error;
}

/**
 * Like {@link toModelError}, for errors raised while reading a stream: there, anything that is
 * not an API error (a reset socket, a body cut off mid-event) is a network failure worth a retry.
 */
export function toStreamError(
  error: unknown,
  signal: AbortSignal,
  secret: string | null | undefined,
): unknown {
  if (signal.aborted || ModelError.isInstance(error) || isSdkError(error, APIUserAbortError)) {
    return toModelError(error, signal, secret);
  }
  if (isSdkError(error, APIError)) return toModelError(error, signal, secret);
  const reason = error instanceof Error ? redact(error.message, secret) : String(error);
  return new ModelError(`${PREFIX} the stream broke off: ${reason}`, {
    kind: 'network',
    provider: PROVIDER,
    cause: error,
  });
}

/** The stream ended without its final event: the connection was cut, so the answer is partial. */
export function streamEndedEarly(): ModelError {
  return new ModelError(`${PREFIX} the stream ended before the response was complete`, {
    kind: 'network',
    provider: PROVIDER,
  });
}

/** A failure OpenAI reported inside a 200 response (Responses API `response.failed` / `error`). */
export function reportedError(
  reported: { code?: string | null; message?: string | null; type?: string | null },
  secret: string | null | undefined,
): ModelError {
  const error = new APIError(undefined, reported, undefined, undefined);
  return fromApiError(error, secret);
}
