// Redis Streams queue behaviour beyond the conformance suite: concurrent waiting claims on one
// adapter object, fairness across queues in one claim, delivery limits and option checks.
import type { Redis } from 'ioredis';
import { type DeadLetter, InvalidOptionError, type Priority } from 'loopwork';
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

  it('the lower of the adapter maxDeliveries and the claim maxDeliveries applies', async () => {
    const queue = createRedisQueue({ client, prefix: prefix(), maxDeliveries: 1 });
    try {
      await queue.enqueue('a', 'once');
      const [first] = await queue.claim(['a'], { ...lease, consumer: 'c1' });
      await queue.release(first!);
      const told: DeadLetter[] = [];
      const claim = { ...lease, consumer: 'c1', maxDeliveries: 5 };
      const got = await queue.claim(['a'], {
        ...claim,
        onDeadLetter: async (l) => void told.push(l),
      });
      expect(got).toEqual([]);
      expect(told.map((l) => [l.body, l.deliveryCount, l.reason])).toEqual([
        ['once', 1, 'delivered 1 times without being settled (maxDeliveries 1)'],
      ]);
      expect((await queue.deadLetters('a')).map((d) => d.body)).toEqual(['once']);
    } finally {
      await queue.close();
    }
  });

  it('a hook that outlives the lease: the message is dead-lettered once', async () => {
    const queue = createRedisQueue({ client, prefix: prefix() });
    try {
      await queue.enqueue('a', 'poison');
      const [first] = await queue.claim(['a'], { ...lease, consumer: 'c1' });
      await queue.release(first!);
      let unblock = () => {};
      const blocked = new Promise<void>((resolve) => {
        unblock = resolve;
      });
      const calls: string[] = [];
      const slow = queue.claim(['a'], {
        consumer: 'c1',
        leaseMs: 100,
        maxDeliveries: 1,
        onDeadLetter: async () => {
          calls.push('slow');
          await blocked;
        },
      });
      const quick = { consumer: 'c2', leaseMs: 100, maxDeliveries: 1, waitMs: 100 };
      while ((await queue.deadLetters('a')).length === 0) {
        expect(
          await queue.claim(['a'], {
            ...quick,
            onDeadLetter: async () => void calls.push('quick'),
          }),
        ).toEqual([]);
      }
      unblock();
      expect(await slow).toEqual([]);
      expect(calls).toEqual(['slow', 'quick']);
      const dead = await queue.deadLetters('a');
      expect(dead.map((d) => [d.body, d.deliveryCount])).toEqual([['poison', 1]]);
    } finally {
      await queue.close();
    }
  });

  it('removeDeadLetter finds a letter pages into the dead-letter stream, and one listed by its entry id', async () => {
    const p = prefix();
    const queue = createRedisQueue({ client, prefix: p });
    try {
      const key = `{${p}:q:jobs}:dead`;
      const batch = client.multi();
      for (let i = 0; i < 450; i++) {
        batch.xadd(key, '*', 'id', `m${i}`, 'body', `b${i}`, 'deliveries', '1', 'reason', 'r');
      }
      // A letter without an id field is listed (and so removed) by its entry id.
      batch.xadd(key, '*', 'body', 'anonymous', 'deliveries', '1', 'reason', 'r');
      await batch.exec();
      const anonymous = (await queue.deadLetters('jobs')).find((d) => d.body === 'anonymous');
      expect(anonymous?.id).toMatch(/^\d+-\d+$/);
      expect(await queue.removeDeadLetter?.('jobs', 'm449')).toBe(true);
      expect(await queue.removeDeadLetter?.('jobs', anonymous!.id)).toBe(true);
      expect(await queue.removeDeadLetter?.('jobs', 'm0')).toBe(true);
      expect(await queue.removeDeadLetter?.('jobs', 'm449')).toBe(false);
      expect(await queue.removeDeadLetter?.('jobs', 'm450')).toBe(false);
      const left = await queue.deadLetters('jobs');
      expect(left.map((d) => d.id)).toEqual(Array.from({ length: 448 }, (_, i) => `m${i + 1}`));
    } finally {
      await queue.close();
    }
  });

  it('refuses bad delivery limits, max, priorities and the reserved consumer, naming them', async () => {
    expect(() => createRedisQueue({ client, maxDeliveries: 0 })).toThrow(/maxDeliveries/);
    const queue = createRedisQueue({ client, prefix: prefix(), maxDeliveries: Infinity });
    try {
      const refused = async (promise: Promise<unknown>, name: RegExp) => {
        const error = await promise.then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        expect(InvalidOptionError.isInstance(error), String(error)).toBe(true);
        expect((error as Error).message).toMatch(/^\[loopwork:redis\] /);
        expect((error as Error).message).toMatch(name);
      };
      await refused(
        queue.claim(['a'], { ...lease, consumer: 'c1', maxDeliveries: 1.5 }),
        /maxDeliveries/,
      );
      await refused(queue.claim(['a'], { ...lease, consumer: 'c1', max: 0 }), /max must/);
      await refused(queue.claim(['a'], { ...lease, consumer: 'loopwork:dead-letter' }), /reserved/);
      await refused(queue.enqueue('a', 'x', { priority: 'urgent' as Priority }), /priority/);
      expect(await queue.claim(['a'], { ...lease, consumer: 'c1' })).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
