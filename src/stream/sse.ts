import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAdmission, report, type SseReply } from './sse-admission';
import { type ResolvedSseOptions, resolveSseOptions, type SseHandlerOptions } from './sse-options';
import { type ClientSink, streamRun } from './sse-stream';

/** Serves one run's event log as Server-Sent Events, for `node:http` and for fetch-style servers. */
export interface SseHandler {
  /** Fetch-style: `Request → Response` (Hono, Next.js route handlers, Bun, Deno, …). Never rejects. */
  fetch(request: Request): Promise<Response>;
  /**
   * `node:http` style: `(req, res)` (Express, Fastify's raw request, plain http.createServer).
   * Resolves when the response has ended; never rejects, so it is safe to ignore the promise.
   */
  node(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

/** Most bytes a fetch stream queues ahead of its reader (the socket default of `node:http`). */
const FETCH_HIGH_WATER_MARK = 16_384;

// No `connection: keep-alive`: HTTP/1.1 keeps connections by default, and HTTP/2 servers
// (node:http2's compatibility API among them) refuse connection-specific headers.
const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

const replyHeaders = (reply: SseReply): Record<string, string> => ({
  ...(reply.body ? { 'content-type': 'text/plain; charset=utf-8' } : {}),
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  ...reply.headers,
});

/** What a failure nobody foresaw is answered with (the error itself goes to `onError`). */
const INTERNAL_ERROR: SseReply = { status: 500, body: 'internal error\n' };

function sendReply(response: ServerResponse, reply: SseReply): void {
  response
    .writeHead(reply.status, {
      ...replyHeaders(reply),
      ...(reply.body ? { 'content-length': String(Buffer.byteLength(reply.body)) } : {}),
    })
    .end(reply.body || undefined);
}

/**
 * Creates an SSE handler: it sends the history after `Last-Event-ID` (header, or `lastEventId`
 * query parameter for a first connect), then live events, with keep-alive comments, and closes
 * after the run's final event. A client that reconnects with the last id it saw gets exactly the
 * events it missed, in order.
 *
 * Hostile requests are answered, never thrown: a malformed id, run id or method is a 400/405
 * before `authorize` or the log is asked; `authorize` failing is a 500 (told to `onError`);
 * too many clients on one run is a 429. Each client is served at the pace it reads, and at most
 * `maxBufferedBytes` wait for it. See docs/security.md.
 *
 * @example
 * ```ts
 * const sse = createSseHandler({ events, authorize: ({ headers }) => headers.get('authorization') === `Bearer ${token}` });
 * http.createServer((req, res) => sse.node(req, res)).listen(3000);
 * ```
 */
export function createSseHandler(options: SseHandlerOptions): SseHandler {
  const resolved = resolveSseOptions(options);
  const admit = createAdmission(resolved);

  return {
    async fetch(request) {
      try {
        const admitted = await admit(request.method, new URL(request.url), request.headers);
        if (!('runId' in admitted)) {
          return new Response(admitted.body || null, {
            status: admitted.status,
            headers: replyHeaders(admitted),
          });
        }
        const closed = new AbortController();
        // The client may have gone while authorize or the log was asked.
        if (request.signal?.aborted) closed.abort();
        request.signal?.addEventListener('abort', () => closed.abort(), { once: true });
        const { body, sink } = fetchSink(resolved, closed);
        void streamRun(resolved, admitted.runId, admitted.after, sink, closed.signal).finally(
          admitted.release,
        );
        return new Response(body, { headers: sseHeaders });
      } catch (error) {
        report(resolved, error);
        return new Response(INTERNAL_ERROR.body, {
          status: INTERNAL_ERROR.status,
          headers: replyHeaders(INTERNAL_ERROR),
        });
      }
    },
    async node(request, response) {
      try {
        await serveNode(resolved, admit, request, response);
      } catch (error) {
        report(resolved, error);
        try {
          if (!response.headersSent) sendReply(response, INTERNAL_ERROR);
          else response.destroy();
        } catch {
          response.destroy();
        }
      }
    },
  };
}

async function serveNode(
  options: ResolvedSseOptions,
  admit: ReturnType<typeof createAdmission>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  // The client hanging up mid-write surfaces as an 'error' on the response; it only means "gone".
  response.on('error', () => {});
  // Listened for from the start: the client may leave while authorize or the log is asked.
  const closed = new AbortController();
  response.on('close', () => closed.abort());
  let url: URL;
  try {
    url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
  } catch {
    sendReply(response, {
      status: 400,
      body: 'the request target or Host header is not a valid URL.\n',
    });
    return;
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    try {
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    } catch {
      // A value fetch's Headers refuses cannot be what authorize looks for; leave it out.
    }
  }
  const admitted = await admit(request.method ?? 'GET', url, headers);
  if (!('runId' in admitted)) {
    sendReply(response, admitted);
    return;
  }
  try {
    if (closed.signal.aborted) return;
    response.writeHead(200, sseHeaders);
    response.flushHeaders();
    await streamRun(
      options,
      admitted.runId,
      admitted.after,
      nodeSink(response, closed),
      closed.signal,
    );
  } finally {
    admitted.release();
  }
}

function nodeSink(response: ServerResponse, closed: AbortController): ClientSink {
  const { signal } = closed;
  /** Resolves when `subscribe` calls back or the client is gone, and leaves no listener behind. */
  const until = (subscribe: (done: () => void) => () => void) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      let unsubscribe = () => {};
      const done = () => {
        unsubscribe();
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      unsubscribe = subscribe(done);
    });
  const drained = () =>
    until((done) => {
      response.on('drain', done);
      return () => response.off('drain', done);
    });
  /** Settles when the last write (so every write) has been handed to the kernel. */
  let flushed = Promise.resolve();
  return {
    // The response's own buffer plus its socket's: everything this process holds for the client.
    buffered: () => response.writableLength,
    write(chunk) {
      if (signal.aborted || response.writableEnded) return false;
      let more = true;
      flushed = new Promise((resolve) => {
        // Called on success and on failure alike; either way the bytes are no longer waiting.
        more = response.write(chunk, () => resolve());
      });
      return more;
    },
    ready: () => (response.writableNeedDrain ? drained() : Promise.resolve()),
    // 'drain' only follows a write that returned false; below the server's high-water mark
    // (which may be above the cap), the last write being flushed is what says bytes were taken.
    taken: () => {
      if (response.writableLength === 0) return Promise.resolve();
      if (response.writableNeedDrain) return drained();
      const last = flushed;
      return until((done) => {
        void last.then(done);
        return () => {};
      });
    },
    end: () => {
      if (!response.writableEnded) response.end();
    },
    destroy: () => {
      closed.abort();
      response.destroy();
    },
  };
}

/** A body that is filled only as its reader reads (a pull source with a byte high-water mark). */
function fetchSink(options: ResolvedSseOptions, closed: AbortController) {
  const highWaterMark = Math.min(FETCH_HIGH_WATER_MARK, options.maxBufferedBytes);
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    wake?.();
    wake = undefined;
  };
  closed.signal.addEventListener('abort', wakeUp, { once: true });
  let ended = false;
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull: wakeUp,
      cancel() {
        // The reader went away: every controller call would throw from here on.
        ended = true;
        closed.abort();
        wakeUp();
      },
    },
    { highWaterMark, size: (chunk) => chunk.byteLength },
  );
  const room = () => (controller.desiredSize ?? 0) > 0;
  const next = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  const sink: ClientSink = {
    buffered: () => (ended ? 0 : highWaterMark - (controller.desiredSize ?? highWaterMark)),
    write(chunk) {
      if (ended || closed.signal.aborted) return false;
      try {
        controller.enqueue(chunk);
      } catch {
        // Errored or closed by its consumer's side: the client is gone either way.
        ended = true;
        closed.abort();
        return false;
      }
      return room();
    },
    ready: () => (ended || closed.signal.aborted || room() ? Promise.resolve() : next()),
    // Each read of the consumer that leaves room calls pull.
    taken: () => (ended || closed.signal.aborted ? Promise.resolve() : next()),
    end() {
      if (ended) return;
      ended = true;
      try {
        controller.close();
      } catch {
        // Already closed or errored: nothing left to end.
      }
    },
    destroy() {
      if (!ended) {
        ended = true;
        // Errors the body for its reader and drops what was queued for it.
        controller.error(
          new Error('the client took nothing for stallTimeoutMs; reconnect with Last-Event-ID'),
        );
      }
      closed.abort();
    },
  };
  return { body, sink };
}
