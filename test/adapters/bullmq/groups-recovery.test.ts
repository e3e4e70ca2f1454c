// Message groups on BullMQ when a process dies between two steps, each simulated by running the
// adapter's internal steps by hand and stopping where the crash would: the sweep must deliver
// every member, in order, none lost and none twice. Then many groups under four concurrent
// claimers. Against a real redis-server started on a free port.
import { randomUUID } from 'node:crypto';
import { Queue as BullQueue, Worker as BullWorker, Job, QueueKeys } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ClaimedMessage, Queue } from 'loopwork';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queueKeys } from '../../../adapters/bullmq/bull-queues';
import { groupScripts, type Member } from '../../../adapters/bullmq/group-scripts';
import { PARK_MS } from '../../../adapters/bullmq/groups';
import { groupJobName, JOB_OPTIONS } from '../../../adapters/bullmq/jobs';
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

/** The adapter's steps for one queue, to run by hand up to a simulated crash. */
function steps(prefix: string, name: string) {
  const keys = queueKeys(new QueueKeys(prefix), name);
  const scripts = groupScripts(client);
  const producer = track(new BullQueue(name, { connection: client, prefix }));
  return {
    keys,
    /** Step 1 of enqueue: the member is recorded (the head of an idle group). */
    record: async (body: string, group = 'g') => {
      const member: Member = { id: randomUUID(), body, group, priority: 2, dueAt: Date.now() };
      const { head } = await scripts.enqueue(keys, member, 60_000);
      return head ?? member;
    },
    /** Step 2: the head's job, added parked. */
    addParked: (member: Member) =>
      producer.add(groupJobName(member.group), member.body, {
        ...JOB_OPTIONS,
        jobId: member.id,
        priority: member.priority,
        delay: PARK_MS,
      }),
    /** Step 3: the parked job made claimable. */
    activate: (member: Member) => scripts.activate(keys, member, Date.now()),
    /** Step 1 after a settle: the next member becomes the head. */
    advance: (group: string, settled: string) => scripts.advance(keys, group, settled),
    /** The first step of a settle, BullMQ's own, fenced by the receipt. */
    settleInBullmq: async (message: ClaimedMessage, how: 'completed' | 'failed') => {
      const job = await Job.fromId(producer, message.id);
      if (how === 'completed') await job!.moveToCompleted(null, message.receipt, false);
      else await job!.moveToFailed(new Error('malformed'), message.receipt, false);
    },
    jobExists: async (id: string) => (await client.exists(keys.jobPrefix + id)) === 1,
  };
}

/** A fresh adapter and queue name with the steps for them. */
function subject() {
  const { queue, prefix } = open();
  const name = unique('q');
  return { queue, name, prefix, ...steps(prefix, name) };
}

const enqueueAll = async (queue: Queue, name: string, bodies: string[], group = 'g') => {
  for (const body of bodies) await queue.enqueue(name, body, { groupId: group });
};

describe('without a crash', () => {
  it('enqueue and ack make the next head claimable themselves, with no sweep', async () => {
    const s = subject();
    // A plain BullMQ consumer runs no sweep: what it takes was made claimable by the adapter's
    // enqueue and ack alone.
    const plain = track(
      new BullWorker(s.name, null, { connection: client, prefix: s.prefix, autorun: false }),
    );
    await enqueueAll(s.queue, s.name, ['m1', 'm2']);
    const first = await plain.getNextJob('plain-1', { block: false });
    expect([first?.data, first?.name]).toEqual(['m1', groupJobName('g')]);
    expect(await plain.getNextJob('plain-2', { block: false })).toBeUndefined();
    const message = { id: first!.id!, queue: s.name, body: 'm1', deliveryCount: 1, groupId: 'g' };
    await s.queue.ack({ ...message, receipt: 'plain-1' });
    expect((await plain.getNextJob('plain-3', { block: false }))?.data).toBe('m2');
  });
});

describe('a crash inside enqueue', () => {
  it('after recording the head, before adding its job: the sweep adds it', async () => {
    const s = subject();
    await s.record('m1');
    await enqueueAll(s.queue, s.name, ['m2', 'm3']);
    expect(await drain(s.queue, s.name, 3)).toEqual(['m1', 'm2', 'm3']);
  });

  it('after adding the parked job, before activating it: not claimable until the sweep activates it', async () => {
    const s = subject();
    const head = await s.record('m1');
    await s.addParked(head);
    await enqueueAll(s.queue, s.name, ['m2']);
    // A plain BullMQ consumer, which runs no sweep, finds nothing to take.
    const plain = track(
      new BullWorker(s.name, null, { connection: client, prefix: s.prefix, autorun: false }),
    );
    expect(await plain.getNextJob('plain', { block: false })).toBeUndefined();
    expect(await drain(s.queue, s.name, 2)).toEqual(['m1', 'm2']);
  });
});

describe('a crash inside a settle', () => {
  it('after BullMQ completed the head, before the group advanced: the sweep advances it', async () => {
    const s = subject();
    await enqueueAll(s.queue, s.name, ['m1', 'm2', 'm3']);
    const head = await claimOne(s.queue, s.name);
    await s.settleInBullmq(head, 'completed');
    expect(await drain(s.queue, s.name, 2)).toEqual(['m2', 'm3']);
  });

  it('after the group advanced, before the next head was added: the sweep adds it', async () => {
    const s = subject();
    await enqueueAll(s.queue, s.name, ['m1', 'm2', 'm3']);
    const head = await claimOne(s.queue, s.name);
    await s.settleInBullmq(head, 'completed');
    expect((await s.advance('g', head.id))?.body).toBe('m2');
    expect(await drain(s.queue, s.name, 2)).toEqual(['m2', 'm3']);
  });

  it('after BullMQ failed the head, mid-dead-letter: the letter is written and the group advances', async () => {
    const s = subject();
    await enqueueAll(s.queue, s.name, ['m1', 'm2']);
    const head = await claimOne(s.queue, s.name);
    await s.settleInBullmq(head, 'failed');
    expect(await drain(s.queue, s.name, 1)).toEqual(['m2']);
    expect((await s.queue.deadLetters(s.name)).map((d) => [d.id, d.body, d.reason])).toEqual([
      [head.id, 'm1', 'malformed'],
    ]);
  });
});

