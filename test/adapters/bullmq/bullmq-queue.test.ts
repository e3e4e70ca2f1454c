// What the BullMQ adapter adds beyond the conformance suite: the BullMQ issue #1662 sequence (a
// settled job must not swallow later adds), dead letters surviving a crash mid-way, close with a
// job active or with Redis gone, a connection handed in by the user, and interop with plain
// BullMQ code on the same queue. All against a real redis-server started on a free port.
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { InvalidOptionError, type Queue } from 'loopwork';
import { type BullmqQueueOptions, createBullmqQueue } from 'loopwork/bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';

let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((closable) => closable.close()));
});

let counter = 0;
const unique = (what: string) => `${what}-${process.pid}-${++counter}`;

function open(options: Partial<BullmqQueueOptions> = {}): { queue: Queue; prefix: string } {
  const prefix = options.prefix ?? unique('p');
  const queue = createBullmqQueue({
    connection: client,
    prefix,
    stalledIntervalMs: 50,
    ...options,
  });
  opened.push(queue);
  return { queue, prefix };
}

/** Claims until a message arrives (at most 10 s). */
async function claimOne(queue: Queue, name: string, leaseMs = 60_000) {
  const [message] = await queue.claim([name], { consumer: 'test', leaseMs, waitMs: 10_000 });
  if (!message) throw new Error(`no message on ${name} within 10 s`);
  return message;
}

