import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionError } from '../errors';
import type { EventLog, LoggedEvent } from '../store/event-log';
import { SSE_DEFAULTS } from './sse-defaults';
import { parseLastEventId, SseRefusal, validRunId } from './sse-request';
import { nodeSink, type SseSink } from './sse-sink';

/** What `authorize` is asked about. */
export interface SseRequest {
  runId: string;
  /** Request headers, lower-cased names. */
  headers: Headers;
  url: URL;
}

/** Options of {@link createSseHandler}; defaults are in `SSE_DEFAULTS`. */
export interface SseHandlerOptions {
  events: EventLog;
  /**
   * Decides whether this request may read this run. Required: there is no open default. `false`
   * answers 403; a throw or rejection answers 500 (and goes to `onError`).
   */
  authorize: (request: SseRequest) => boolean | Promise<boolean>;
  /** Extracts the run id from the URL. @defaultValue the last path segment before `/events`, else the last one */
  runIdFrom?: (url: URL) => string | undefined;
  /** Comment line sent this often while the run is quiet, so proxies keep the connection. @defaultValue SSE_DEFAULTS.keepAliveMs (15 s) */
  keepAliveMs?: number;
  /** True for the event after which the stream closes. @defaultValue `data.type === 'task-finished'` (the worker's last event for a run) */
  isFinal?: (event: LoggedEvent) => boolean;
  /** Bytes written to one client and not yet taken by it before it is closed (it resumes with Last-Event-ID). @defaultValue SSE_DEFAULTS.maxBufferedBytes (4 MiB) */
  maxBufferedBytes?: number;
  /** How long one client may take nothing while events wait before it is closed. @defaultValue SSE_DEFAULTS.stallTimeoutMs (60 s) */
  stallTimeoutMs?: number;
  /** Clients of one run at once; one more is answered 429 with Retry-After. @defaultValue SSE_DEFAULTS.maxClientsPerRun (100) */
  maxClientsPerRun?: number;
  /** Errors the handler answered for (a throwing `authorize`, an event log that failed). @defaultValue console.error */
  onError?: (error: unknown) => void;
}

