// Groups on the Redis Streams queue, beyond the conformance suite's one test: where a group's head
// goes when it is released, redelivered or dead-lettered, delays and priorities of later members,
// dedupe of waiting members, and many groups under concurrent claimers.
import type { Redis } from 'ioredis';
import {
  type ClaimedMessage,
  type ClaimOptions,
  type DeadLetter,
  LeaseLostError,
  type Priority,
  type Queue,
} from 'loopwork';
import { createRedisQueue } from 'loopwork/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueKeys } from '../../../adapters/redis/keys';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';

let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

const NAME = 'q';
const lease = { consumer: 'c1', leaseMs: 60_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Claims until one message arrives (failing after a generous bound), and returns it. */
async function claimOne(queue: Queue, claim: Omit<ClaimOptions, 'waitMs'>) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [message] = await queue.claim([NAME], { ...claim, waitMs: 100 });
    if (message) return message;
    if (Date.now() > deadline) throw new Error(`nothing could be claimed from "${NAME}"`);
  }
}

/** A fresh queue on its own prefix, closed after `body`. */
async function withQueue(body: (queue: Queue, prefix: string) => Promise<void>) {
  const prefix = `t${Math.random().toString(36).slice(2, 8)}`;
  const queue = createRedisQueue({ client, prefix });
  try {
    await body(queue, prefix);
  } finally {
    await queue.close();
  }
}

