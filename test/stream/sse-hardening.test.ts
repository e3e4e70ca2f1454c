// The SSE endpoint defends itself: malformed ids and throwing authorizers are answered, never
// thrown into the server; clients that stop reading cost a bounded amount; one run has at most
// so many followers; and a fuzz of hostile requests never crashes the process.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import {
  createMemoryEventLog,
  createSseHandler,
  type EventLog,
  type LoggedEvent,
  type SseHandler,
  type SseHandlerOptions,
} from 'loopwork';
import { createRedisEventLog } from 'loopwork/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../helpers/redis-server';

/** An event log that counts what it was asked and how many bytes each follower was given. */
function countingLog(inner: EventLog) {
  const stats = { reads: 0, follows: 0, active: 0, given: [] as number[] };
  const log: EventLog = {
    ...inner,
    read(runId, options) {
      stats.reads++;
      return inner.read(runId, options);
    },
    async *follow(runId, options) {
      stats.follows++;
      stats.active++;
      const slot = stats.given.push(0) - 1;
      try {
        for await (const event of inner.follow(runId, options)) {
          stats.given[slot]! += Buffer.byteLength(JSON.stringify(event.data));
          yield event;
        }
      } finally {
        stats.active--;
      }
    },
  };
  return { log, stats };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

/** A node:http server exactly as createSseHandler's doc example wires it. */
async function serve(sse: SseHandler): Promise<string> {
  const server = createServer((req, res) => sse.node(req, res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const handler = (events: EventLog, options: Partial<SseHandlerOptions> = {}) =>
  createSseHandler({ events, authorize: () => true, onError: () => {}, ...options });

const BAD_IDS = [
  'garbage',
  '-1-0',
  '1-',
  '-',
  '1-0 ',
  ' 1-0',
  '1.5-0',
  '0x10-0',
  '99999999999999999999-0', // past 2^64 - 1
  '18446744073709551616-0',
  '1-18446744073709551616',
  `${'9'.repeat(5_000)}-0`,
  '__proto__',
  'constructor',
  '1-0\u0000',
];

describe('Last-Event-ID and run ids', () => {
  it('a Last-Event-ID that is not an event id is answered 400, saying what is valid, before the log is read', async () => {
    const { log, stats } = countingLog(createMemoryEventLog());
    const sse = handler(log);
    const base = await serve(sse);
    for (const id of BAD_IDS) {
      // Through node:http (the header) and through fetch (the query parameter).
      // Header values lose surrounding blanks and cannot hold NUL on the way (fetch's rules).
      const header = id.trim();
      const viaNode =
        header === id && /^[\x20-\x7e]+$/.test(header)
          ? await fetch(`${base}/runs/r1/events`, { headers: { 'last-event-id': header } })
          : undefined;
      if (viaNode) {
        expect(viaNode.status, JSON.stringify(id)).toBe(400);
        expect(await viaNode.text()).toMatch(/^Last-Event-ID must be an event id/);
      }
      const viaFetch = await sse.fetch(
        new Request(`http://x/runs/r1/events?lastEventId=${encodeURIComponent(id)}`),
      );
      expect(viaFetch.status, JSON.stringify(id)).toBe(400);
      expect(await viaFetch.text()).toMatch(/<milliseconds>-<sequence>/);
    }
    expect([stats.reads, stats.follows]).toEqual([0, 0]);
    // A valid id goes through.
    await log.append('r1', { type: 'task-finished' });
    const ok = await fetch(`${base}/runs/r1/events`, { headers: { 'last-event-id': '0-0' } });
    expect(ok.status).toBe(200);
    await ok.text();
  });

  it('a run id that cannot be one (control characters, absurd length, unreadable) is answered 400', async () => {
    const decoding = handler(createMemoryEventLog(), {
      runIdFrom: (url) => decodeURIComponent(url.pathname.split('/')[2] ?? ''),
    });
    for (const path of [
      '/runs/a%00b/events',
      `/runs/${'r'.repeat(300)}/events`,
      '/',
      '/runs/%E0%A4%A/x',
    ]) {
      const response = await decoding.fetch(new Request(`http://x${path}`));
      expect(response.status, path).toBe(400);
    }
  });

  describe('on the Redis event log', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(() => server.stop());

    it('stores an event over maxEventBytes as a marker, and keeps a run’s log 7 days by default', async () => {
      const client = server.client();
      const prefix = `size${Date.now()}`;
      const events = createRedisEventLog({ client, prefix, maxEventBytes: 1_000 });
      await events.append('r1', { type: 'huge', text: 'x'.repeat(5_000) });
      const [stored] = await events.read('r1');
      expect(stored?.data).toMatchObject({
        type: 'event-too-large',
        originalType: 'huge',
        limit: 1_000,
      });
      const ttl = await client.pttl(`{${prefix}:events:r1}`);
      expect(ttl).toBeGreaterThan(6 * 24 * 3_600_000);
      expect(() => createRedisEventLog({ client, maxEventBytes: 0 })).toThrow(
        /^\[loopwork:redis\] maxEventBytes must be a positive number, got 0$/,
      );
      client.disconnect();
    });

    it('ids Redis would refuse never reach it; the largest valid id is answered, not thrown', async () => {
      const client = server.client();
      const events = createRedisEventLog({ client, prefix: `sse${Date.now()}` });
      const errors: unknown[] = [];
      const sse = handler(events, { onError: (error) => errors.push(error) });
      for (const id of BAD_IDS) {
        const response = await sse.fetch(
          new Request(`http://x/runs/r1/events?lastEventId=${encodeURIComponent(id)}`),
        );
        expect(response.status, id).toBe(400);
      }
      await events.append('r1', { type: 'task-finished' });
      const edge = await sse.fetch(
        new Request(
          'http://x/runs/r1/events?lastEventId=18446744073709551615-18446744073709551615',
        ),
      );
      expect([200, 204, 503]).toContain(edge.status);
      await edge.body?.cancel();
      client.disconnect();
    });
  });
});

describe('authorize', () => {
  it('a throwing or rejecting authorize is answered 500 and reported; the server lives on', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const reported: unknown[] = [];
      let mode = 0;
      const sse = createSseHandler({
        events: createMemoryEventLog(),
        onError: (error) => reported.push(error),
        authorize: ({ headers }) => {
          mode++;
          if (headers.get('authorization') === 'Bearer good') return true;
          if (mode % 2 === 0) throw new Error('token service down');
          return Promise.reject(Object.create(null));
        },
      });
      const base = await serve(sse);
      for (let i = 0; i < 10; i++) {
        const response = await fetch(`${base}/runs/r1/events`);
        expect(response.status).toBe(500);
        expect(await response.text()).toBe('authorization failed');
      }
      const fetched = await sse.fetch(new Request('http://x/runs/r1/events'));
      expect(fetched.status).toBe(500);
      expect(reported).toHaveLength(11);
      // Still serving.
      const ok = await fetch(`${base}/runs/r1/events`, {
        headers: { authorization: 'Bearer good' },
        signal: AbortSignal.timeout(2_000),
      }).catch((error: unknown) => error);
      expect((ok as Response).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('capacity', () => {
  it('at most maxClientsPerRun clients follow one run; one more is answered 429 with Retry-After', async () => {
    const { log, stats } = countingLog(createMemoryEventLog());
    const sse = handler(log, { maxClientsPerRun: 2 });
    const a = await sse.fetch(new Request('http://x/runs/r1/events'));
    const b = await sse.fetch(new Request('http://x/runs/r1/events'));
    const c = await sse.fetch(new Request('http://x/runs/r1/events'));
    expect([a.status, b.status, c.status]).toEqual([200, 200, 429]);
    expect(c.headers.get('retry-after')).toBe('5');
    expect((await sse.fetch(new Request('http://x/runs/other/events'))).status).toBe(200);
    await a.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const d = await sse.fetch(new Request('http://x/runs/r1/events'));
    expect(d.status, 'a slot is free again once a client left').toBe(200);
    for (const response of [b, d]) await response.body?.cancel();
    expect(stats.follows).toBe(4);
  });
});

describe('clients that stop reading', () => {
  const bigRun = async (log: EventLog, events: number, bytes: number) => {
    const text = 'x'.repeat(bytes);
    for (let i = 0; i < events; i++) await log.append('big', { type: 'chunk', i, text });
    await log.append('big', { type: 'task-finished' });
  };

  it('fetch: events are pulled from the log only as the client reads them', async () => {
    const { log, stats } = countingLog(createMemoryEventLog());
    await bigRun(log, 1_000, 10_000); // ~10 MB
    const sse = handler(log);
    const response = await sse.fetch(new Request('http://x/runs/big/events'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Nothing read: at most the stream's 64 KiB queue and the event that filled it.
    expect(stats.given[0]).toBeLessThan(64 * 1024 + 20_000);
    const text = await response.text();
    expect(text.match(/^event: chunk$/gm)).toHaveLength(1_000);
    expect(text).toMatch(/event: task-finished\n/);
    expect(stats.active).toBe(0);
  });

  it('fetch: keep-alives do not pile up for a client that reads nothing', async () => {
    const sse = handler(createMemoryEventLog(), { keepAliveMs: 5 });
    const response = await sse.fetch(new Request('http://x/runs/quiet/events'));
    await new Promise((resolve) => setTimeout(resolve, 200)); // 40 keep-alive periods
    const reader = response.body!.getReader();
    const chunks: string[] = [];
    const decoder = new TextDecoder();
    // What is queued now: the retry line and at most one keep-alive.
    for (let i = 0; i < 2; i++) chunks.push(decoder.decode((await reader.read()).value));
    await reader.cancel();
    expect(chunks.join('').match(/: keep-alive/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });

  it('node: five sockets that never read a 20 MB run cost a bounded amount each, and are closed after stallTimeoutMs', async () => {
    const { log, stats } = countingLog(createMemoryEventLog());
    await bigRun(log, 2_000, 10_000);
    const sse = handler(log, { stallTimeoutMs: 300, maxBufferedBytes: 1024 * 1024 });
    const base = new URL(await serve(sse));
    const before = process.memoryUsage();
    const sockets = Array.from({ length: 5 }, () => {
      const socket = connect(Number(base.port), '127.0.0.1');
      socket.write('GET /runs/big/events HTTP/1.1\r\nhost: x\r\n\r\n');
      socket.pause(); // never reads
      return socket;
    });
    const closed = sockets.map(
      (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
    );
    // Wait until every follower was closed (stalled) or finished.
    const deadline = Date.now() + 10_000;
    while ((stats.follows < 5 || stats.active > 0) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const after = process.memoryUsage();
    for (const socket of sockets) socket.resume(); // let them see the close
    await Promise.all(closed);
    const run = 2_000 * 10_000;
    console.log(
      `never-reading clients: ${stats.given.map((b) => `${(b / 1e6).toFixed(2)} MB`).join(', ')} ` +
        `of a ${(run / 1e6).toFixed(0)} MB run given to each; rss ${(before.rss / 1e6).toFixed(0)} → ` +
        `${(after.rss / 1e6).toFixed(0)} MB, heap ${(before.heapUsed / 1e6).toFixed(0)} → ${(after.heapUsed / 1e6).toFixed(0)} MB`,
    );
    expect(stats.active, 'every follower was released').toBe(0);
    for (const given of stats.given) expect(given).toBeLessThan(run / 4);
  });
});

describe('event size', () => {
  it('an event over maxEventBytes reaches clients as an event-too-large marker, in order', async () => {
    const log = createMemoryEventLog({ maxEventBytes: 1_000 });
    await log.append('r1', { type: 'small', n: 1 });
    await log.append('r1', { type: 'huge', text: 'x'.repeat(5_000) });
    await log.append('r1', { type: 'task-finished' });
    const events: LoggedEvent[] = await log.read('r1');
    const bytes = JSON.stringify({ type: 'huge', text: 'x'.repeat(5_000) }).length;
    expect(events.map((event) => event.data)).toEqual([
      { type: 'small', n: 1 },
      { type: 'event-too-large', originalType: 'huge', bytes, limit: 1_000 },
      { type: 'task-finished' },
    ]);
    const text = await (await handler(log).fetch(new Request('http://x/runs/r1/events'))).text();
    expect(text).toMatch(/event: event-too-large\ndata: \{"type":"event-too-large"/);
  });
});

describe('hostile requests (fuzz)', () => {
  it('random methods, paths, ids and headers: always an answer, never a crash or an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const log = createMemoryEventLog();
      await log.append('r1', { type: 'progress' });
      await log.append('r1', { type: 'task-finished' });
      let seed = 1_204;
      const random = () => {
        seed = (seed * 16_807) % 2_147_483_647;
        return seed / 2_147_483_647;
      };
      const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)] as T;
      const junk = () =>
        pick([
          '',
          '__proto__',
          'constructor',
          '1-0',
          '0-0',
          '-1',
          'r1',
          '%00',
          '%ZZ',
          '../../etc/passwd',
          'x'.repeat(Math.floor(random() * 9_000)),
          String.fromCharCode(...Array.from({ length: 12 }, () => 32 + Math.floor(random() * 94))),
        ]);
      const sse = createSseHandler({
        events: log,
        onError: () => {},
        authorize: ({ runId }) => {
          if (runId === 'constructor') throw new Error('nope');
          return runId !== '__proto__';
        },
      });
      const base = await serve(sse);
      const statuses: Record<number, number> = {};
      for (let i = 0; i < 300; i++) {
        const path = `/${junk()}/${pick(['r1', junk()])}/${pick(['events', junk()])}?lastEventId=${encodeURIComponent(junk())}`;
        const headers: Record<string, string> = {};
        if (random() < 0.5) headers['last-event-id'] = junk().replace(/[^\x20-\x7e]/g, '');
        if (random() < 0.3) headers[pick(['__proto__', 'constructor', 'x-junk'])] = 'y';
        const response = await fetch(`${base}${path}`, {
          method: pick(['GET', 'GET', 'POST', 'DELETE', 'OPTIONS']),
          headers,
          signal: AbortSignal.timeout(5_000),
        }).catch(() => undefined);
        const status = response?.status ?? 0;
        statuses[status] = (statuses[status] ?? 0) + 1;
        // A stream of a run that never ends stays open: take the answer, then leave.
        await response?.body?.cancel().catch(() => {});
      }
      // The server still answers a plain request.
      expect((await fetch(`${base}/runs/r1/events`)).status).toBe(200);
      console.log(`sse fuzz: 300 requests, by status ${JSON.stringify(statuses)}`);
      for (const status of Object.keys(statuses).map(Number))
        expect([200, 204, 400, 403, 500, 503], `status ${status}`).toContain(status);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
