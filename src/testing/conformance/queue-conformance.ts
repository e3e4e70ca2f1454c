import assert from 'node:assert/strict';
import { InvalidOptionError } from '../../errors';
import type { DeadLetter, Queue, QueueCapabilities } from '../../queue/queue';
import {
  type ConformanceRunner,
  type ConformanceTiming,
  resolveTiming,
  sleep,
  withinBound,
} from './harness';
import { registerQueueCapabilityTests } from './queue-capability-tests';
import {
  claimEventually,
  claimNothing,
  type QueueFactoryOptions,
  type QueueSuite,
  queueSuite,
} from './queue-harness';
import { registerQueueLeaseTests } from './queue-lease-tests';

/** Options of {@link queueConformance}. */
export interface QueueConformanceOptions extends ConformanceRunner {
  /**
   * Builds a fresh queue for one test. Each test uses its own random queue names, so the queues
   * may share a server with other data. Honour `maxDeliveries` when it is given.
   */
  createQueue: (options: QueueFactoryOptions) => Promise<Queue>;
  /** Runs after each test, before the suite calls `queue.close()` (the queue may already be closed). */
  cleanup?: (queue: Queue) => Promise<void>;
  /**
   * Overrides the capabilities the queue declares, to switch off what the system truly lacks.
   * A capability that ends up false is tested for a clear refusal of its option instead.
   * @defaultValue queue.capabilities
   */
  capabilities?: Partial<QueueCapabilities>;
  /** Lease and slack windows; widen them for slow servers. */
  timing?: ConformanceTiming;
  /** The N of the dead-letter-after-N-deliveries test. @defaultValue 3 */
  maxDeliveries?: number;
}

/**
 * Registers the conformance tests of the {@link Queue} contract with your test runner.
 * Every test builds its own queue through `createQueue`, so they can run against a real server.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { createMemoryQueue } from 'loopwork';
 * import { queueConformance } from 'loopwork/testing';
 *
 * queueConformance({ describe, it, createQueue: async (options) => createMemoryQueue(options) });
 * ```
 */
export function queueConformance(options: QueueConformanceOptions): void {
  const suite = queueSuite({
    it: options.it,
    createQueue: options.createQueue,
    cleanup: options.cleanup,
    capabilities: options.capabilities,
    timing: resolveTiming(options.timing),
    maxDeliveries: options.maxDeliveries ?? 3,
  });
  options.describe('queue conformance (loopwork.queue.v2)', () => {
    registerQueueBasicTests(suite);
    registerQueueCapabilityTests(suite);
    registerQueueLeaseTests(suite);
  });
}

