import { InvalidOptionError } from '../errors';
import type { EventLog, LoggedEvent } from '../store/event-log';

/** What `authorize` is asked about. */
export interface SseRequest {
  runId: string;
  /** Request headers, lower-cased names. */
  headers: Headers;
  url: URL;
}

/** Options of {@link createSseHandler}. Defaults are in {@link SSE_DEFAULTS}. */
export interface SseHandlerOptions {
  events: EventLog;
  /**
   * Decides whether this request may read this run: `false` is answered 403. Required: there is no
   * open default. A throw or rejection is answered 500 and passed to `onError`.
   */
  authorize: (request: SseRequest) => boolean | Promise<boolean>;
  /**
   * Extracts the run id from the URL; a throw is answered 400.
   * @defaultValue the last path segment before `/events`, else the last one
   */
  runIdFrom?: (url: URL) => string | undefined;
  /** Comment line sent this often so proxies keep the connection. @defaultValue 15000 */
  keepAliveMs?: number;
  /** True for the event after which the stream closes. @defaultValue `data.type === 'task-finished'` (the worker's last event for a run) */
  isFinal?: (event: LoggedEvent) => boolean;
  /** Most bytes left unsent for one client; see {@link SSE_DEFAULTS}. @defaultValue 2097152 (2 MiB) */
  maxBufferedBytes?: number;
  /**
   * How long a client may leave an event waiting (take no bytes, or not make room for it) before
   * its stream is cut off; see {@link SSE_DEFAULTS}. @defaultValue 60000
   */
  stallTimeoutMs?: number;
  /** Most clients following one run at once (in this handler); more are answered 429. @defaultValue 20 */
  maxClientsPerRun?: number;
  /** Longest run id accepted; a longer one is answered 400. @defaultValue 512 */
  maxRunIdLength?: number;
  /**
   * Told about server-side failures: `authorize` or `isFinal` throwing, the event log failing.
   * Never about bad requests (those are answered 4xx and not logged, so they cannot flood a log).
   * @defaultValue `console.error` with a `[loopwork:sse]` prefix
   */
  onError?: (error: unknown) => void;
}

/** Defaults of {@link SseHandlerOptions}, in one place. */
export const SSE_DEFAULTS = {
  /**
   * Interval of the `: keep-alive` comment, below the idle timeouts of common proxies (often 30 or
   * 60 s). Sent only when nothing is waiting unsent for the client, so it never piles up.
   * @defaultValue 15000
   */
  keepAliveMs: 15_000,
  /**
   * Most bytes waiting unsent for one client (in the response and its socket's buffer, or the
   * fetch body's queue). The handler reads the next event from the log only when the client has
   * room (backpressure), and writes a frame only if it fits under this with what is still
   * waiting, else waits until the client has taken enough: a client that stops reading costs at
   * most this. Twice the event logs' default `maxEventBytes`, so every event they store fits; a
   * frame larger than the cap on its own is sent as an `event-too-large` event with its id.
   * @defaultValue 2097152 (2 MiB)
   */
  maxBufferedBytes: 2_097_152,
  /**
   * How long an event may wait for a client that takes nothing (or never makes room for it)
   * before the stream is cut off (the socket destroyed, what waited for it dropped). Backpressure
   * bounds what such a client costs in bytes; this bounds how long it holds its socket, its
   * client slot and its reader of the log. A live client that resumes reading later reconnects
   * with `Last-Event-ID` and loses nothing. Quiet runs are not affected: only a client with an
   * event waiting for it can stall.
   * @defaultValue 60000
   */
  stallTimeoutMs: 60_000,
  /**
   * Most clients following one run at once, per handler (so per process). A run is watched by a
   * person in a few tabs, or a small team; 20 leaves room for that while one leaked token cannot
   * hold thousands of streams (each holds a socket, and on Redis a connection while live).
   * @defaultValue 20
   */
  maxClientsPerRun: 20,
  /**
   * Longest run id accepted. Generated run ids are UUIDs (36 characters); 512 leaves room for
   * composite ids of your own.
   * @defaultValue 512
   */
  maxRunIdLength: 512,
} as const;