/** Serves one run's event log as Server-Sent Events, for `node:http` and for fetch-style servers. */
export interface SseHandler {
  /** Fetch-style: `Request → Response` (Hono, Next.js route handlers, Bun, Deno, …). Never rejects. */
  fetch(request: Request): Promise<Response>;
  /** `node:http` style: `(req, res)` (Express, Fastify's raw request, plain http.createServer). Never rejects. */
  node(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

const defaultRunId = (url: URL) => {
  const segments = url.pathname.split('/').filter(Boolean);
  const events = segments.lastIndexOf('events');
  return events > 0 ? segments[events - 1] : segments.at(-1);
};
const defaultIsFinal = (event: LoggedEvent) =>
  (event.data as { type?: unknown } | null)?.type === 'task-finished';

/** One SSE frame for a logged event: `id`, `event` (its `type`, when it has one) and JSON `data`. */
export function formatSseEvent(event: LoggedEvent): string {
  const type = (event.data as { type?: unknown } | null)?.type;
  const name = typeof type === 'string' && !/[\r\n]/.test(type) ? `event: ${type}\n` : '';
  let data: string;
  try {
    data = JSON.stringify(event.data) ?? 'null';
  } catch (error) {
    data = JSON.stringify({ type: 'unserializable', message: (error as Error).message });
  }
  return `id: ${event.id}\n${name}data: ${data}\n\n`;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new InvalidOptionError(`${name} must be a positive number, got ${value}`);
  return value;
}

/**
 * Creates an SSE handler: it sends the history after `Last-Event-ID` (header, or `lastEventId`
 * query parameter for a first connect), then live events, with keep-alive comments, and closes
 * after the run's final event. A client that reconnects with the last id it saw gets exactly the
 * events it missed, in order.
 *
 * It defends itself: a malformed run id or Last-Event-ID is answered 400 before the event log is
 * touched; `authorize` is required and its errors are answered 500; events are pulled from the
 * log only as fast as the client reads them (a client that stops reading holds at most
 * `maxBufferedBytes`, and is closed after `stallTimeoutMs`); at most `maxClientsPerRun` clients
 * follow one run. The returned functions never reject, so a request cannot crash the server.
 *
 * @example
 * ```ts
 * const sse = createSseHandler({ events, authorize: ({ headers }) => headers.get('authorization') === `Bearer ${token}` });
 * http.createServer((req, res) => sse.node(req, res)).listen(3000);
 * ```
 */
export function createSseHandler(options: SseHandlerOptions): SseHandler {
  if (typeof options.authorize !== 'function') {
    throw new InvalidOptionError(
      'authorize is required: pass a function deciding who may read which run (there is no open default)',
    );
  }
  const runIdFrom = options.runIdFrom ?? defaultRunId;
  const isFinal = options.isFinal ?? defaultIsFinal;
  const limits = {
    keepAliveMs: positive('keepAliveMs', options.keepAliveMs ?? SSE_DEFAULTS.keepAliveMs),
    maxBufferedBytes: positive(
      'maxBufferedBytes',
      options.maxBufferedBytes ?? SSE_DEFAULTS.maxBufferedBytes,
    ),
    stallTimeoutMs: positive(
      'stallTimeoutMs',
      options.stallTimeoutMs ?? SSE_DEFAULTS.stallTimeoutMs,
    ),
    maxClientsPerRun: positive(
      'maxClientsPerRun',
      options.maxClientsPerRun ?? SSE_DEFAULTS.maxClientsPerRun,
    ),
  };
  const onError = options.onError ?? ((error: unknown) => console.error('[loopwork:sse]', error));
  const clients = new Map<string, number>();

  /** Checks a request; resolves with what to stream, or the answer to give instead. */
  async function admit(url: URL, headers: Headers) {
    let runId: string | undefined;
    try {
      runId = runIdFrom(url);
    } catch {
      throw new SseRefusal(400, 'the run id could not be read from the URL');
    }
    if (!validRunId(runId)) throw new SseRefusal(400, 'missing or malformed run id in the URL');
    const after = parseLastEventId(
      headers.get('last-event-id') ?? url.searchParams.get('lastEventId'),
    );
    let allowed: boolean;
    try {
      allowed = await options.authorize({ runId, headers, url });
    } catch (error) {
      onError(error);
      throw new SseRefusal(500, 'authorization failed');
    }
    if (allowed !== true) throw new SseRefusal(403, 'forbidden');
    if ((clients.get(runId) ?? 0) >= limits.maxClientsPerRun)
      throw new SseRefusal(429, `too many clients follow run "${runId}"; retry later`);
    if (after !== undefined && (await finishedBefore(runId, after))) {
      // EventSource reconnects whenever a stream closes; 204 is how SSE tells it to stop.
      throw new SseRefusal(204, '');
    }
    return { runId, after };
  }

  /** True when the client has already seen the run's final event. */
  async function finishedBefore(runId: string, after: string): Promise<boolean> {
    if ((await options.events.read(runId, { after, limit: 1 })).length > 0) return false;
    const last = (await options.events.read(runId)).at(-1);
    return last !== undefined && isFinal(last);
  }

  /**
   * Streams the run to `sink` until its final event, the client leaving, a stall or an error:
   * one event is pulled from the log only after the last one was taken by the client.
   */
  async function pump(runId: string, after: string | undefined, sink: SseSink): Promise<void> {
    clients.set(runId, (clients.get(runId) ?? 0) + 1);
    const follow = options.events
      .follow(runId, { ...(after ? { after } : {}), signal: sink.gone })
      [Symbol.asyncIterator]();
    try {
      if (!(await sink.send(`retry: ${SSE_DEFAULTS.retryMs}\n\n`))) return;
      let next = follow.next();
      while (!sink.gone.aborted) {
        const ping = new Promise<'ping'>((resolve) => {
          const timer = setTimeout(() => resolve('ping'), limits.keepAliveMs);
          void next.finally(() => clearTimeout(timer));
        });
        const step = await Promise.race([next, ping]);
        if (step === 'ping') {
          sink.ping();
          continue;
        }
        if (step.done) return;
        if (!(await sink.send(formatSseEvent(step.value)))) return;
        if (isFinal(step.value)) return;
        next = follow.next();
      }
    } catch (error) {
      if (!sink.gone.aborted) onError(error);
    } finally {
      sink.close();
      await follow.return?.().catch(() => {});
      const left = (clients.get(runId) ?? 1) - 1;
      if (left > 0) clients.set(runId, left);
      else clients.delete(runId);
    }
  }

  const answer = (refusal: SseRefusal) =>
    new Response(refusal.status === 204 ? null : refusal.message, {
      status: refusal.status,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        ...(refusal.status === 429 ? { 'retry-after': '5' } : {}),
      },
    });

  return {
    async fetch(request) {
      let admitted: { runId: string; after: string | undefined };
      try {
        admitted = await admit(new URL(request.url), request.headers);
      } catch (error) {
        if (error instanceof SseRefusal) return answer(error);
        onError(error);
        return answer(new SseRefusal(503, 'the event log is unavailable; retry later'));
      }
      const { readable, sink } = fetchStream(limits, request.signal);
      void pump(admitted.runId, admitted.after, sink);
      return new Response(readable, { headers: SSE_HEADERS });
    },
    async node(request, response) {
      try {
        let url: URL;
        try {
          url = new URL(request.url ?? '/', 'http://localhost');
        } catch {
          throw new SseRefusal(400, 'malformed URL');
        }
        const headers = new Headers();
        for (const [name, value] of Object.entries(request.headers)) {
          if (typeof value === 'string') headers.set(name, value);
          else if (Array.isArray(value)) headers.set(name, value.join(', '));
        }
        const admitted = await admit(url, headers);
        response.writeHead(200, SSE_HEADERS);
        response.flushHeaders();
        await pump(admitted.runId, admitted.after, nodeSink(response, limits));
      } catch (error) {
        if (!(error instanceof SseRefusal)) onError(error);
        const refusal =
          error instanceof SseRefusal
            ? error
            : new SseRefusal(503, 'the event log is unavailable; retry later');
        if (!response.headersSent) {
          response.writeHead(refusal.status, {
            'content-type': 'text/plain; charset=utf-8',
            ...(refusal.status === 429 ? { 'retry-after': '5' } : {}),
          });
        }
        response.end(refusal.status === 204 ? undefined : refusal.message);
      }
    },
  };
}

/** A pull-based stream: the pump waits until the consumer wants more (its queue below a high-water mark). */
function fetchStream(
  limits: { maxBufferedBytes: number; stallTimeoutMs: number },
  signal: AbortSignal | undefined,
): { readable: ReadableStream<Uint8Array>; sink: SseSink } {
  const encoder = new TextEncoder();
  const gone = new AbortController();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let wanted: (() => void) | undefined;
  const readable = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        wanted?.();
      },
      cancel() {
        gone.abort();
        wanted?.();
      },
    },
    // Only a little is queued ahead of the consumer; the rest waits in the event log.
    new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
  );
  signal?.addEventListener('abort', () => gone.abort(), { once: true });
  const queued = () => 64 * 1024 - (controller.desiredSize ?? 0);
  let ended = false;
  /** Ends the stream: after what is queued (close), or now (a stalled or overflowing client). */
  const end = (how: 'close' | 'drop') => {
    gone.abort();
    if (ended) return;
    ended = true;
    try {
      if (how === 'close') controller.close();
      else controller.error(new Error('client too slow: reconnect with Last-Event-ID'));
    } catch {
      // already closed or cancelled by the consumer
    }
  };
  const sink: SseSink = {
    gone: gone.signal,
    async send(chunk) {
      if (gone.signal.aborted) return false;
      const bytes = encoder.encode(chunk);
      if (queued() + bytes.length > limits.maxBufferedBytes) {
        end('drop');
        return false;
      }
      controller.enqueue(bytes);
      if ((controller.desiredSize ?? 0) > 0) return true;
      // Full: wait until the consumer reads (pull), leaves, or stalls too long.
      const stalled = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), limits.stallTimeoutMs);
        wanted = () => {
          clearTimeout(timer);
          wanted = undefined;
          resolve(false);
        };
      });
      if (stalled) end('drop');
      return !gone.signal.aborted;
    },
    ping() {
      // Only into an empty queue: for a client that reads nothing, keep-alives must not pile up.
      if (!gone.signal.aborted && queued() === 0)
        controller.enqueue(encoder.encode(': keep-alive\n\n'));
    },
    close: () => end('close'),
  };
  return { readable, sink };
}
