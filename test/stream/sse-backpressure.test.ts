// Clients that do not read cost the server a bounded number of bytes, not the run's history:
// the node handler waits for 'drain' before reading on, the fetch handler fills its body only as
// it is read, keep-alives do not pile up, and maxBufferedBytes is a hard stop that closes a
// stream with a reason the client can resume from. Assertions are on bytes, never on time.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createMemoryEventLog, createSseHandler, formatSseEvent, SSE_DEFAULTS } from 'loopwork';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bigRun,
  countingLog,
  dechunk,
  failOnUnhandledRejections,
  neverReadingClient,
  parseFrames,
  serveLikeTheDocs,
  sleep,
  type TestServer,
  waitFor,
} from './helpers';

failOnUnhandledRejections();

const servers: TestServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await server.close();
});

/** What the server wrote to one response, sampled after every write. */
interface WriteStats {
  /** Most bytes waiting unsent for the client (response + socket buffers) after any write. */
  peakBuffered: number;
  /** Bytes handed to `write`. */
  written: number;
  /** Keep-alive comments written. */
  keepAlives: number;
}

function watchWrites(response: ServerResponse): WriteStats {
  const stats: WriteStats = { peakBuffered: 0, written: 0, keepAlives: 0 };
  const write = response.write.bind(response) as (chunk: Uint8Array, ...rest: unknown[]) => boolean;
  response.write = ((chunk: Uint8Array, ...rest: unknown[]) => {
    const more = write(chunk, ...rest);
    stats.written += chunk.byteLength;
    if (Buffer.from(chunk).toString() === ': keep-alive\n\n') stats.keepAlives++;
    stats.peakBuffered = Math.max(stats.peakBuffered, response.writableLength);
    return more;
  }) as typeof response.write;
  return stats;
}

async function serveWatched(
  handler: ReturnType<typeof createSseHandler>,
  options: { highWaterMark?: number } = {},
) {
  const server = await serveLikeTheDocs(handler, options);
  servers.push(server);
  const stats: WriteStats[] = [];
  server.server.prependListener('request', (_req, res: ServerResponse) => {
    stats.push(watchWrites(res));
  });
  return { ...server, stats };
}

const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function memory(): { rssMb: number; heapMb: number } {
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rssMb: Math.round(rss / 2 ** 20), heapMb: Math.round(heapUsed / 2 ** 20) };
}

