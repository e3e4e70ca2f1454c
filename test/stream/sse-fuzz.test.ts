// Hostile input, in the manner of a fuzz: random bytes and wrong shapes in Last-Event-ID, the
// query, the path (so the run id), the method and the headers; prototype-polluting names;
// huge values. The invariant: every request gets a clear 4xx/5xx or a correct stream, the
// process survives, nothing is left unhandled, no client slot or log follow leaks. The random
// source is seeded (printed) so a failure can be replayed.
import { createMemoryEventLog, createSseHandler, type SseHandler } from 'loopwork';
import { afterEach, describe, expect, it } from 'vitest';
import {
  countingLog,
  failOnUnhandledRejections,
  parseFrames,
  rawRequest,
  serveLikeTheDocs,
  type TestServer,
  waitFor,
} from './helpers';

failOnUnhandledRejections();

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_203);
const REQUESTS = 1_200;

/** mulberry32: small, fast, good enough to spread cases. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}

const HOSTILE = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '__defineGetter__',
  '__proto__[polluted]=1',
  'constructor.prototype.polluted',
  '../..',
  '%00',
  '%',
  '%ZZ',
  '%E0%A4%A',
  '-1',
  '-1-0',
  '1-',
  '-',
  '0-0',
  '18446744073709551615-18446744073709551615',
  '18446744073709551616-0',
  '0-18446744073709551616',
  'NaN-NaN',
  'Infinity-0',
  '1e309-0',
  '0x10-0',
  '{"a":1}',
  '[]',
  'null',
  'undefined',
  '<script>alert(1)</script>',
  "'; DROP TABLE runs;--",
  '１-０',
  '😀-😀',
  '\t',
] as const;

type Rng = ReturnType<typeof random>;

/**
 * Random bytes as a latin1 string (so each char is one byte on the wire): `any` byte, bytes a
 * header value may hold (`text`: no control characters, obs-text included), or `printable` ASCII.
 */
function bytes(rng: Rng, length: number, kind: 'any' | 'text' | 'printable' = 'any'): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    const code =
      kind === 'printable'
        ? 0x21 + rng.int(0x5e)
        : kind === 'text'
          ? 0x20 + rng.int(0xe0)
          : rng.int(256);
    out += String.fromCharCode(code === 0x7f ? 0x7e : code);
  }
  return out;
}

function value(rng: Rng): string {
  switch (rng.int(8)) {
    case 0:
      return rng.pick(HOSTILE);
    case 1:
      return bytes(rng, rng.int(40), 'text');
    case 7:
      return bytes(rng, rng.int(20)); // control characters too: mostly node:http's to refuse
    case 2:
      return bytes(rng, rng.int(60), 'printable');
    case 3:
      return `${rng.int(2 ** 31)}-${rng.int(100)}`; // a well-formed id
    case 4:
      return '9'.repeat(rng.pick([19, 20, 21, 40, 200, 5_000]));
    case 5:
      return `${rng.pick(HOSTILE)}${bytes(rng, rng.int(8), 'printable')}`;
    default:
      return 'x'.repeat(rng.pick([100, 1_000, 8_000, 20_000])); // the last is over node's header limit
  }
}