function registerQueueBasicTests(suite: QueueSuite): void {
  const { timing } = suite;
  const lease = { consumer: 'c1', leaseMs: 60_000 };

  suite.test('declares its contract version, adapter name and capabilities', async ({ queue }) => {
    assert.equal(queue.specificationVersion, 'loopwork.queue.v2');
    assert.equal(typeof queue.adapter, 'string');
    assert.ok(queue.adapter.length > 0, 'adapter must name the adapter');
    for (const key of ['priority', 'delay', 'dedupe', 'groups'] as const) {
      assert.equal(typeof queue.capabilities[key], 'boolean', `capabilities.${key}`);
    }
  });

  suite.test('enqueue, claim and ack: the body comes back exactly, deliveryCount 1', async (s) => {
    const body = JSON.stringify({ text: 'héllo ✓ "quoted"\n\ttabbed', n: 1, emoji: '🚀' });
    const { id, deduplicated } = await s.queue.enqueue(s.name, body);
    assert.equal(typeof id, 'string');
    assert.equal(deduplicated, false);
    const [message] = await claimEventually(s.queue, [s.name], lease, timing);
    assert.equal(message!.id, id);
    assert.equal(message!.queue, s.name);
    assert.equal(message!.body, body);
    assert.equal(message!.deliveryCount, 1);
    assert.ok(typeof message!.receipt === 'string' && message!.receipt.length > 0, 'receipt');
    await s.queue.ack(message!);
  });

  suite.test(
    'ack removes: an acked message is not delivered again, even after its lease',
    async (s) => {
      await s.queue.enqueue(s.name, 'once');
      const [message] = await claimEventually(
        s.queue,
        [s.name],
        { consumer: 'c1', leaseMs: timing.leaseMs },
        timing,
      );
      await s.queue.ack(message!);
      await sleep(timing.leaseMs + timing.settleMs);
      await claimNothing(s.queue, [s.name], timing, 'an acked message must never come back');
    },
  );

  suite.test('claim returns at most max messages (1 by default)', async (s) => {
    for (let i = 0; i < 5; i++) await s.queue.enqueue(s.name, `m${i}`);
    const first = await claimEventually(s.queue, [s.name], lease, timing);
    assert.equal(first.length, 1, 'claim without max returns one message');
    const seen = new Set(first.map((m) => m.body));
    while (seen.size < 5) {
      const batch = await claimEventually(s.queue, [s.name], { ...lease, max: 3 }, timing);
      assert.ok(batch.length <= 3, `claim with max 3 returned ${batch.length} messages`);
      for (const m of batch) {
        assert.ok(!seen.has(m.body), `${m.body} was delivered twice`);
        seen.add(m.body);
      }
    }
  });

  suite.test(
    'claim takes from several queues at once, each message naming its queue',
    async (s) => {
      await s.queue.enqueue(s.name, 'from-1');
      await s.queue.enqueue(s.name2, 'from-2');
      const got = new Map<string, string>();
      while (got.size < 2) {
        const batch = await claimEventually(
          s.queue,
          [s.name, s.name2],
          { ...lease, max: 2 },
          timing,
        );
        for (const m of batch) got.set(m.body, m.queue);
      }
      assert.deepEqual(Object.fromEntries(got), { 'from-1': s.name, 'from-2': s.name2 });
    },
  );

  suite.test(
    'a claim over several queues does not starve one while another stays full',
    async (s) => {
      let fed = 0;
      const feed = async (count: number) => {
        for (let i = 0; i < count; i++) await s.queue.enqueue(s.name, `busy-${fed++}`);
      };
      await feed(6);
      await s.queue.enqueue(s.name2, 'quiet');
      const seen: string[] = [];
      // The busy queue is topped up before every claim, so it is never empty; a fair adapter
      // still reaches the quiet one (by rotation, or by age: it is older than every top-up).
      for (let round = 0; round < 6 && !seen.includes('quiet'); round++) {
        await feed(2);
        const batch = await claimEventually(
          s.queue,
          [s.name, s.name2],
          { ...lease, max: 2 },
          timing,
        );
        seen.push(...batch.map((m) => m.body));
        await Promise.all(batch.map((m) => s.queue.ack(m)));
      }
      assert.ok(
        seen.includes('quiet'),
        `the second queue was starved: 6 claims returned only ${seen.join(', ')}`,
      );
    },
  );

  suite.test('claim with waitMs returns a message enqueued while it waits', async (s) => {
    const waiting = s.queue.claim([s.name], { ...lease, waitMs: timing.patienceMs });
    await sleep(timing.settleMs / 2);
    const { id } = await s.queue.enqueue(s.name, 'arrived');
    const messages = await waiting;
    assert.deepEqual(
      messages.map((m) => [m.id, m.body]),
      [[id, 'arrived']],
    );
  });

  suite.test('claim with waitMs on an empty queue resolves empty', async (s) => {
    assert.deepEqual(await s.queue.claim([s.name], { ...lease, waitMs: timing.settleMs }), []);
  });

  suite.test(
    'stats (optional): counts ready, delayed, leased and dead-lettered messages of one queue',
    async (s) => {
      const { queue } = s;
      assert.ok(queue.stats === undefined || typeof queue.stats === 'function', 'stats');
      if (!queue.stats) return; // an adapter without stats() has nothing more to prove here
      for (const body of ['a', 'b', 'c']) await queue.enqueue(s.name, body);
      await queue.enqueue(s.name2, 'other');
      if (queue.capabilities.delay) await queue.enqueue(s.name, 'later', { delayMs: 600_000 });
      const [dead] = await claimEventually(queue, [s.name], lease, timing);
      await queue.deadLetter(dead!, 'counted');
      await claimEventually(queue, [s.name], lease, timing);
      assert.deepEqual(await queue.stats(s.name), {
        ready: 1,
        delayed: queue.capabilities.delay ? 1 : 0,
        leased: 1,
        deadLettered: 1,
      });
      assert.deepEqual(await queue.stats(s.name2), {
        ready: 1,
        delayed: 0,
        leased: 0,
        deadLettered: 0,
      });
    },
  );

  suite.test(
    'removeDeadLetter (optional): takes one letter out for good; again, or an unknown id, is false',
    async (s) => {
      const { queue } = s;
      const remove = queue.removeDeadLetter?.bind(queue);
      assert.ok(
        queue.removeDeadLetter === undefined || typeof remove === 'function',
        'removeDeadLetter',
      );
      if (!remove) return; // an adapter without removeDeadLetter() has nothing more to prove here
      for (const body of ['dead-a', 'dead-b']) await queue.enqueue(s.name, body);
      for (let i = 0; i < 2; i++) {
        const [message] = await claimEventually(queue, [s.name], lease, timing);
        await queue.deadLetter(message!, 'to be removed');
      }
      const letters = await queue.deadLetters(s.name);
      assert.equal(letters.length, 2, 'both messages are dead-lettered');
      const [gone, kept] = letters as [DeadLetter, DeadLetter];
      const counted = queue.stats ? (await queue.stats(s.name)).deadLettered : undefined;
      assert.equal(await remove(s.name, gone.id), true, 'removing a listed letter resolves true');
      assert.deepEqual(
        (await queue.deadLetters(s.name)).map((d) => [d.id, d.body]),
        [[kept.id, kept.body]],
        'only the other letter is left',
      );
      assert.equal(await remove(s.name, gone.id), false, 'removing it again resolves false');
      assert.equal(await remove(s.name, 'no-such-letter'), false, 'an unknown id resolves false');
      assert.equal(
        await remove(s.name2, kept.id),
        false,
        'a letter is removed only from its own queue',
      );
      assert.deepEqual(
        (await queue.deadLetters(s.name)).map((d) => d.id),
        [kept.id],
      );
      if (queue.stats && counted !== undefined) {
        assert.equal((await queue.stats(s.name)).deadLettered, counted - 1, 'stats count it gone');
      }
      const bad: Array<[unknown, unknown, string]> = [
        ['', kept.id, 'queue'],
        [undefined, kept.id, 'queue'],
        [s.name, '', 'id'],
        [s.name, 42, 'id'],
      ];
      for (const [name, id, argument] of bad) {
        await assert.rejects(
          remove(name as string, id as string),
          (error: unknown) =>
            InvalidOptionError.isInstance(error) &&
            new RegExp(`\\b${argument}\\b`).test(error.message),
          `removeDeadLetter(${JSON.stringify(name)}, ${JSON.stringify(id)}) must reject with an InvalidOptionError naming ${argument}`,
        );
      }
      assert.equal((await queue.deadLetters(s.name)).length, 1, 'a refused call removes nothing');
    },
  );

  suite.test('close resolves a waiting claim with no messages, and is idempotent', async (s) => {
    const waiting = s.queue.claim([s.name], { ...lease, waitMs: timing.patienceMs * 10 });
    await sleep(timing.settleMs / 2);
    await s.queue.close();
    const messages = await withinBound(
      waiting,
      timing.patienceMs,
      `a claim waiting when close() was called was still waiting ${timing.patienceMs} ms later`,
    );
    assert.deepEqual(messages, []);
    await s.queue.close();
  });
}
