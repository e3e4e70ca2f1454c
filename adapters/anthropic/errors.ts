import { inspect } from 'node:util';
import {
  ModelError,
  type ModelErrorKind,
  modelErrorKindFromStatus,
  parseRetryAfter,
} from 'loopwork';

const PROVIDER = 'anthropic';

/**
 * Kinds for Anthropic's `error.type`, used when an error has no HTTP status: an SSE `error` event
 * that arrives after the stream's `200` (for example `overloaded_error`, which would have been a
 * 529 before the stream started).
 */
const KIND_BY_TYPE: Readonly<Record<string, ModelErrorKind>> = {
  overloaded_error: 'overloaded',
  rate_limit_error: 'rate_limit',
  api_error: 'server',
  timeout_error: 'timeout',
  authentication_error: 'auth',
  permission_error: 'auth',
  billing_error: 'auth',
  not_found_error: 'not_found',
  request_too_large: 'context_length',
  invalid_request_error: 'invalid_request',
};

/** A 400 whose message says the prompt does not fit the model ("prompt is too long: …"). */
const CONTEXT_LENGTH_MESSAGE = /prompt is too long|context window|context length|too many tokens/i;

/** The SDK's errors for a client that has no usable credentials (thrown before any request). */
const MISSING_CREDENTIALS = /authentication method|`apiKey` function/;

/** `error.details.error_code` values that a retry cannot fix, although their kind is retryable. */
const FINAL_ERROR_CODES: ReadonlySet<string> = new Set(['enforced_spend_limit_reached']);

/** The shape of the SDK's `APIError`, read by duck typing so a second copy of the SDK works too. */
interface SdkApiError {
  name: string;
  message: string;
  status?: number;
  headers?: { get(name: string): string | null };
  type?: string | null;
  apiMessage?: string | null;
  errorCode?: string | null;
  requestID?: string | null;
}

/**
 * Rethrows what a call through the SDK threw: the abort reason when the call's signal fired,
 * a {@link ModelError} otherwise. Messages name the adapter and never contain `secrets`.
 */
export function rethrow(error: unknown, signal: AbortSignal, secrets: readonly string[]): never {
  if (signal.aborted) throw abortReason(signal);
  if (ModelError.isInstance(error)) throw error;
  throw toModelError(error, secrets);
}

/** What to throw for an aborted call: the signal's reason, or a standard `AbortError`. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/** Maps anything the SDK throws to a {@link ModelError} (not called for aborts). */
export function toModelError(error: unknown, secrets: readonly string[]): ModelError {
  const redact = (text: string) =>
    secrets.reduce((out, s) => out.split(s).join('[redacted]'), text);
  const make = (kind: ModelErrorKind, message: string, extra: Partial<SdkApiError> = {}) =>
    new ModelError(redact(`[loopwork:anthropic] ${message}`), {
      kind,
      provider: PROVIDER,
      ...(extra.status === undefined ? {} : { status: extra.status }),
      ...retryAfterOf(extra),
      ...(extra.errorCode && FINAL_ERROR_CODES.has(extra.errorCode) ? { retryable: false } : {}),
      ...(extra.requestID ? { requestId: extra.requestID } : {}),
      // Loggers print the cause chain: keep the SDK's error only if no secret shows in it (a
      // proxy could echo the key in an error body; the SDK itself keeps no request headers).
      ...(mentions(error, secrets) ? {} : { cause: error }),
    });

  if (!isSdkError(error)) {
    if (error instanceof Error && MISSING_CREDENTIALS.test(error.message)) {
      return make('auth', describe(error));
    }
    // A body that broke off (undici's `TypeError: terminated`), a malformed SSE line, or similar.
    return make('network', `connection failed: ${describe(error)}`);
  }
  if (error.name === 'APIConnectionTimeoutError') return make('timeout', 'request timed out');
  if (error.name === 'APIConnectionError') {
    return make('network', `connection failed: ${describe((error as Error).cause ?? error)}`);
  }
  if (error.name === 'APIUserAbortError') {
    return make('network', 'request was aborted by the SDK');
  }
  const kind = kindOf(error);
  if (kind === undefined) return make('network', describe(error));
  return make(kind, apiErrorText(error), error);
}

function kindOf(error: SdkApiError): ModelErrorKind | undefined {
  const type = error.type ?? undefined;
  if (type === 'overloaded_error') return 'overloaded';
  if (type === 'request_too_large') return 'context_length';
  const base =
    typeof error.status === 'number'
      ? modelErrorKindFromStatus(error.status)
      : type === undefined
        ? undefined
        : (KIND_BY_TYPE[type] ?? 'server');
  if (
    base === 'invalid_request' &&
    CONTEXT_LENGTH_MESSAGE.test(error.apiMessage ?? error.message)
  ) {
    return 'context_length';
  }
  return base;
}

function apiErrorText(error: SdkApiError): string {
  const status = typeof error.status === 'number' ? `HTTP ${error.status} ` : 'stream error ';
  const detail = error.apiMessage ?? error.message;
  const requestId = error.requestID ? ` (request-id ${error.requestID})` : '';
  return `${status}${error.type ?? 'error'}: ${detail}${requestId}`;
}

function retryAfterOf(error: Partial<SdkApiError>): { retryAfterMs?: number } {
  if (!error.headers || typeof error.headers.get !== 'function') return {};
  const ms = parseRetryAfter(error.headers);
  return ms === undefined ? {} : { retryAfterMs: ms };
}

function isSdkError(error: unknown): error is SdkApiError {
  // Every APIError subclass (connection, timeout and abort errors included) sets both fields.
  return error instanceof Error && 'status' in error && 'headers' in error;
}

function mentions(value: unknown, secrets: readonly string[]): boolean {
  if (secrets.length === 0) return false;
  const text = inspect(value, { depth: 6, breakLength: Number.POSITIVE_INFINITY });
  return secrets.some((secret) => text.includes(secret));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