/** One raw HTTP/1.1 request with a few things wrong (or nothing, now and then). */
function hostileRequest(rng: Rng): { wire: Buffer; throws: boolean; authorized: boolean } {
  const method =
    rng.next() < 0.7
      ? 'GET'
      : rng.pick([
          'POST',
          'PUT',
          'DELETE',
          'HEAD',
          'OPTIONS',
          'PATCH',
          'get',
          'G ET',
          'CONNECT',
          bytes(rng, 5, 'printable'),
        ]);
  const run = rng.next() < 0.4 ? rng.pick(['r1', 'live']) : value(rng);
  // Raw bytes in the request target are mostly node:http's to refuse; encoded ones reach the handler.
  const segment = rng.next() < 0.8 ? encodeURIComponent(run) : run;
  const path = rng.pick([
    `/runs/${segment}/events`,
    `/runs/${segment}/events`,
    `/${segment}`,
    '/',
    `/runs/${segment}/events/${encodeURIComponent(value(rng))}`,
    `//${segment}`,
    `http://other.test/runs/${segment}/events`,
    '*',
  ]);
  const query =
    rng.next() < 0.4
      ? ''
      : rng.pick([
          `?lastEventId=${value(rng)}`,
          `?lastEventId=${encodeURIComponent(value(rng))}`,
          `?lastEventId=1-0&lastEventId=${value(rng)}`,
          `?${value(rng)}=${value(rng)}`,
          `?__proto__[x]=1&constructor=${value(rng)}`,
          '?lastEventId=',
        ]);
  const headers: string[] = [`Host: ${rng.next() < 0.9 ? '127.0.0.1' : value(rng)}`];
  const authorized = rng.next() < 0.8;
  if (authorized) headers.push('Authorization: Bearer ok');
  const throws = rng.next() < 0.05;
  if (throws) headers.push('X-Throw: yes');
  for (let i = rng.int(4); i > 0; i--) {
    headers.push(
      rng.pick([
        `Last-Event-ID: ${value(rng)}`,
        `last-event-id: ${value(rng)}`,
        `${rng.pick(HOSTILE)}: ${value(rng)}`,
        `${bytes(rng, 6, 'printable')}: ${value(rng)}`,
        `X-Junk: ${value(rng)}`,
        'Expect: 100-continue',
        'Transfer-Encoding: chunked',
        `Content-Length: ${rng.pick(['0', '-1', 'abc', '99999999999999999999'])}`,
        `Accept: ${value(rng)}`,
      ]),
    );
  }
  headers.push('Connection: close');
  const head = `${method} ${path}${query} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
  return { wire: Buffer.from(head, 'latin1'), throws, authorized };
}

function fuzzHandler() {
  const events = createMemoryEventLog();
  const counted = countingLog(events);
  const errors: unknown[] = [];
  const handler = createSseHandler({
    events: counted.log,
    maxClientsPerRun: 3,
    authorize: ({ headers }) => {
      if (headers.get('x-throw')) throw new Error('authorize blew up');
      return headers.get('authorization') === 'Bearer ok';
    },
    onError: (error) => errors.push(error),
  });
  return { events, counted, errors, handler };
}

async function seedRuns(events: ReturnType<typeof createMemoryEventLog>) {
  for (let i = 0; i < 3; i++) await events.append('r1', { type: 'step', i });
  await events.append('r1', { type: 'task-finished', runId: 'r1', status: 'completed' });
  await events.append('live', { type: 'step', i: 0 });
}

/** Every slot freed and every follow closed: three clients fit on the live run again. */
async function assertNothingLeaked(handler: SseHandler, counted: ReturnType<typeof countingLog>) {
  await waitFor(() => counted.stats.open === 0, 'every follow to be closed');
  const controllers = [0, 1, 2].map(() => new AbortController());
  const answers = await Promise.all(
    controllers.map((c) =>
      handler.fetch(
        new Request('http://app.test/runs/live/events', {
          headers: { authorization: 'Bearer ok' },
          signal: c.signal,
        }),
      ),
    ),
  );
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
  for (const [i, c] of controllers.entries()) {
    c.abort();
    await answers[i]?.body?.cancel().catch(() => {});
  }
  await waitFor(() => counted.stats.open === 0, 'the check streams to be closed');
}

const tally = (counts: Map<string, number>, key: string) =>
  counts.set(key, (counts.get(key) ?? 0) + 1);

describe(`SSE under hostile input (seed ${SEED})`, () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it(`node:http served as in the docs: ${REQUESTS} hostile requests, each answered clearly; the server lives on`, async () => {
    const rng = random(SEED);
    const { events, counted, errors, handler } = fuzzHandler();
    await seedRuns(events);
    const server = await serveLikeTheDocs(handler);
    servers.push(server);
    const byStatus = new Map<string, number>();
    let thrown = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const request = hostileRequest(rng);
      const answer = await rawRequest(server.port, request.wire);
      const what = `request ${i}: ${JSON.stringify(request.wire.toString('latin1').slice(0, 300))}`;
      // node:http hangs up on CONNECT itself when the server has no 'connect' listener, and
      // answers what it cannot parse (400, 431) before the handler is called.
      const byNode =
        !/\r\nx-content-type-options: nosniff/i.test(answer.head) && answer.status !== 200;
      tally(byStatus, `${answer.status}${byNode ? ' by node:http' : ''}`);
      if (request.wire.toString('latin1').startsWith('CONNECT ')) continue;
      expect(answer.status, what).toBeGreaterThanOrEqual(200);
      const head = request.wire.toString('latin1').startsWith('HEAD ');
      if (!byNode && ![200, 204].includes(answer.status) && !head) {
        expect(answer.body, `${what}: a refusal says why`).toMatch(/^\S.*\n$/s);
      }
      if (answer.status === 200) {
        expect(answer.head, what).toMatch(
          /\r\ncontent-type: text\/event-stream; charset=utf-8\r\n/i,
        );
        expect(answer.body, what).toContain('retry: 2000\n\n');
      } else {
        expect([204, 400, 403, 404, 405, 429, 431, 500, 501, 505], what).toContain(answer.status);
      }
      if (answer.status === 500) {
        expect(request.throws, `${what} is a 500 without authorize throwing`).toBe(true);
        thrown++;
      }
    }
    console.log(
      `node:http, seed ${SEED}: ${REQUESTS} requests; by status ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}`,
    );
    expect(errors).toHaveLength(thrown); // onError heard of each 500, and of nothing else
    for (const error of errors) expect((error as Error).message).toBe('authorize blew up');
    expect(byStatus.get('200') ?? 0).toBeGreaterThan(0);
    expect(byStatus.get('400') ?? 0, 'the handler itself refused some').toBeGreaterThan(0);

    // Alive and correct: a whole stream, then no leaked slot or follow.
    const whole = await fetch(`http://127.0.0.1:${server.port}/runs/r1/events`, {
      headers: { authorization: 'Bearer ok' },
    });
    expect(parseFrames(await whole.text())).toHaveLength(4);
    await assertNothingLeaked(handler, counted);
  }, 120_000);

  it(`fetch handler: ${REQUESTS} hostile Requests, each answered clearly`, async () => {
    const rng = random(SEED + 1);
    const { events, counted, errors, handler } = fuzzHandler();
    await seedRuns(events);
    const byStatus = new Map<string, number>();
    let refusedByRequest = 0;
    let thrown = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const { wire, throws } = hostileRequest(rng);
      // The same hostile request, rebuilt as a fetch Request (which refuses some shapes itself).
      const text = wire.toString('latin1');
      const [requestLine = '', ...headerLines] = text.split('\r\n');
      const [method = 'GET', target = '/'] = requestLine.split(' ');
      let request: Request;
      const controller = new AbortController();
      try {
        const headers = new Headers();
        for (const line of headerLines) {
          const colon = line.indexOf(':');
          if (colon > 0) headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
        }
        request = new Request(new URL(target, 'http://app.test'), {
          method,
          headers,
          signal: controller.signal,
        });
      } catch {
        refusedByRequest++;
        continue;
      }
      const response = await handler.fetch(request);
      tally(byStatus, String(response.status));
      const what = `request ${i}: ${JSON.stringify(text.slice(0, 300))}`;
      if (response.status === 200) {
        expect(response.headers.get('content-type'), what).toBe('text/event-stream; charset=utf-8');
        const reader = response.body!.getReader();
        expect(new TextDecoder().decode((await reader.read()).value), what).toBe('retry: 2000\n\n');
        controller.abort();
        await reader.cancel();
      } else {
        expect([204, 400, 403, 405, 429, 500], what).toContain(response.status);
        await response.body?.cancel();
      }
      if (response.status === 500) {
        expect(throws, `${what} is a 500 without authorize throwing`).toBe(true);
        thrown++;
      }
    }
    console.log(
      `fetch, seed ${SEED + 1}: ${REQUESTS} requests (${refusedByRequest} refused by the Request constructor); by status ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}`,
    );
    expect(errors).toHaveLength(thrown);
    expect(byStatus.get('200') ?? 0).toBeGreaterThan(0);
    expect(byStatus.get('400') ?? 0).toBeGreaterThan(0);
    await assertNothingLeaked(handler, counted);
  }, 120_000);
});