describe('SSE backpressure over node:http', () => {
  it('five clients that never read, on a 30 MB run: each costs the server at most maxBufferedBytes, not the history', async () => {
    const events = createMemoryEventLog();
    const eventCount = 3_000;
    const ids = await bigRun(events, 'big', eventCount, 10_000);
    const runBytes = (await events.read('big')).reduce(
      (sum, event) => sum + JSON.stringify(event.data).length,
      0,
    );
    const counted = countingLog(events);
    const { port, responses, stats } = await serveWatched(
      createSseHandler({ events: counted.log, authorize: () => true }),
    );
    const cap = SSE_DEFAULTS.maxBufferedBytes;
    const before = memory();

    for (let i = 0; i < 5; i++) sockets.push(neverReadingClient(port, '/runs/big/events'));
    // Blocked: every response has a write that returned false and waits for 'drain' (a handler
    // without backpressure would instead have written the whole run and ended).
    await waitFor(
      () =>
        responses.length === 5 && responses.every((r) => r.writableNeedDrain || r.writableEnded),
      'five blocked responses',
      30_000,
    );
    const settledYields = counted.stats.yielded;
    await sleep(200); // a chance to read on, which a handler that waits must not take
    const after = memory();

    const report = stats.map((s, i) => ({
      client: i + 1,
      peakBufferedKb: Math.round(s.peakBuffered / 1024),
      nowBufferedKb: Math.round((responses[i]?.writableLength ?? 0) / 1024),
      handedToSocketMb: +(s.written / 2 ** 20).toFixed(1),
    }));
    console.log(
      `run: ${eventCount} events, ${(runBytes / 2 ** 20).toFixed(1)} MB; cap ${cap / 1024} KB per client\n` +
        `memory before the clients: rss ${before.rssMb} MB, heap ${before.heapMb} MB; ` +
        `with five blocked clients: rss ${after.rssMb} MB, heap ${after.heapMb} MB\n` +
        `events read from the log for them: ${counted.stats.yielded} of ${5 * eventCount}`,
    );
    console.table(report);

    for (const s of stats) {
      expect(s.peakBuffered).toBeLessThanOrEqual(cap);
      // The kernel's socket buffers take some; the process never took the whole history.
      expect(s.written).toBeLessThan(runBytes / 2);
    }
    expect(counted.stats.yielded, 'no events read after the clients blocked').toBe(settledYields);
    expect(counted.stats.yielded).toBeLessThan(5 * eventCount);

    // The log is intact and a reading client gets all of it, in order.
    const whole = await fetch(`http://127.0.0.1:${port}/runs/big/events`);
    const frames = parseFrames(await whole.text());
    expect(frames.map((f) => f.id)).toEqual(ids);

    for (const socket of sockets.splice(0)) socket.destroy();
    await waitFor(() => counted.stats.open === 0, 'the server to let go of the blocked clients');
  }, 60_000);

  it('a client that takes nothing for stallTimeoutMs is cut off: its socket, slot and log reader are released, and a reconnect loses nothing', async () => {
    const events = createMemoryEventLog();
    const ids = await bigRun(events, 'big', 600, 10_000);
    const counted = countingLog(events);
    const { port } = await serveWatched(
      createSseHandler({
        events: counted.log,
        authorize: () => true,
        stallTimeoutMs: 200,
        maxClientsPerRun: 2,
      }),
    );
    const stalled = [1, 2].map(() => neverReadingClient(port, '/runs/big/events'));
    sockets.push(...stalled);
    const closed = stalled.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    // Both stall with the run unsent; the handler drops them rather than wait forever.
    await waitFor(
      () => counted.stats.open === 0 && counted.stats.opened === 2,
      'both cut off',
      10_000,
    );
    for (const socket of stalled) socket.resume(); // let them see the close
    await Promise.all(closed);
    // Their slots are free again (maxClientsPerRun is 2)…
    const controller = new AbortController();
    const again = await fetch(`http://127.0.0.1:${port}/runs/big/events`, {
      signal: controller.signal,
    });
    expect(again.status).toBe(200);
    controller.abort();
    // …and the run is whole for a client that reads (on a handler without the short timeout,
    // so a slow test machine cannot cut it off).
    const reader = await serveWatched(createSseHandler({ events, authorize: () => true }));
    const whole = await fetch(`http://127.0.0.1:${reader.port}/runs/big/events`);
    expect(parseFrames(await whole.text()).map((f) => f.id)).toEqual(ids);
  });

  it('keep-alive comments are not written to a client that has bytes waiting', async () => {
    const events = createMemoryEventLog();
    await bigRun(events, 'big', 1_500, 10_000);
    const { port, responses, stats } = await serveWatched(
      createSseHandler({ events, authorize: () => true, keepAliveMs: 5 }),
    );
    sockets.push(neverReadingClient(port, '/runs/big/events'));
    await waitFor(() => responses[0]?.writableNeedDrain, 'a blocked response', 30_000);
    const buffered = responses[0]?.writableLength;
    await sleep(200); // forty keep-alive intervals
    expect(stats[0]?.keepAlives).toBe(0);
    expect(responses[0]?.writableLength).toBe(buffered);

    // The same handler does send them on an idle stream.
    const quiet = await fetch(`http://127.0.0.1:${port}/runs/quiet/events`);
    const reader = quiet.body!.getReader();
    let text = '';
    while (!text.includes(': keep-alive\n\n'))
      text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
  });

  it('maxBufferedBytes holds on a server whose high-water mark is above it: the handler waits for the socket, and the client still gets the whole run', async () => {
    const events = createMemoryEventLog();
    const ids = await bigRun(events, 'big', 2_000, 10_000);
    const cap = 64 * 1024;
    const counted = countingLog(events);
    const { port, responses, stats } = await serveWatched(
      createSseHandler({ events: counted.log, authorize: () => true, maxBufferedBytes: cap }),
      { highWaterMark: 8 * 2 ** 20 }, // write() says "go on" up to 8 MiB, so no 'drain' below it
    );
    const socket = neverReadingClient(port, '/runs/big/events');
    sockets.push(socket);
    // Blocked: nothing more is read from the log while the client does not read.
    let yielded = -1;
    await waitFor(
      async () => {
        const now = counted.stats.yielded;
        const still = now > 0 && now === yielded;
        yielded = now;
        await sleep(100);
        return still;
      },
      'the stream to stop reading from the log',
      30_000,
    );
    expect(responses[0]?.writableNeedDrain).toBe(false); // 'drain' would never have come
    expect(responses[0]?.writableEnded).toBe(false);
    expect(stats[0]?.peakBuffered).toBeGreaterThan(0);
    expect(stats[0]?.peakBuffered).toBeLessThanOrEqual(cap);
    expect(counted.stats.yielded).toBeLessThan(ids.length);

    // Once the client reads, it gets the rest in the same stream: nothing closed, nothing lost.
    const chunks: Buffer[] = [];
    const ended = new Promise<void>((resolve) => {
      socket.on('data', (chunk) => {
        chunks.push(chunk);
        const tail = Buffer.concat(chunks.slice(-2)).toString('latin1');
        if (tail.endsWith('\r\n0\r\n\r\n')) resolve(); // the chunked body's end
      });
    });
    socket.resume();
    await ended;
    const raw = Buffer.concat(chunks).toString('latin1');
    const frames = parseFrames(dechunk(raw.slice(raw.indexOf('\r\n\r\n') + 4)));
    expect(frames.map((f) => f.id)).toEqual(ids);
    expect(stats[0]?.peakBuffered).toBeLessThanOrEqual(cap);
  }, 60_000);
});