describe('a late add of a head already settled (a promoter that stalled, then woke)', () => {
  it('is deleted by its own activation, never delivered', async () => {
    const s = subject();
    await enqueueAll(s.queue, s.name, ['m1', 'm2']);
    const head = await claimOne(s.queue, s.name);
    await s.queue.ack(head);
    const late: Member = { id: head.id, body: 'm1', group: 'g', priority: 2, dueAt: 0 };
    await s.addParked(late);
    expect(await s.activate(late)).toBe(-2);
    expect(await s.jobExists(head.id)).toBe(false);
    expect(await drain(s.queue, s.name, 1)).toEqual(['m2']);
  });

  it('is deleted by the sweep when its process died before activating it', async () => {
    const s = subject();
    await enqueueAll(s.queue, s.name, ['m1', 'm2']);
    const head = await claimOne(s.queue, s.name);
    await s.queue.ack(head);
    await s.addParked({ id: head.id, body: 'm1', group: 'g', priority: 2, dueAt: 0 });
    expect(await s.jobExists(head.id)).toBe(true);
    await s.queue.deadLetters(s.name); // runs the sweep
    expect(await s.jobExists(head.id)).toBe(false);
    expect(await drain(s.queue, s.name, 1)).toEqual(['m2']);
  });
});

describe('crashes in every window of one group at once', () => {
  it('delivers every member, in order, exactly once', async () => {
    const s = subject();
    // Group c: its head completed in BullMQ, never advanced. Group d: advanced, the next head
    // never added. Group a: a head recorded, never added. Group b: parked, never activated.
    for (const group of ['c', 'd'])
      await enqueueAll(
        s.queue,
        s.name,
        [1, 2, 3].map((i) => `${group}${i}`),
        group,
      );
    const heads = [await claimOne(s.queue, s.name), await claimOne(s.queue, s.name)];
    expect(heads.map((m) => m.body).sort()).toEqual(['c1', 'd1']);
    for (const message of heads) await s.settleInBullmq(message, 'completed');
    await s.advance('d', heads.find((m) => m.groupId === 'd')!.id);
    await s.record('a1', 'a');
    await s.addParked(await s.record('b1', 'b'));
    for (const group of ['a', 'b'])
      await enqueueAll(s.queue, s.name, [`${group}2`, `${group}3`], group);

    const bodies = await drain(s.queue, s.name, 10);
    const ofGroup = (group: string) => bodies.filter((body) => body.startsWith(group));
    expect([ofGroup('a'), ofGroup('b'), ofGroup('c'), ofGroup('d')]).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1', 'b2', 'b3'],
      ['c2', 'c3'],
      ['d2', 'd3'],
    ]);
    expect(bodies.length).toBe(10); // and nothing unexpected after them
  });
});

describe('many groups under four concurrent claimers', () => {
  it('each group in order, never two of one group held at once, nothing lost', async () => {
    const { queue } = open();
    const name = unique('q');
    const groups = 12;
    const perGroup = 8;
    const expected = new Map<string, string[]>();
    for (let m = 0; m < perGroup; m++) {
      for (let g = 0; g < groups; g++) {
        const body = `g${g}-m${m}`;
        expected.set(`g${g}`, [...(expected.get(`g${g}`) ?? []), body]);
        await queue.enqueue(name, body, { groupId: `g${g}` });
      }
      await queue.enqueue(name, `plain-${m}`);
    }
    const total = groups * perGroup + perGroup;
    const held = new Map<string, string>(); // group → body held
    const acked = new Map<string, string[]>();
    const violations: string[] = [];
    let settled = 0;
    const consume = async (consumer: string) => {
      for (let idle = 0; settled < total && idle < 50; ) {
        const batch = await queue.claim([name], { consumer, leaseMs: 60_000, max: 3, waitMs: 200 });
        idle = batch.length === 0 ? idle + 1 : 0;
        for (const message of batch) {
          const group = message.groupId ?? 'plain';
          if (message.groupId !== undefined && held.has(group))
            violations.push(`${message.body} leased while ${held.get(group)} was held`);
          if (message.groupId !== undefined) held.set(group, message.body);
        }
        await Promise.all(
          batch.map(async (message) => {
            const group = message.groupId ?? 'plain';
            // Each group's m3 is released once, and must come back before its m4.
            const release = message.deliveryCount === 1 && message.body.endsWith('m3');
            if (message.groupId !== undefined) held.delete(group);
            if (release) return queue.release(message);
            acked.set(group, [...(acked.get(group) ?? []), message.body]);
            settled++;
            return queue.ack(message);
          }),
        );
      }
    };
    await Promise.all(['c1', 'c2', 'c3', 'c4'].map(consume));
    expect(violations).toEqual([]);
    for (const [group, bodies] of expected) expect(acked.get(group), group).toEqual(bodies);
    expect(acked.get('plain')?.length).toBe(perGroup);
    expect(settled).toBe(total);
  });
});