describe('redis queue groups', () => {
  it('a group comes out one at a time in enqueue order, whatever its priorities, and leaves no keys', () =>
    withQueue(async (queue, prefix) => {
      await queue.enqueue(NAME, 'g-a', { groupId: 'g', priority: 'low' });
      await queue.enqueue(NAME, 'g-b', { groupId: 'g', priority: 'high' });
      await queue.enqueue(NAME, 'g-c', { groupId: 'g' });
      await queue.enqueue(NAME, 'u');
      const first = await queue.claim([NAME], { ...lease, max: 10 });
      expect(first.map((m) => [m.body, m.groupId]).sort()).toEqual([
        ['g-a', 'g'],
        ['u', undefined],
      ]);
      const seen: string[] = [];
      let head = first.find((m) => m.groupId === 'g') as ClaimedMessage;
      for (;;) {
        seen.push(head.body);
        await queue.ack(head);
        const [next] = await queue.claim([NAME], { ...lease, max: 10 });
        if (!next) break;
        head = next;
      }
      expect(seen).toEqual(['g-a', 'g-b', 'g-c']);
      const keys = queueKeys(prefix, NAME);
      expect(await client.exists(keys.groups, keys.group('g'))).toBe(0);
    }));

  it('a priority applies to a member once it is the head', () =>
    withQueue(async (queue) => {
      await queue.enqueue(NAME, 'g-a', { groupId: 'g' });
      await queue.enqueue(NAME, 'g-b', { groupId: 'g', priority: 'high' });
      await queue.enqueue(NAME, 'n');
      const head = await claimOne(queue, lease);
      expect(head.body).toBe('g-a');
      await queue.ack(head);
      expect((await claimOne(queue, lease)).body).toBe('g-b');
    }));

  it('a released head, with a delay, stays ahead of later members; other groups go on', () =>
    withQueue(async (queue) => {
      await queue.enqueue(NAME, 'g-a', { groupId: 'g' });
      await queue.enqueue(NAME, 'g-b', { groupId: 'g' });
      const head = await claimOne(queue, lease);
      await queue.release(head, { delayMs: 300 });
      await queue.enqueue(NAME, 'h-a', { groupId: 'h' });
      expect((await claimOne(queue, lease)).body).toBe('h-a');
      const again = await claimOne(queue, lease);
      expect([again.body, again.id, again.deliveryCount]).toEqual(['g-a', head.id, 2]);
      await queue.ack(again);
      expect((await claimOne(queue, lease)).body).toBe('g-b');
    }));

  it('a head whose lease runs out is redelivered before the next member', () =>
    withQueue(async (queue) => {
      await queue.enqueue(NAME, 'g-a', { groupId: 'g' });
      await queue.enqueue(NAME, 'g-b', { groupId: 'g' });
      const first = await claimOne(queue, { consumer: 'c0', leaseMs: 100 });
      const second = await claimOne(queue, lease);
      expect([second.body, second.deliveryCount, second.groupId]).toEqual(['g-a', 2, 'g']);
      await expect(queue.ack(first)).rejects.toSatisfy(LeaseLostError.isInstance);
      await queue.ack(second);
      const next = await claimOne(queue, lease);
      expect([next.body, next.deliveryCount]).toEqual(['g-b', 1]);
    }));

  it('a delayed member that becomes the head is not claimable before its delay', () =>
    withQueue(async (queue) => {
      await queue.enqueue(NAME, 'g-a', { groupId: 'g' });
      await queue.enqueue(NAME, 'g-b', { groupId: 'g', delayMs: 60_000 });
      await queue.enqueue(NAME, 'g-c', { groupId: 'g' });
      await queue.ack(await claimOne(queue, lease));
      expect(await queue.claim([NAME], { ...lease, max: 10, waitMs: 200 })).toEqual([]);
    }));

  it('a member whose delay ran out while it waited is claimable as soon as it is the head', () =>
    withQueue(async (queue) => {
      await queue.enqueue(NAME, 'g-a', { groupId: 'g' });
      await queue.enqueue(NAME, 'g-b', { groupId: 'g', delayMs: 200 });
      const head = await claimOne(queue, lease);
      await sleep(400);
      await queue.ack(head);
      const [next] = await queue.claim([NAME], lease);
      expect(next?.body).toBe('g-b');
    }));

  it('dead-lettering a head, explicitly or by the claim maxDeliveries, lets the next member go', () =>
    withQueue(async (queue) => {
      for (const body of ['g-a', 'g-b', 'g-c']) await queue.enqueue(NAME, body, { groupId: 'g' });
      await queue.deadLetter(await claimOne(queue, lease), 'bad payload');
      const b = await claimOne(queue, lease);
      expect(b.body).toBe('g-b');
      await queue.release(b);
      const told: DeadLetter[] = [];
      const limited = {
        ...lease,
        maxDeliveries: 1,
        onDeadLetter: async (l: DeadLetter) => void told.push(l),
      };
      expect((await claimOne(queue, limited)).body).toBe('g-c');
      expect(told.map((l) => [l.body, l.deliveryCount])).toEqual([['g-b', 1]]);
      const dead = await queue.deadLetters(NAME);
      expect(dead.map((d) => [d.body, d.reason, d.deliveryCount])).toEqual([
        ['g-a', 'bad payload', 1],
        ['g-b', told[0]?.reason, 1],
      ]);
    }));

  it('a head whose onDeadLetter refused blocks its group, uncounted, until it is dead-lettered', () =>
    withQueue(async (queue) => {
      await queue.enqueue(NAME, 'g-a', { groupId: 'g' });
      await queue.enqueue(NAME, 'g-b', { groupId: 'g' });
      await queue.release(await claimOne(queue, lease));
      let calls = 0;
      const refusing = {
        consumer: 'c1',
        leaseMs: 150,
        maxDeliveries: 1,
        onDeadLetter: async () => {
          calls++;
          throw new Error('run store unavailable');
        },
      };
      expect(await queue.claim([NAME], refusing)).toEqual([]);
      expect(calls).toBe(1);
      // Held until its lease ends, then delivered again: the refused take was no delivery.
      const again = await claimOne(queue, lease);
      expect([again.body, again.deliveryCount]).toEqual(['g-a', 2]);
      await queue.release(again);
      const accepting = { ...lease, maxDeliveries: 2, onDeadLetter: async () => {} };
      expect((await claimOne(queue, accepting)).body).toBe('g-b');
      const dead = await queue.deadLetters(NAME);
      expect(dead.map((d) => [d.body, d.deliveryCount])).toEqual([['g-a', 2]]);
    }));

  it('the dedupe id of a waiting member counts as in the queue until it is settled', () =>
    withQueue(async (queue) => {
      await queue.enqueue(NAME, 'g-a', { groupId: 'g' });
      const waiting = await queue.enqueue(NAME, 'g-b', { groupId: 'g', dedupeId: 'x' });
      expect(await queue.enqueue(NAME, 'g-c', { groupId: 'g', dedupeId: 'x' })).toEqual({
        id: waiting.id,
        deduplicated: true,
      });
      expect(await queue.enqueue(NAME, 'u', { dedupeId: 'x' })).toEqual({
        id: waiting.id,
        deduplicated: true,
      });
      await queue.ack(await claimOne(queue, lease));
      const b = await claimOne(queue, lease);
      expect(b.body).toBe('g-b');
      await queue.ack(b);
      expect(await queue.claim([NAME], { ...lease, max: 10 })).toEqual([]);
      expect((await queue.enqueue(NAME, 'g-d', { dedupeId: 'x' })).deduplicated).toBe(false);
    }));

  it('many groups under 4 concurrent claimers: in order, one at a time per group, nothing lost', () =>
    withQueue(async (first, prefix) => {
      const others = Array.from({ length: 3 }, () => createRedisQueue({ client, prefix }));
      const queues = [first, ...others];
      const levels: Priority[] = ['high', 'normal', 'low'];
      const expected = new Map<string, string[]>();
      const ungrouped = new Set<string>();
      const [groups, members] = [12, 8];
      const feeder = first;
      for (let m = 0; m < members; m++) {
        for (let g = 0; g < groups; g++) {
          const [groupId, body] = [`g${g}`, `g${g}-${m}`];
          await feeder.enqueue(NAME, body, { groupId, priority: levels[(g + m) % 3] });
          expected.set(groupId, [...(expected.get(groupId) ?? []), body]);
        }
        await feeder.enqueue(NAME, `u${m}`);
        ungrouped.add(`u${m}`);
      }
      const total = groups * members + ungrouped.size;
      const held = new Map<string, string>();
      const delivered = new Map<string, string[]>();
      const acked = new Map<string, string[]>();
      let deliveries = 0;
      const deadline = Date.now() + 30_000;
      const done = () => [...acked.values()].reduce((n, list) => n + list.length, 0) >= total;
      const consume = async (queue: Queue, consumer: string) => {
        while (!done() && Date.now() < deadline) {
          const batch = await queue.claim([NAME], {
            consumer,
            leaseMs: 60_000,
            max: 3,
            waitMs: 100,
          });
          for (const m of batch) {
            const key = m.groupId ?? m.body;
            if (m.groupId !== undefined) {
              expect(held.get(m.groupId), `${m.body} leased while its group was held`).toBe(
                undefined,
              );
              held.set(m.groupId, m.body);
            }
            delivered.set(key, [...(delivered.get(key) ?? []), m.body]);
          }
          await sleep(1 + (deliveries % 3));
          // Each group is marked free before its settle is sent, so a claim answered after the
          // settle cannot be mistaken for one that overlapped it.
          const settles = batch.map((m) => {
            if (m.groupId !== undefined) held.delete(m.groupId);
            if (++deliveries % 5 === 0 && m.deliveryCount === 1) return queue.release(m);
            const key = m.groupId ?? m.body;
            acked.set(key, [...(acked.get(key) ?? []), m.body]);
            return queue.ack(m);
          });
          await Promise.all(settles);
        }
      };
      try {
        await Promise.all(queues.map((queue, i) => consume(queue, `c${i % 2}`)));
      } finally {
        await Promise.all(queues.map((queue) => queue.close()));
      }
      for (const [groupId, bodies] of expected) {
        expect(acked.get(groupId), `acks of ${groupId}`).toEqual(bodies);
        const runs = (delivered.get(groupId) ?? []).filter((b, i, all) => b !== all[i - 1]);
        expect(runs, `deliveries of ${groupId}, a redelivery right after its first`).toEqual(
          bodies,
        );
      }
      for (const body of ungrouped) expect(acked.get(body)).toEqual([body]);
      expect(deliveries).toBeGreaterThan(total); // some were released and came back
      const keys = queueKeys(prefix, NAME);
      expect(await client.hlen(keys.groups)).toBe(0);
      expect(await client.keys(`${keys.group('*')}`)).toEqual([]);
      expect(await feeder.deadLetters(NAME)).toEqual([]);
    }));
});