describe('SSE backpressure over fetch', () => {
  it('the body is filled only as it is read: a reader that waits holds a few events, then gets all of them', async () => {
    const events = createMemoryEventLog();
    const ids = await bigRun(events, 'big', 2_000, 2_500);
    const counted = countingLog(events);
    const handler = createSseHandler({
      events: counted.log,
      authorize: () => true,
      maxBufferedBytes: 4_096, // a frame here is about 2.6 KB: two never fit at once
    });
    const response = await handler.fetch(new Request('http://app.test/runs/big/events'));
    await waitFor(() => counted.stats.yielded > 0, 'the first event');
    await sleep(200); // a chance to read on, which a pull source must not take
    expect(counted.stats.yielded).toBeLessThanOrEqual(3);

    const frames = parseFrames(await response.text());
    expect(frames.map((f) => f.id)).toEqual(ids); // slow, but whole: nothing closed early
    expect(frames.some((f) => f.event === 'stream-closed')).toBe(false);
  });

  it('a reader that takes nothing for stallTimeoutMs finds its body errored, and the log reader released', async () => {
    const events = createMemoryEventLog();
    await bigRun(events, 'big', 200, 2_500);
    const counted = countingLog(events);
    const handler = createSseHandler({
      events: counted.log,
      authorize: () => true,
      maxBufferedBytes: 4_096,
      stallTimeoutMs: 100,
    });
    const response = await handler.fetch(new Request('http://app.test/runs/big/events'));
    await waitFor(() => counted.stats.opened === 1 && counted.stats.open === 0, 'cut off');
    await expect(response.text()).rejects.toThrow(/stallTimeoutMs/);
  });

  it('keep-alive comments do not pile up while the reader waits', async () => {
    const handler = createSseHandler({
      events: createMemoryEventLog(),
      authorize: () => true,
      keepAliveMs: 5,
    });
    const controller = new AbortController();
    const response = await handler.fetch(
      new Request('http://app.test/runs/quiet/events', { signal: controller.signal }),
    );
    await sleep(200); // forty intervals without reading
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe('retry: 2000\n\n'); // only what was queued before the reader came
    const next = new TextDecoder().decode((await reader.read()).value);
    expect(next).toBe(': keep-alive\n\n'); // once it reads, they flow
    controller.abort();
    await reader.cancel();
  });
});

describe.each([
  ['node:http', 'node'],
  ['fetch', 'fetch'],
] as const)('an event larger than maxBufferedBytes over %s', (_name, kind) => {
  it('is sent as an event-too-large event with its id, and the stream goes on', async () => {
    const events = createMemoryEventLog();
    const small = await events.append('r', { type: 'step', i: 1 });
    const huge = await events.append('r', { type: 'dump', text: 'x'.repeat(10_000) });
    const last = await events.append('r', { type: 'task-finished' });
    const handler = createSseHandler({ events, authorize: () => true, maxBufferedBytes: 4_096 });
    let text: string;
    if (kind === 'node') {
      const { port } = await serveWatched(handler);
      text = await (await fetch(`http://127.0.0.1:${port}/runs/r/events`)).text();
    } else {
      text = await (await handler.fetch(new Request('http://app.test/runs/r/events'))).text();
    }
    const frames = parseFrames(text);
    expect(frames.map((f) => [f.id, f.event])).toEqual([
      [small, 'step'],
      [huge, 'event-too-large'],
      [last, 'task-finished'],
    ]);
    expect(JSON.parse(frames[1]?.data ?? '')).toEqual({
      type: 'event-too-large',
      originalType: 'dump',
      bytes: Buffer.byteLength(formatSseEvent((await events.read('r'))[1]!)), // its frame
      limit: 4_096,
    });
  });
});
