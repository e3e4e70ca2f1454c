// Message groups on open-source BullMQ, beyond the conformance suite's one group test: the head
// keeps its place through a release, a delayed release and a lost lease; dead-lettering a head
// (explicitly or by the claim's maxDeliveries) moves the group on; dedupe ids of waiting members
// count; priority and delay apply when a member becomes the head; BullMQ's housekeeping leaves
// the bookkeeping alone. Against a real redis-server started on a free port.
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue as BullQueue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeadLetter } from 'loopwork';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';
import { adapters, claimOne, drain, unique } from './group-helpers';

let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

const { open, track, closeAll } = adapters(() => client);
afterEach(closeAll);

describe('the head of a group keeps its place', () => {
  it('a head released with a delay comes back before the later members', async () => {
    const { queue } = open();
    const name = unique('q');
    for (const body of ['a1', 'a2', 'a3']) await queue.enqueue(name, body, { groupId: 'g' });
    const first = await claimOne(queue, name);
    expect([first.body, first.groupId]).toEqual(['a1', 'g']);
    await queue.release(first, { delayMs: 200 });
    const again = await claimOne(queue, name);
    expect([again.body, again.deliveryCount]).toEqual(['a1', 2]);
    await queue.release(again); // and without a delay
    const third = await claimOne(queue, name);
    expect([third.body, third.deliveryCount]).toEqual(['a1', 3]);
    await queue.ack(third);
    expect(await drain(queue, name, 2)).toEqual(['a2', 'a3']);
  });

  it('a head whose lease runs out is delivered again before the next member', async () => {
    const { queue } = open();
    const name = unique('q');
    await queue.enqueue(name, 'b1', { groupId: 'g' });
    await queue.enqueue(name, 'b2', { groupId: 'g' });
    const lapsed = await claimOne(queue, name, { leaseMs: 100 });
    expect(lapsed.body).toBe('b1');
    // BullMQ's stalled check returns it; until then nothing of the group is claimable.
    const again = await claimOne(queue, name);
    expect([again.id, again.body, again.deliveryCount]).toEqual([lapsed.id, 'b1', 2]);
    await queue.ack(again);
    expect(await drain(queue, name, 1)).toEqual(['b2']);
  });
});

describe('dead-lettering a head moves the group on', () => {
  it('explicitly, with deadLetter', async () => {
    const { queue } = open();
    const name = unique('q');
    await queue.enqueue(name, 'c1', { groupId: 'g' });
    await queue.enqueue(name, 'c2', { groupId: 'g' });
    await queue.deadLetter(await claimOne(queue, name), 'poison');
    expect(await drain(queue, name, 1)).toEqual(['c2']);
    expect((await queue.deadLetters(name)).map((d) => [d.body, d.reason])).toEqual([
      ['c1', 'poison'],
    ]);
  });

  it("by the claim's maxDeliveries, after onDeadLetter", async () => {
    const { queue } = open();
    const name = unique('q');
    const { id } = await queue.enqueue(name, 'd1', { groupId: 'g' });
    await queue.enqueue(name, 'd2', { groupId: 'g' });
    const told: DeadLetter[] = [];
    const claim = {
      maxDeliveries: 1,
      onDeadLetter: async (letter: DeadLetter) => {
        told.push(letter);
      },
    };
    const first = await claimOne(queue, name, claim);
    expect([first.body, first.deliveryCount]).toEqual(['d1', 1]);
    await queue.release(first);
    const next = await claimOne(queue, name, claim);
    expect([next.body, next.deliveryCount, next.groupId]).toEqual(['d2', 1, 'g']);
    expect(told.map((letter) => [letter.id, letter.body, letter.deliveryCount])).toEqual([
      [id, 'd1', 1],
    ]);
    expect((await queue.deadLetters(name)).map((d) => d.id)).toEqual([id]);
  });

  it('not while onDeadLetter rejects: the head stays, and the next member waits', async () => {
    const { queue } = open();
    const name = unique('q');
    await queue.enqueue(name, 'h1', { groupId: 'g' });
    await queue.enqueue(name, 'h2', { groupId: 'g' });
    let calls = 0;
    const refusing = {
      leaseMs: 100,
      maxDeliveries: 1,
      onDeadLetter: async () => {
        calls++;
        throw new Error('run store down');
      },
    };
    await queue.release(await claimOne(queue, name, refusing));
    for (let round = 0; round < 200 && calls < 2; round++) {
      const got = await queue.claim([name], { consumer: 'c', ...refusing, waitMs: 50 });
      expect(got.map((m) => m.body)).toEqual([]);
    }
    expect(calls).toBeGreaterThanOrEqual(2); // asked again once the lease ran out
    expect(await queue.deadLetters(name)).toEqual([]);
    const accepting = { maxDeliveries: 1, onDeadLetter: async () => {} };
    expect((await claimOne(queue, name, accepting)).body).toBe('h2');
  });
});

