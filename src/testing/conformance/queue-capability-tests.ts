import assert from 'node:assert/strict';
import type { ClaimedMessage } from '../../queue/queue';
import { claimEventually, claimNothing, drainInOrder, type QueueSuite } from './queue-harness';

/** Tests of the optional capabilities; an adapter lacking one is tested for refusing its option. */
export function registerQueueCapabilityTests(suite: QueueSuite): void {
  const { timing } = suite;
  const lease = { consumer: 'c1', leaseMs: 60_000 };

  suite.test(
    'priority: high before normal before low, FIFO within a level',
    async (s) => {
      const order = [
        ['low-1', 'low'],
        ['normal-1', 'normal'],
        ['high-1', 'high'],
        ['low-2', 'low'],
        ['normal-2', undefined],
        ['high-2', 'high'],
      ] as const;
      for (const [body, priority] of order) {
        await s.queue.enqueue(s.name, body, priority ? { priority } : {});
      }
      assert.deepEqual(await drainInOrder(s.queue, s.name, order.length, timing), [
        'high-1',
        'high-2',
        'normal-1',
        'normal-2',
        'low-1',
        'low-2',
      ]);
    },
    { needs: 'priority' },
  );

  suite.test(
    'delay: a delayed message is not claimable before its delay, and is after',
    async (s) => {
      await s.queue.enqueue(s.name, 'later', { delayMs: timing.leaseMs + timing.settleMs });
      await s.queue.enqueue(s.name, 'now');
      const [first] = await claimEventually(s.queue, [s.name], lease, timing);
      assert.equal(first!.body, 'now', 'the undelayed message comes first');
      await claimNothing(s.queue, [s.name], timing, 'the delayed message is not due yet');
      const [later] = await claimEventually(s.queue, [s.name], lease, timing);
      assert.equal(later!.body, 'later');
      assert.equal(later!.deliveryCount, 1);
    },
    { needs: 'delay' },
  );

  suite.test(
    'dedupe: a second enqueue while the first is queued or leased is a no-op; after ack it is new',
    async (s) => {
      const first = await s.queue.enqueue(s.name, 'a', { dedupeId: 'order-42' });
      assert.equal(first.deduplicated, false);
      const again = await s.queue.enqueue(s.name, 'b', { dedupeId: 'order-42' });
      assert.deepEqual(again, { id: first.id, deduplicated: true }, 'while ready');

      const [message] = await claimEventually(s.queue, [s.name], { ...lease, max: 10 }, timing);
      assert.equal(message!.body, 'a');
      const whileLeased = await s.queue.enqueue(s.name, 'c', { dedupeId: 'order-42' });
      assert.deepEqual(whileLeased, { id: first.id, deduplicated: true }, 'while leased');
      await claimNothing(s.queue, [s.name], timing, 'a deduplicated enqueue adds no message');

      await s.queue.ack(message!);
      const after = await s.queue.enqueue(s.name, 'd', { dedupeId: 'order-42' });
      assert.equal(after.deduplicated, false, 'after ack the dedupe id is free again');
      assert.notEqual(after.id, first.id);
      const [fresh] = await claimEventually(s.queue, [s.name], lease, timing);
      assert.equal(fresh!.body, 'd');
    },
    { needs: 'dedupe' },
  );

  suite.test(
    'groups: one message of a group leased at a time, in order; other groups unaffected',
    async (s) => {
      await s.queue.enqueue(s.name, 'g1-a', { groupId: 'g1' });
      await s.queue.enqueue(s.name, 'g1-b', { groupId: 'g1' });
      await s.queue.enqueue(s.name, 'g2-a', { groupId: 'g2' });

      const held = new Map<string, ClaimedMessage>();
      while (!(held.has('g1-a') && held.has('g2-a'))) {
        const batch = await claimEventually(s.queue, [s.name], { ...lease, max: 10 }, timing);
        for (const m of batch) {
          assert.notEqual(m.body, 'g1-b', 'g1-b was leased while g1-a was held (or before it)');
          held.set(m.body, m);
        }
      }
      assert.equal(held.get('g1-a')!.groupId, 'g1');
      await claimNothing(s.queue, [s.name], timing, 'g1-b must wait until g1-a is settled');

      await s.queue.ack(held.get('g1-a')!);
      const [next] = await claimEventually(s.queue, [s.name], lease, timing);
      assert.equal(next!.body, 'g1-b');
      assert.equal(next!.groupId, 'g1');
    },
    { needs: 'groups' },
  );
}