/** Rejects when `promise` has not settled within `ms` (a liveness bound, not a speed check). */
async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('BullMQ issue #1662: a settled job must not swallow later adds', () => {
  it('plain BullMQ: a kept failed job with a custom jobId silently swallows a later add', async () => {
    // The hazard the adapter is built around, shown on BullMQ itself.
    const prefix = unique('raw');
    const name = unique('q');
    const producer = new BullQueue(name, { connection: client, prefix });
    const worker = new BullWorker(name, null, { connection: client, prefix, autorun: false });
    opened.push(producer, worker);
    await producer.add('job', { n: 1 }, { jobId: 'order-1', removeOnFail: false });
    const job = await worker.getNextJob('token', { block: false });
    await job!.moveToFailed(new Error('boom'), 'token', false);
    const again = await producer.add('job', { n: 2 }, { jobId: 'order-1' });
    expect(again.id).toBe('order-1');
    expect(await producer.getJobCounts('wait', 'prioritized', 'failed')).toEqual({
      wait: 0,
      prioritized: 0,
      failed: 1,
    });
    expect((await producer.getJob('order-1'))?.data).toEqual({ n: 1 });
  });

  it('adapter: a dedupe id is free again after dead-letter and after ack, and no settled job stays', async () => {
    const { queue, prefix } = open();
    const name = unique('q');
    const plain = new BullQueue(name, { connection: client, prefix });
    opened.push(plain);

    const first = await queue.enqueue(name, 'first', { dedupeId: 'order-7' });
    expect(await queue.enqueue(name, 'dup', { dedupeId: 'order-7' })).toEqual({
      id: first.id,
      deduplicated: true,
    });
    await queue.deadLetter(await claimOne(queue, name), 'poison');

    const second = await queue.enqueue(name, 'second', { dedupeId: 'order-7' });
    expect(second.deduplicated, 'after dead-letter the dedupe id is free').toBe(false);
    expect(second.id).not.toBe(first.id);
    const secondMessage = await claimOne(queue, name);
    expect([secondMessage.id, secondMessage.body]).toEqual([second.id, 'second']);
    await queue.ack(secondMessage);

    const third = await queue.enqueue(name, 'third', { dedupeId: 'order-7' });
    expect(third.deduplicated, 'after ack the dedupe id is free').toBe(false);
    expect((await claimOne(queue, name)).body).toBe('third');

    // Nothing settled lingers in BullMQ: no completed or failed job, no job hash.
    expect(await plain.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
    for (const id of [first.id, second.id])
      expect(await client.exists(`${prefix}:${name}:${id}`)).toBe(0);
    expect((await queue.deadLetters(name)).map((d) => [d.id, d.body, d.reason])).toEqual([
      [first.id, 'first', 'poison'],
    ]);
  });

  it('adapter: a dedupe id is free again after dead-lettering by maxDeliveries', async () => {
    const { queue } = open({ maxDeliveries: 2 });
    const name = unique('q');
    const { id } = await queue.enqueue(name, 'flaky', { dedupeId: 'order-8' });
    for (let delivery = 1; delivery <= 2; delivery++) {
      const message = await claimOne(queue, name);
      expect(message.deliveryCount).toBe(delivery);
      await queue.release(message);
    }
    expect(await queue.claim([name], { consumer: 'test', leaseMs: 60_000, waitMs: 200 })).toEqual(
      [],
    );
    expect((await queue.deadLetters(name)).map((d) => [d.id, d.deliveryCount])).toEqual([[id, 2]]);
    const again = await queue.enqueue(name, 'fresh', { dedupeId: 'order-8' });
    expect(again.deduplicated).toBe(false);
    expect((await claimOne(queue, name)).deliveryCount).toBe(1);
  });
});

describe('dead letters', () => {
  it('a job left in the failed set by a crash mid-dead-letter shows up once, with its reason and body', async () => {
    const { queue, prefix } = open();
    const name = unique('q');
    const { id } = await queue.enqueue(name, 'half-dead');
    // Step one of dead-lettering, done by hand: BullMQ's moveToFailed, then the process "dies".
    const worker = new BullWorker(name, null, { connection: client, prefix, autorun: false });
    opened.push(worker);
    const job = await worker.getNextJob('crashed', { block: false });
    await job!.moveToFailed(new Error('malformed message: crashed here'), 'crashed', false);

    const expected = [
      {
        id,
        queue: name,
        body: 'half-dead',
        reason: 'malformed message: crashed here',
        deliveryCount: 1,
      },
    ];
    expect(await queue.deadLetters(name)).toEqual(expected);
    expect(await queue.deadLetters(name), 'read twice, still one dead letter').toEqual(expected);
  });
});

describe('removeDeadLetter', () => {
  it('removes a job left in the failed set by a crash mid-dead-letter, without a listing first', async () => {
    const { queue, prefix } = open();
    const name = unique('q');
    const { id } = await queue.enqueue(name, 'half-dead');
    const worker = new BullWorker(name, null, { connection: client, prefix, autorun: false });
    opened.push(worker);
    const job = await worker.getNextJob('crashed', { block: false });
    await job!.moveToFailed(new Error('crashed here'), 'crashed', false);

    expect(await queue.removeDeadLetter?.(name, id)).toBe(true);
    expect(await queue.removeDeadLetter?.(name, id), 'a second removal').toBe(false);
    expect(await queue.deadLetters(name)).toEqual([]);
    const plain = new BullQueue(name, { connection: client, prefix });
    opened.push(plain);
    expect(await plain.getJobCounts('failed')).toEqual({ failed: 0 });
    expect(await client.exists(`${prefix}:${name}:${id}`), 'the job hash is gone').toBe(0);
  });

  it('finds a letter pages into the dead-letter stream', async () => {
    const { queue, prefix } = open();
    const name = unique('q');
    const batch = client.multi();
    for (let i = 0; i < 450; i++) {
      batch.xadd(`${prefix}:${name}:loopwork:dead`, '*', 'id', `m${i}`, 'data', `"b${i}"`);
    }
    await batch.exec();
    expect(await queue.removeDeadLetter?.(name, 'm449')).toBe(true);
    expect(await queue.removeDeadLetter?.(name, 'm0')).toBe(true);
    expect(await queue.removeDeadLetter?.(name, 'm449')).toBe(false);
    expect(await queue.removeDeadLetter?.(name, 'm450')).toBe(false);
    const left = await queue.deadLetters(name);
    expect(left.map((d) => d.id)).toEqual(Array.from({ length: 448 }, (_, i) => `m${i + 1}`));
    expect(left[0]?.body).toBe('b1');
  });
});

describe('dead letters beside BullMQ housekeeping', () => {
  it("survive BullMQ's removeOrphanedJobs, which deletes unknown keys under the queue", async () => {
    const { queue, prefix } = open();
    const name = unique('q');
    await queue.enqueue(name, 'poison');
    await queue.deadLetter(await claimOne(queue, name), 'bad');
    const plain = new BullQueue(name, { connection: client, prefix });
    opened.push(plain);
    await plain.removeOrphanedJobs();
    expect((await queue.deadLetters(name)).map((d) => [d.body, d.reason])).toEqual([
      ['poison', 'bad'],
    ]);
  });
});

describe('delivery counting', () => {
  it('counts every delivery: a lease lost to the stalled check, a release, a delayed release', async () => {
    const { queue } = open();
    const name = unique('q');
    await queue.enqueue(name, 'work');
    const first = await claimOne(queue, name, 100); // lease runs out; BullMQ's stalled check returns it
    const second = await claimOne(queue, name);
    await queue.release(second);
    const third = await claimOne(queue, name);
    await queue.release(third, { delayMs: 50 });
    const fourth = await claimOne(queue, name);
    expect([first, second, third, fourth].map((m) => m.deliveryCount)).toEqual([1, 2, 3, 4]);
    expect(new Set([first, second, third, fourth].map((m) => m.id)).size).toBe(1);
    await queue.ack(fourth);
  });
});

describe('close', () => {
  it('does not wait for a claimed, unsettled message; its lease runs out and another consumer gets it', async () => {
    const name = unique('q');
    const prefix = unique('p');
    const { queue } = open({ prefix });
    await queue.enqueue(name, 'in flight');
    const held = await claimOne(queue, name, 300);
    // Plain BullMQ's Worker.close() waits for its active jobs; the adapter's close must not.
    await bounded(queue.close(), 10_000, 'close() with a message held');

    const { queue: next } = open({ prefix });
    const again = await claimOne(next, name);
    expect([again.id, again.deliveryCount]).toEqual([held.id, 2]);
    await next.ack(again);
  });

  it('resolves even when Redis is gone (the adapter owns its connection)', async () => {
    const doomed = await startRedisServer();
    const errors: Error[] = [];
    const queue = createBullmqQueue({
      connection: { host: '127.0.0.1', port: doomed.port, maxRetriesPerRequest: null },
      closeTimeoutMs: 1_000,
      onError: (error) => errors.push(error),
    });
    const name = unique('q');
    await queue.enqueue(name, 'x');
    await claimOne(queue, name);
    await doomed.stop();
    await bounded(queue.close(), 10_000, 'close() with Redis gone');
  });

  it('refuses enqueue after close', async () => {
    const { queue } = open();
    await queue.close();
    await expect(queue.enqueue(unique('q'), 'late')).rejects.toSatisfy(
      (error) => InvalidOptionError.isInstance(error) && /closed/.test(error.message),
    );
  });
});

describe('connection handed in by the user', () => {
  it('works on an application client with ioredis defaults and leaves it open after close', async () => {
    // maxRetriesPerRequest 20 (the ioredis default): a plain BullMQ Worker refuses such a client.
    const appClient = new Redis({ host: '127.0.0.1', port: server.port });
    try {
      const queue = createBullmqQueue({ connection: appClient, prefix: unique('app') });
      const name = unique('q');
      const { id } = await queue.enqueue(name, 'hello', { priority: 'high' });
      const message = await claimOne(queue, name);
      expect([message.id, message.body]).toEqual([id, 'hello']);
      await queue.ack(message);
      await queue.close();
      expect(appClient.status).toBe('ready');
      expect(await appClient.ping()).toBe('PONG');
    } finally {
      appClient.disconnect();
    }
  });

  it('closes the client it made from connection options', async () => {
    const name = unique('client');
    const queue = createBullmqQueue({
      connection: { host: '127.0.0.1', port: server.port, connectionName: name },
      prefix: unique('own'),
    });
    await queue.enqueue(unique('q'), 'x');
    const named = async () =>
      ((await client.client('LIST')) as string)
        .split('\n')
        .filter((line) => line.includes(`name=${name}`)).length;
    expect(await named()).toBe(1);
    await queue.close();
    for (let i = 0; i < 100 && (await named()) > 0; i++) await sleep(20);
    expect(await named()).toBe(0);
  });

  it('shares queues with plain BullMQ code: same prefix, mapped names, jobs visible both ways', async () => {
    const prefix = unique('shared');
    const { queue } = open({ prefix, queueName: (name) => `loopwork-${name}` });
    const name = unique('q');
    const plain = new BullQueue(`loopwork-${name}`, { connection: client, prefix });
    opened.push(plain);

    await queue.enqueue(name, 'from loopwork', { priority: 'low' });
    expect(await plain.getJobCounts('prioritized')).toEqual({ prioritized: 1 });
    await plain.add('native', 'from bullmq', { priority: 1, removeOnComplete: true });

    const first = await claimOne(queue, name);
    const second = await claimOne(queue, name);
    expect([first.body, second.body]).toEqual(['from bullmq', 'from loopwork']);
    expect([first.queue, first.deliveryCount]).toEqual([name, 1]);
    await queue.ack(first);
    await queue.ack(second);
    expect(await plain.getJobCounts('prioritized', 'active', 'completed')).toEqual({
      prioritized: 0,
      active: 0,
      completed: 0,
    });
  });
});

describe('queue names', () => {
  it("maps loopwork's default task queues (loopwork:tasks:<type>) onto BullMQ names without ':'", async () => {
    const { queue, prefix } = open();
    const name = `loopwork:tasks:${unique('type')}`;
    const plain = new BullQueue(name.replaceAll(':', '.'), { connection: client, prefix });
    opened.push(plain);
    await queue.enqueue(name, 'task');
    expect(await plain.getJobCounts('prioritized')).toEqual({ prioritized: 1 });
    const message = await claimOne(queue, name);
    expect([message.queue, message.body]).toEqual([name, 'task']);
  });

  it('refuses two loopwork queues that map to one BullMQ queue', async () => {
    const { queue } = open();
    await queue.enqueue('orders:eu', 'a');
    await expect(queue.enqueue('orders.eu', 'b')).rejects.toSatisfy(
      (error) => InvalidOptionError.isInstance(error) && /orders\.eu/.test(error.message),
    );
  });
});

describe('options', () => {
  it('names the option that cannot work', async () => {
    expect(() => createBullmqQueue({ connection: { keyPrefix: 'app:' } })).toThrow(/prefix option/);
    expect(() => createBullmqQueue({ connection: client, maxDeliveries: 0 })).toThrow(
      /maxDeliveries/,
    );
    const { queue } = open({ queueName: () => 'has:colon' });
    await expect(queue.enqueue('q', 'x')).rejects.toSatisfy(
      (error) => InvalidOptionError.isInstance(error) && /has:colon/.test(error.message),
    );
    const { queue: plain } = open();
    await expect(plain.enqueue('q', 'x', { priority: 'urgent' as never })).rejects.toSatisfy(
      (error) => InvalidOptionError.isInstance(error) && /priority/.test(error.message),
    );
  });
});

describe('claims over several queues', () => {
  it('do not let a busy first queue starve the next', async () => {
    const { queue } = open();
    for (let i = 0; i < 6; i++) await queue.enqueue('busy', `busy-${i}`);
    await queue.enqueue('quiet', 'quiet-0');
    const seen: string[] = [];
    for (let i = 0; i < 2; i++) {
      const messages = await queue.claim(['busy', 'quiet'], {
        consumer: 'c1',
        leaseMs: 30_000,
        max: 2,
      });
      seen.push(...messages.map((m) => m.body));
    }
    expect(seen).toContain('quiet-0');
  });
});
