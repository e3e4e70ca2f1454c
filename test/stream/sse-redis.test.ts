// The SSE handler on the Redis event log, which (unlike the memory log) fails on ids it cannot
// parse: the adversarial report had one such request reject into the server. Against a private
// redis-server this file starts on a free port.
import type { Redis } from 'ioredis';
import { createSseHandler } from 'loopwork';
import { createRedisEventLog } from 'loopwork/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../helpers/redis-server';
import {
  countingLog,
  failOnUnhandledRejections,
  parseFrames,
  serveLikeTheDocs,
  type TestServer,
  waitFor,
} from './helpers';

failOnUnhandledRejections();

let redis: RedisServer;
let client: Redis;
beforeAll(async () => {
  redis = await startRedisServer();
  client = redis.client();
});
afterAll(() => redis.stop());

const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

const prefix = () => `sse${Math.random().toString(36).slice(2, 8)}`;

async function serve(events: ReturnType<typeof createRedisEventLog>) {
  const errors: unknown[] = [];
  const counted = countingLog(events);
  const server = await serveLikeTheDocs(
    createSseHandler({
      events: counted.log,
      authorize: () => true,
      onError: (error) => errors.push(error),
      keepAliveMs: 60_000,
    }),
  );
  servers.push(server);
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${server.port}${path}`, { headers });
  return { get, errors, counted };
}

describe('SSE on the Redis event log', () => {
  it('ids Redis would refuse are 400 before Redis is asked; the largest possible id streams', async () => {
    const events = createRedisEventLog({ client, prefix: prefix() });
    await events.append('r1', { type: 'step' });
    const { get, errors, counted } = await serve(events);
    for (const id of ['garbage', '-1-0', '18446744073709551616-0', '1-', '01-1', '1-0 1']) {
      const response = await get('/runs/r1/events', { 'last-event-id': id });
      expect(response.status, id).toBe(400);
      expect(await response.text()).toContain('is not an event id');
    }
    const bad = await get(`/runs/r1/events?lastEventId=${encodeURIComponent('1-0; DEL x')}`);
    expect(bad.status).toBe(400);
    await bad.text();

    const controller = new AbortController();
    const largest = await fetch(
      `http://127.0.0.1:${(servers[0] as TestServer).port}/runs/r1/events`,
      {
        headers: { 'last-event-id': '18446744073709551615-18446744073709551615' },
        signal: controller.signal,
      },
    );
    expect(largest.status).toBe(200);
    controller.abort();
    await largest.body?.cancel().catch(() => {});
    await waitFor(() => counted.stats.open === 0, 'the follow to close');
    expect(errors).toEqual([]); // Redis never failed
  });

  it('a reconnect gets exactly the missed events, an event over maxEventBytes arrives as a placeholder in its place, and after the final event it is 204', async () => {
    const events = createRedisEventLog({ client, prefix: prefix(), maxEventBytes: 4_096 });
    const ids = [
      await events.append('r1', { type: 'step', i: 0 }),
      await events.append('r1', { type: 'dump', text: 'x'.repeat(10_000) }),
      await events.append('r1', { type: 'step', i: 2 }),
      await events.append('r1', { type: 'task-finished', status: 'completed' }),
    ];
    const { get, errors } = await serve(events);
    const resumed = await get('/runs/r1/events', { 'last-event-id': ids[0]! });
    const frames = parseFrames(await resumed.text());
    expect(frames.map((f) => f.id)).toEqual(ids.slice(1));
    expect(frames.map((f) => f.event)).toEqual(['event-too-large', 'step', 'task-finished']);
    expect(JSON.parse(frames[0]?.data ?? '')).toEqual({
      type: 'event-too-large',
      originalType: 'dump',
      bytes: 10_025, // its JSON
      limit: 4_096,
    });
    const done = await get('/runs/r1/events', { 'last-event-id': ids[3]! });
    expect(done.status).toBe(204);
    // An earlier id of the finished run replays the rest; an id of the same millisecond too.
    const replay = await get('/runs/r1/events', { 'last-event-id': ids[2]! });
    expect(parseFrames(await replay.text()).map((f) => f.id)).toEqual([ids[3]]);
    expect(errors).toEqual([]);
  });
});