/** The smallest `maxBufferedBytes` accepted: room for any placeholder or `stream-closed` frame. */
const MIN_BUFFERED_BYTES = 1_024;
/** `setInterval` and `setTimeout` fire at once for a longer delay (Node clamps to 1 ms and warns). */
const MAX_TIMER_MS = 2_147_483_647;

/** Options with every default filled in. */
export type ResolvedSseOptions = Required<SseHandlerOptions>;

const defaultRunIdFrom = (url: URL) => {
  const segments = url.pathname.split('/').filter(Boolean);
  const events = segments.lastIndexOf('events');
  return events > 0 ? segments[events - 1] : segments.at(-1);
};
const defaultIsFinal = (event: LoggedEvent) =>
  (event.data as { type?: unknown } | null)?.type === 'task-finished';
const defaultOnError = (error: unknown) => console.error('[loopwork:sse]', error);

function fail(option: string, rule: string, value: unknown): never {
  const shown =
    typeof value === 'number'
      ? String(value)
      : typeof value === 'string'
        ? JSON.stringify(value.slice(0, 40))
        : value === null
          ? 'null'
          : typeof value;
  throw new InvalidOptionError(`${option} must be ${rule}, got ${shown}`);
}

function integerAtLeast(option: string, value: unknown, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    fail(option, min === 1 ? 'a positive integer' : `an integer of at least ${min}`, value);
  }
  return value as number;
}

function optionalFunction<T>(option: string, value: T | undefined, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') fail(option, 'a function', value);
  return value;
}

/** Validates the options (each error names its option) and fills in the defaults. */
export function resolveSseOptions(options: SseHandlerOptions): ResolvedSseOptions {
  if (typeof options?.authorize !== 'function') {
    throw new InvalidOptionError(
      'authorize is required: pass a function deciding who may read which run (there is no open default)',
    );
  }
  const { events } = options;
  if (typeof events?.read !== 'function' || typeof events.follow !== 'function') {
    fail('events', 'an EventLog (with read and follow)', events);
  }
  const keepAliveMs = options.keepAliveMs ?? SSE_DEFAULTS.keepAliveMs;
  if (typeof keepAliveMs !== 'number' || !(keepAliveMs > 0 && keepAliveMs <= MAX_TIMER_MS)) {
    fail('keepAliveMs', `a positive number up to ${MAX_TIMER_MS}`, keepAliveMs);
  }
  const stallTimeoutMs = options.stallTimeoutMs ?? SSE_DEFAULTS.stallTimeoutMs;
  if (
    typeof stallTimeoutMs !== 'number' ||
    !(stallTimeoutMs > 0 && stallTimeoutMs <= MAX_TIMER_MS)
  ) {
    fail('stallTimeoutMs', `a positive number up to ${MAX_TIMER_MS}`, stallTimeoutMs);
  }
  return {
    events,
    authorize: options.authorize,
    runIdFrom: optionalFunction('runIdFrom', options.runIdFrom, defaultRunIdFrom),
    isFinal: optionalFunction('isFinal', options.isFinal, defaultIsFinal),
    onError: optionalFunction('onError', options.onError, defaultOnError),
    keepAliveMs,
    stallTimeoutMs,
    maxBufferedBytes: integerAtLeast(
      'maxBufferedBytes',
      options.maxBufferedBytes ?? SSE_DEFAULTS.maxBufferedBytes,
      MIN_BUFFERED_BYTES,
    ),
    maxClientsPerRun: integerAtLeast(
      'maxClientsPerRun',
      options.maxClientsPerRun ?? SSE_DEFAULTS.maxClientsPerRun,
      1,
    ),
    maxRunIdLength: integerAtLeast(
      'maxRunIdLength',
      options.maxRunIdLength ?? SSE_DEFAULTS.maxRunIdLength,
      1,
    ),
  };
}