describe('dedupe ids of waiting members', () => {
  it('count as in the queue, for grouped and ungrouped enqueues, until acked', async () => {
    const { queue } = open();
    const name = unique('q');
    await queue.enqueue(name, 'e1', { groupId: 'g' });
    const waiting = await queue.enqueue(name, 'e2', { groupId: 'g', dedupeId: 'x' });
    expect(waiting.deduplicated).toBe(false);
    const duplicate = { id: waiting.id, deduplicated: true };
    expect(await queue.enqueue(name, 'same group', { groupId: 'g', dedupeId: 'x' })).toEqual(
      duplicate,
    );
    expect(await queue.enqueue(name, 'other group', { groupId: 'h', dedupeId: 'x' })).toEqual(
      duplicate,
    );
    expect(await queue.enqueue(name, 'ungrouped', { dedupeId: 'x' })).toEqual(duplicate);
    expect(await drain(queue, name, 2)).toEqual(['e1', 'e2']);
    const fresh = await queue.enqueue(name, 'e3', { groupId: 'g', dedupeId: 'x' });
    expect(fresh.deduplicated, 'free again once the member was acked').toBe(false);
    expect(await drain(queue, name, 1)).toEqual(['e3']);
  });

  it('a grouped enqueue is deduplicated onto an ungrouped job holding the id', async () => {
    const { queue } = open();
    const name = unique('q');
    const held = await queue.enqueue(name, 'plain', { dedupeId: 'y' });
    expect(await queue.enqueue(name, 'grouped', { groupId: 'g', dedupeId: 'y' })).toEqual({
      id: held.id,
      deduplicated: true,
    });
    expect(await drain(queue, name, 1)).toEqual(['plain']);
  });
});

describe('priority and delay apply when a member becomes the head', () => {
  it("a member's priority applies when it is the head; in its level it keeps its enqueue order", async () => {
    const { queue } = open();
    const name = unique('q');
    await queue.enqueue(name, 'f1', { groupId: 'g' });
    await queue.enqueue(name, 'f2', { groupId: 'g', priority: 'high' });
    await queue.enqueue(name, 'f3', { groupId: 'g' });
    await queue.enqueue(name, 'plain-1');
    const head = await claimOne(queue, name);
    expect(head.body).toBe('f1'); // enqueued before plain-1
    await queue.enqueue(name, 'plain-2');
    await queue.ack(head);
    // f2 is high; f3 waited behind it, but was enqueued before plain-1, so it comes first.
    expect(await drain(queue, name, 4)).toEqual(['f2', 'f3', 'plain-1', 'plain-2']);
  });

  it("a member's delay that ran out while it waited does not hold it back", async () => {
    const { queue } = open();
    const name = unique('q');
    await queue.enqueue(name, 'i1', { groupId: 'g' });
    await queue.enqueue(name, 'i2', { groupId: 'g', delayMs: 100 });
    const head = await claimOne(queue, name);
    await sleep(200); // i2's delay runs out while it waits behind i1
    await queue.ack(head);
    const [next] = await queue.claim([name], { consumer: 'c', leaseMs: 60_000 }); // no wait
    expect(next?.body).toBe('i2');
  });

  it('a delayed member that becomes the head waits for the rest of its delay', async () => {
    const { queue } = open();
    const name = unique('q');
    await queue.enqueue(name, 'j1', { groupId: 'g' });
    await queue.enqueue(name, 'j2', { groupId: 'g', delayMs: 60_000 });
    await queue.enqueue(name, 'plain');
    await queue.ack(await claimOne(queue, name));
    expect(await drain(queue, name, 1)).toEqual(['plain']); // j2 is not due for a minute
  });
});

describe('group bookkeeping', () => {
  it('keeps groups of one id in different queues apart', async () => {
    const { queue } = open();
    const [q1, q2] = [unique('q'), unique('q')];
    await queue.enqueue(q1, 'in q1', { groupId: 'same' });
    await queue.enqueue(q2, 'in q2', { groupId: 'same' });
    const both = [await claimOne(queue, q1), await claimOne(queue, q2)];
    expect(both.map((m) => [m.queue, m.body])).toEqual([
      [q1, 'in q1'],
      [q2, 'in q2'],
    ]);
  });

  it("survives BullMQ's removeOrphanedJobs, which deletes unknown keys under the queue", async () => {
    const { queue, prefix } = open();
    const name = unique('q');
    for (const body of ['k1', 'k2', 'k3']) await queue.enqueue(name, body, { groupId: 'g:1' });
    const plain = track(new BullQueue(name, { connection: client, prefix }));
    await plain.removeOrphanedJobs();
    expect(await drain(queue, name, 3)).toEqual(['k1', 'k2', 'k3']);
  });

  it('leaves nothing behind once a group is done', async () => {
    const { queue, prefix } = open();
    const name = unique('q');
    for (const body of ['l1', 'l2'])
      await queue.enqueue(name, body, { groupId: 'g', dedupeId: body });
    expect(await drain(queue, name, 2)).toEqual(['l1', 'l2']);
    expect((await client.keys(`${prefix}:${name}:loopwork:*`)).sort()).toEqual([]);
    expect(await client.keys(`${prefix}:${name}:de:*`)).toEqual([]);
  });
});
