import { AISDKError, APICallError, LoadAPIKeyError } from 'ai';
import {
  ModelError,
  type ModelErrorKind,
  modelErrorKindFromStatus,
  parseRetryAfter,
} from 'loopwork';

const PREFIX = '[loopwork:ai-sdk]';

const CONTEXT_LENGTH =
  /context[_ ]length|context window|prompt is too long|maximum context|request_too_large|too many (?:input )?tokens|exceeds the maximum number of tokens/i;
const CONTENT_FILTER = /content_policy_violation|content_filter|content management policy/i;
const OVERLOADED = /overloaded/i;
/** Error codes of a dropped or refused connection (Node, undici, Bun), anywhere in the cause chain. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ConnectionRefused',
  'ConnectionClosed',
]);
/** AI SDK errors meaning the provider answered with something unreadable: worth another try. */
const BAD_RESPONSE = [
  'AI_InvalidResponseDataError',
  'AI_JSONParseError',
  'AI_TypeValidationError',
  'AI_EmptyResponseBodyError',
];
/** API keys in the usual vendor formats, and bearer tokens: scrubbed even when not configured. */
const KEY_LIKE = /\bsk-[A-Za-z0-9_-]{8,}|\bAIza[0-9A-Za-z_-]{30,}|Bearer\s+[A-Za-z0-9._~+/=-]+/g;

/** Removes configured secrets and key-like strings from text that goes into an error message. */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const literal = secrets.filter((secret) => secret.length >= 4);
  return (text) => {
    let out = text;
    for (const secret of literal) out = out.split(secret).join('[redacted]');
    return out.replace(KEY_LIKE, '[redacted]');
  };
}

/** What the error mapping needs to know about the call. */
export interface ErrorContext {
  /** Provider name for messages and `ModelError.provider`. */
  provider: string;
  /** The call's signal: when it has fired, the abort wins over whatever the SDK threw. */
  signal: AbortSignal;
  redact: (text: string) => string;
}

/**
 * Turns whatever the AI SDK threw (or sent as a stream `error` part) into what the adapter
 * throws: the abort reason for an aborted call, else a {@link ModelError}.
 */
export function toAdapterError(error: unknown, context: ErrorContext): unknown {
  if (context.signal.aborted) return context.signal.reason ?? error;
  if (ModelError.isInstance(error)) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  if (APICallError.isInstance(error)) return fromApiCallError(error, context);
  if (LoadAPIKeyError.isInstance(error)) return build('auth', error.message, context, { error });
  if (AISDKError.isInstance(error)) {
    const kind = BAD_RESPONSE.includes(error.name) ? 'server' : 'invalid_request';
    return build(kind, error.message, context, { error });
  }
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return build('timeout', error.message, context, { error });
    const kind = isNetworkError(error) ? 'network' : 'invalid_request';
    return build(kind, messageWithCause(error), context, { error });
  }
  return fromErrorObject(error, context);
}

function fromApiCallError(error: APICallError, context: ErrorContext): ModelError {
  const status = error.statusCode;
  const text = `${error.message} ${error.responseBody ?? ''}`;
  if (status === undefined || status < 400) {
    // No HTTP error: the connection failed, or the body broke off or was unreadable.
    const unreadable =
      error.cause !== undefined && AISDKError.isInstance(error.cause)
        ? BAD_RESPONSE.includes(error.cause.name)
        : false;
    return build(unreadable ? 'server' : 'network', messageWithCause(error), context, { error });
  }
  const headers = new Headers(error.responseHeaders ?? {});
  const retryAfterMs = parseRetryAfter(headers);
  // Anthropic sends `request-id`, OpenAI and most OpenAI-compatible APIs `x-request-id`.
  const requestId = headers.get('x-request-id') ?? headers.get('request-id') ?? undefined;
  return build(refine(modelErrorKindFromStatus(status), status, text), error.message, context, {
    error,
    status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(requestId === undefined ? {} : { requestId }),
  });
}

/** Provider-specific refinements of the status table (one place: `modelErrorKindFromStatus`). */
function refine(kind: ModelErrorKind, status: number, text: string): ModelErrorKind {
  if (kind === 'invalid_request' && CONTEXT_LENGTH.test(text)) return 'context_length';
  if (kind === 'invalid_request' && CONTENT_FILTER.test(text)) return 'content_filter';
  if (status >= 500 && OVERLOADED.test(text)) return 'overloaded';
  return kind;
}

/**
 * A stream `error` part carries the provider's own error object, for example Anthropic's
 * `{ type: 'overloaded_error', message }` or OpenAI's `{ message, type, code }`.
 */
function fromErrorObject(error: unknown, context: ErrorContext): ModelError {
  const record = (typeof error === 'object' && error !== null ? error : {}) as Record<
    string,
    unknown
  >;
  const message =
    typeof record.message === 'string' ? record.message : (JSON.stringify(error) ?? String(error));
  const label = [record.type, record.code].filter((value) => value != null).join(' ');
  const text = `${label} ${message}`;
  const code = typeof record.code === 'number' ? record.code : Number.NaN;
  let kind: ModelErrorKind = 'server';
  if (code >= 400 && code <= 599) kind = refine(modelErrorKindFromStatus(code), code, text);
  else if (/overloaded/i.test(label)) kind = 'overloaded';
  else if (/rate_limit|insufficient_quota/i.test(label)) kind = 'rate_limit';
  else if (/authentication|permission|invalid_api_key/i.test(label)) kind = 'auth';
  else if (/not_found/i.test(label)) kind = 'not_found';
  else if (CONTEXT_LENGTH.test(text)) kind = 'context_length';
  else if (/invalid_request/i.test(label)) kind = refine('invalid_request', 400, text);
  const retryable = /insufficient_quota/i.test(label) ? false : undefined;
  return build(kind, `stream error${label ? ` (${label})` : ''}: ${message}`, context, {
    ...(retryable === undefined ? {} : { retryable }),
  });
}

function isNetworkError(error: Error): boolean {
  if (
    error.name === 'TypeError' &&
    /fetch failed|failed to fetch|terminated|network/i.test(error.message)
  ) {
    return true;
  }
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  }
  return false;
}

/** "Failed to process successful response" says little; the cause says what happened. */
function messageWithCause(error: Error): string {
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}

function build(
  kind: ModelErrorKind,
  message: string,
  context: ErrorContext,
  extra: {
    error?: unknown;
    status?: number;
    retryAfterMs?: number;
    retryable?: boolean;
    requestId?: string;
  },
): ModelError {
  const { error, ...rest } = extra;
  const status = rest.status === undefined ? '' : ` ${rest.status}`;
  const safe = context.redact(message);
  return new ModelError(`${PREFIX} ${context.provider}${status}: ${safe}`, {
    kind,
    provider: context.provider,
    ...rest,
    // The SDK error keeps the raw response body and request; attach it only when it holds no
    // secret, since loggers print causes.
    ...(error !== undefined && !carriesSecret(error, context) ? { cause: error } : {}),
  });
}

function carriesSecret(error: unknown, context: ErrorContext): boolean {
  const record = error as { message?: unknown; responseBody?: unknown; url?: unknown };
  return [record.message, record.responseBody, record.url].some(
    (text) => typeof text === 'string' && context.redact(text) !== text,
  );
}
