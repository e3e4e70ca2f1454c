// Shared helpers of the SSE tests (not a test file: vitest only collects *.test.ts).
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { EventLog, SseHandler } from 'loopwork';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns something truthy. The bound only keeps a broken test from
 * hanging: it fails the test with `what`, it never decides a pass.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Records every unhandled rejection of this test file's process and fails the test during which
 * one happened. (Vitest would report it too, but later and without saying which test.)
 */
export function failOnUnhandledRejections(): { seen: unknown[] } {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', listener);
  });
  afterAll(() => {
    process.off('unhandledRejection', listener);
  });
  afterEach(async () => {
    await sleep(10); // a rejection is reported after the microtask queue drains
    expect(seen, 'unhandled rejections').toEqual([]);
  });
  return { seen };
}

/** An event log that records every call and fails it: a test can see whether it was touched. */
export function tripwireLog(): EventLog & { calls: string[] } {
  const calls: string[] = [];
  return {
    specificationVersion: 'loopwork.event-log.v1',
    calls,
    async append(runId) {
      calls.push(`append ${runId}`);
      throw new Error('tripwire: append');
    },
    async read(runId, options) {
      calls.push(`read ${runId} ${options?.after ?? ''}`);
      throw new Error('tripwire: read');
    },
    // biome-ignore lint/correctness/useYield: it fails before the first event, by design
    async *follow(runId) {
      calls.push(`follow ${runId}`);
      throw new Error('tripwire: follow');
    },
  };
}

/** Wraps a log to count the events each `follow` has handed out and the follows still open. */
export function countingLog(inner: EventLog) {
  const stats = { open: 0, opened: 0, yielded: 0 };
  const log: EventLog = {
    specificationVersion: inner.specificationVersion,
    append: (runId, data) => inner.append(runId, data),
    read: (runId, options) => inner.read(runId, options),
    async *follow(runId, options) {
      stats.open++;
      stats.opened++;
      try {
        for await (const event of inner.follow(runId, options)) {
          stats.yielded++;
          yield event;
        }
      } finally {
        stats.open--;
      }
    },
  };
  return { log, stats };
}

/** A running `node:http` server; `responses` are the ones it has handed to the handler. */
export interface TestServer {
  server: Server;
  port: number;
  responses: ServerResponse[];
  close(): Promise<void>;
}

/**
 * Serves `handler` exactly as `createSseHandler`'s doc example does: the promise of `sse.node`
 * is ignored, so a rejection would be unhandled. `options` go to `http.createServer`.
 */
export async function serveLikeTheDocs(
  handler: SseHandler,
  options: { highWaterMark?: number } = {},
): Promise<TestServer> {
  const responses: ServerResponse[] = [];
  const server = createServer(options, (req, res) => {
    responses.push(res);
    handler.node(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    server,
    port: address.port,
    responses,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A response read off a raw socket. */
export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** The response after any interim `1xx` ones (`Expect: 100-continue` gets a 100 first). */
const final = (text: string) => {
  let rest = text;
  while (/^HTTP\/1\.1 1\d\d /.test(rest) && rest.includes('\r\n\r\n')) {
    rest = rest.slice(rest.indexOf('\r\n\r\n') + 4);
  }
  return rest;
};

/**
 * Sends `request` (bytes, exactly as given) on a new TCP connection and reads the response: the
 * whole of it for a normal response (send `Connection: close`), the head and the first frame for
 * an event stream, which is then hung up. Status 0: the server closed without a response.
 */
export function rawRequest(port: number, request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no complete response within 10 s to ${JSON.stringify(String(request).slice(0, 200))}`,
        ),
      );
    }, 10_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = final(Buffer.concat(chunks).toString('latin1'));
      const end = text.indexOf('\r\n\r\n');
      const head = end === -1 ? text : text.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: end === -1 ? '' : text.slice(end + 4) });
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const text = final(Buffer.concat(chunks).toString('latin1'));
      // A stream does not end by itself: its head and first frame are enough.
      if (/^HTTP\/1\.1 200/.test(text) && /\r\n\r\n[\s\S]*\n\n/.test(text)) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => finish());
    socket.write(request);
  });
}

/** A client that sends a GET and then never reads a byte. */
export function neverReadingClient(port: number, path: string, headers = ''): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`);
  return socket;
}

/** Frames of an SSE text: `id`, `event`, `data`; comments are left out. */
export function parseFrames(text: string): Array<{ id?: string; event?: string; data?: string }> {
  const frames: Array<{ id?: string; event?: string; data?: string }> = [];
  for (const block of text.split('\n\n')) {
    const frame: { id?: string; event?: string; data?: string } = {};
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id' || field === 'event' || field === 'data') frame[field] = value;
    }
    if (frame.data !== undefined) frames.push(frame);
  }
  return frames;
}

/** Appends `count` events of about `bytes` each to a run, the last one final. */
export async function bigRun(log: EventLog, runId: string, count: number, bytes: number) {
  const ids: string[] = [];
  const text = 'x'.repeat(bytes);
  for (let i = 0; i < count - 1; i++) ids.push(await log.append(runId, { type: 'step', i, text }));
  ids.push(await log.append(runId, { type: 'task-finished', runId, status: 'completed' }));
  return ids;
}

/** The payload of an HTTP/1.1 chunked body (as far as it has arrived). */
export function dechunk(body: string): string {
  let out = '';
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = Number.parseInt(body.slice(at, lineEnd), 16);
    if (!(size > 0)) break;
    out += body.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
  return out;
}
