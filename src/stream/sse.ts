import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionError } from '../errors';
import type { EventLog, LoggedEvent } from '../store/event-log';

/** What `authorize` is asked about. */
export interface SseRequest {
  runId: string;
  /** Request headers, lower-cased names. */
  headers: Headers;
  url: URL;
}

/** Options of {@link createSseHandler}. */
export interface SseHandlerOptions {
  events: EventLog;
  /** Decides whether this request may read this run. Required: there is no open default. */
  authorize: (request: SseRequest) => boolean | Promise<boolean>;
  /** Extracts the run id from the URL. @defaultValue the last path segment before `/events`, else the last one */
  runIdFrom?: (url: URL) => string | undefined;
  /** Comment line sent this often so proxies keep the connection. @defaultValue 15000 */
  keepAliveMs?: number;
  /** True for the event after which the stream closes. @defaultValue `data.type === 'task-finished'` (the worker's last event for a run) */
  isFinal?: (event: LoggedEvent) => boolean;
}

/** Serves one run's event log as Server-Sent Events, for `node:http` and for fetch-style servers. */
export interface SseHandler {
  /** Fetch-style: `Request → Response` (Hono, Next.js route handlers, Bun, Deno, …). */
  fetch(request: Request): Promise<Response>;
  /** `node:http` style: `(req, res)` (Express, Fastify's raw request, plain http.createServer). */
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
  return `id: ${event.id}\n${name}data: ${JSON.stringify(event.data)}\n\n`;
}

/**
 * Creates an SSE handler: it sends the history after `Last-Event-ID` (header, or `lastEventId`
 * query parameter for a first connect), then live events, with keep-alive comments, and closes
 * after the run's final event. A client that reconnects with the last id it saw gets exactly the
 * events it missed, in order.
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
  const keepAliveMs = options.keepAliveMs ?? 15_000;

  /** Writes frames until the final event, the client leaving (signal) or an error. */
  async function pump(
    runId: string,
    after: string | undefined,
    write: (chunk: string) => void,
    signal: AbortSignal,
  ) {
    const keepAlive = setInterval(() => write(': keep-alive\n\n'), keepAliveMs);
    try {
      write('retry: 2000\n\n');
      for await (const event of options.events.follow(runId, {
        ...(after ? { after } : {}),
        signal,
      })) {
        write(formatSseEvent(event));
        if (isFinal(event)) break;
      }
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** True when the client has already seen the run's final event. */
  async function finishedBefore(runId: string, after: string): Promise<boolean> {
    if ((await options.events.read(runId, { after, limit: 1 })).length > 0) return false;
    const last = (await options.events.read(runId)).at(-1);
    return last !== undefined && isFinal(last);
  }

  async function admit(
    url: URL,
    headers: Headers,
  ): Promise<{ runId: string; after: string | undefined } | Response> {
    const runId = runIdFrom(url);
    if (!runId) return new Response('missing run id', { status: 400 });
    if (!(await options.authorize({ runId, headers, url })))
      return new Response('forbidden', { status: 403 });
    const after = headers.get('last-event-id') || url.searchParams.get('lastEventId') || undefined;
    if (after !== undefined && (await finishedBefore(runId, after))) {
      // EventSource reconnects whenever a stream closes; 204 is how SSE tells it to stop.
      return new Response(null, { status: 204 });
    }
    return { runId, after };
  }

  const sseHeaders = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  };

  return {
    async fetch(request) {
      const admitted = await admit(new URL(request.url), request.headers);
      if (admitted instanceof Response) return admitted;
      const encoder = new TextEncoder();
      const closed = new AbortController();
      request.signal?.addEventListener('abort', () => closed.abort(), { once: true });
      // After the reader cancels, every controller call throws; the client is gone, so skip them
      // (an unguarded close() here was an unhandled rejection on each disconnect).
      let cancelled = false;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          pump(
            admitted.runId,
            admitted.after,
            (chunk) => {
              if (!cancelled) controller.enqueue(encoder.encode(chunk));
            },
            closed.signal,
          ).then(
            () => {
              if (!cancelled) controller.close();
            },
            (error) => {
              if (!cancelled) controller.error(error);
            },
          );
        },
        cancel() {
          cancelled = true;
          closed.abort();
        },
      });
      return new Response(body, { headers: sseHeaders });
    },
    async node(request, response) {
      const url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === 'string') headers.set(name, value);
        else if (Array.isArray(value)) headers.set(name, value.join(', '));
      }
      const admitted = await admit(url, headers);
      if (admitted instanceof Response) {
        response
          .writeHead(admitted.status, { 'content-type': 'text/plain' })
          .end(admitted.body ? await admitted.text() : undefined);
        return;
      }
      const closed = new AbortController();
      response.on('close', () => closed.abort());
      response.writeHead(200, sseHeaders);
      response.flushHeaders();
      try {
        await pump(admitted.runId, admitted.after, (chunk) => response.write(chunk), closed.signal);
      } finally {
        response.end();
      }
    },
  };
}
