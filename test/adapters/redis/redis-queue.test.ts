// Redis Streams queue behaviour beyond the conformance suite: concurrent waiting claims on one
// adapter object, and fairness across queues in one claim.
import type { Redis } from 'ioredis';
import { createRedisQueue } from 'loopwork/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';

let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

const prefix = () => `t${Math.random().toString(36).slice(2, 8)}`;
const lease = { leaseMs: 30_000 };

describe('redis queue', () => {
  it('two claims waiting on one adapter each get their message, and aborting one spares the other', async () => {
    const queue = createRedisQueue({ client, prefix: prefix() });
    try {
      const aborted = new AbortController();
      const doomed = queue.claim(['a'], {
        ...lease,
        consumer: 'c0',
        waitMs: 5_000,
        signal: aborted.signal,
      });
      const first = queue.claim(['a'], { ...lease, consumer: 'c1', waitMs: 5_000 });
      const second = queue.claim(['b'], { ...lease, consumer: 'c2', waitMs: 5_000 });
      aborted.abort();
      expect(await doomed).toEqual([]);
      await queue.enqueue('b', 'for b');
      await queue.enqueue('a', 'for a');
      expect((await first).map((m) => m.body)).toEqual(['for a']);
      expect((await second).map((m) => m.body)).toEqual(['for b']);
    } finally {
      await queue.close();
    }
  });

  it('a claim over several queues does not let a busy first queue starve the next', async () => {
    const queue = createRedisQueue({ client, prefix: prefix() });
    try {
      for (let i = 0; i < 6; i++) await queue.enqueue('busy', `busy-${i}`);
      await queue.enqueue('quiet', 'quiet-0');
      const seen: string[] = [];
      for (let i = 0; i < 2; i++) {
        const messages = await queue.claim(['busy', 'quiet'], { ...lease, consumer: 'c1', max: 2 });
        seen.push(...messages.map((m) => m.body));
      }
      expect(seen).toContain('quiet-0');
    } finally {
      await queue.close();
    }
  });
});
