import assert from 'node:assert/strict';
import { LeaseLostError } from '../../errors';
import type { ClaimedMessage, DeadLetter, Queue } from '../../queue/queue';
import { pollUntil, rejectsWith, sleep } from './harness';
import { claimEventually, claimNothing, type QueueSuite } from './queue-harness';

/** Tests of leases, settling, dead letters and concurrent consumers. */
export function registerQueueLeaseTests(suite: QueueSuite): void {
  const { timing } = suite;
  const short = { consumer: 'c1', leaseMs: timing.leaseMs };
  const long = { consumer: 'c2', leaseMs: 60_000 };

  /** Claims a message with a short lease and lets it run out; returns both deliveries. */
  async function redeliver(queue: Queue, name: string) {
    await queue.enqueue(name, 'work');
    const [first] = await claimEventually(queue, [name], short, timing);
    const [second] = await claimEventually(queue, [name], long, timing);
    return { first: first!, second: second! };
  }

  suite.test('lease expiry: redelivered with deliveryCount 2 and a new receipt', async (s) => {
    const { first, second } = await redeliver(s.queue, s.name);
    assert.equal(second.id, first.id);
    assert.equal(second.body, 'work');
    assert.equal(second.deliveryCount, 2);
    assert.notEqual(second.receipt, first.receipt);
    await s.queue.ack(second);
  });

  const stale: Array<[string, (queue: Queue, message: ClaimedMessage) => Promise<void>]> = [
    ['ack', (queue, message) => queue.ack(message)],
    ['extend', (queue, message) => queue.extend(message, 60_000)],
    ['release', (queue, message) => queue.release(message)],
    ['deadLetter', (queue, message) => queue.deadLetter(message, 'stale')],
  ];
  for (const [operation, run] of stale) {
    suite.test(
      `${operation} with a stale receipt after redelivery rejects with LeaseLostError`,
      async (s) => {
        const { first, second } = await redeliver(s.queue, s.name);
        await rejectsWith(run(s.queue, first), LeaseLostError.isInstance, `${operation} (stale)`);
        assert.deepEqual(await s.queue.deadLetters(s.name), [], 'nothing was dead-lettered');
        await s.queue.ack(second);
      },
    );
  }

  suite.test('extend keeps a lease alive past its original expiry', async (s) => {
    await s.queue.enqueue(s.name, 'long job');
    const [message] = await claimEventually(s.queue, [s.name], short, timing);
    await sleep(timing.leaseMs / 2);
    await s.queue.extend(message!, timing.leaseMs + 2 * timing.settleMs);
    // Watch until well past the original expiry: the message must stay with its holder.
    await sleep(timing.leaseMs / 2);
    await claimNothing(s.queue, [s.name], timing, 'an extended lease must not be redelivered');
    await s.queue.ack(message!);
  });

  suite.test(
    'extendMany (optional): renews each held lease, of any queue; false, in its place, for a lost one',
    async (s) => {
      const { queue } = s;
      const extendMany = queue.extendMany?.bind(queue);
      assert.ok(queue.extendMany === undefined || typeof extendMany === 'function', 'extendMany');
      if (!extendMany) return; // an adapter without extendMany() has nothing more to prove here
      assert.deepEqual(await extendMany([], 60_000), [], 'nothing to renew: an empty answer');
      const { first: lost, second: taken } = await redeliver(queue, s.name);
      await queue.enqueue(s.name, 'held');
      await queue.enqueue(s.name2, 'held elsewhere');
      const [held] = await claimEventually(queue, [s.name], short, timing);
      const [elsewhere] = await claimEventually(queue, [s.name2], short, timing);
      await sleep(timing.leaseMs / 2);
      const answers = await extendMany(
        [held!, lost, elsewhere!],
        timing.leaseMs + 2 * timing.settleMs,
      );
      assert.deepEqual(answers, [true, false, true], 'one answer per message, in order');
      // Watch until well past the original expiry: both renewed messages stay with their holder.
      await sleep(timing.leaseMs / 2);
      await claimNothing(
        queue,
        [s.name, s.name2],
        timing,
        'renewed leases must not be redelivered',
      );
      // The lost lease was not taken back from its new holder: its receipt still settles it.
      await queue.ack(taken);
      await queue.ack(held!);
      await queue.ack(elsewhere!);
    },
  );

  suite.test('release: claimable again at once with deliveryCount 2', async (s) => {
    await s.queue.enqueue(s.name, 'retry me');
    const [first] = await claimEventually(s.queue, [s.name], long, timing);
    await s.queue.release(first!);
    const [second] = await claimEventually(s.queue, [s.name], long, timing);
    assert.deepEqual([second!.id, second!.deliveryCount], [first!.id, 2]);
  });

  suite.test(
    'release with delay: not claimable during the delay, then deliveryCount 2',
    async (s) => {
      await s.queue.enqueue(s.name, 'retry later');
      const [first] = await claimEventually(s.queue, [s.name], long, timing);
      await s.queue.release(first!, { delayMs: timing.leaseMs + timing.settleMs });
      await claimNothing(
        s.queue,
        [s.name],
        timing,
        'a message released with a delay is not due yet',
      );
      const [second] = await claimEventually(s.queue, [s.name], long, timing);
      assert.deepEqual([second!.id, second!.deliveryCount], [first!.id, 2]);
    },
  );

  suite.test(
    'deadLetter: kept with its reason and body, oldest first, not delivered again',
    async (s) => {
      const a = await s.queue.enqueue(s.name, 'poison-a');
      const b = await s.queue.enqueue(s.name, 'poison-b');
      for (const expected of ['poison-a', 'poison-b']) {
        const [message] = await claimEventually(s.queue, [s.name], long, timing);
        assert.equal(message!.body, expected);
        await s.queue.deadLetter(message!, `bad payload: ${expected}`);
      }
      const dead = await s.queue.deadLetters(s.name);
      assert.deepEqual(
        dead.map((d) => ({
          id: d.id,
          queue: d.queue,
          body: d.body,
          reason: d.reason,
          n: d.deliveryCount,
        })),
        [
          { id: a.id, queue: s.name, body: 'poison-a', reason: 'bad payload: poison-a', n: 1 },
          { id: b.id, queue: s.name, body: 'poison-b', reason: 'bad payload: poison-b', n: 1 },
        ],
      );
      assert.deepEqual(
        (await s.queue.deadLetters(s.name, { limit: 1 })).map((d) => d.id),
        [a.id],
      );
      await claimNothing(
        s.queue,
        [s.name],
        timing,
        'a dead-lettered message is out of circulation',
      );
    },
  );

  const n = suite.maxDeliveries;
  suite.test(
    `dead-letters a message instead of delivering it a ${n + 1}th time (maxDeliveries ${n})`,
    async (s) => {
      const { id } = await s.queue.enqueue(s.name, 'keeps failing');
      for (let delivery = 1; delivery <= n; delivery++) {
        const [message] = await claimEventually(s.queue, [s.name], long, timing);
        assert.equal(message!.deliveryCount, delivery);
        await s.queue.release(message!);
      }
      await claimNothing(s.queue, [s.name], timing, `maxDeliveries is ${n}`);
      const dead = await s.queue.deadLetters(s.name);
      assert.equal(dead.length, 1, 'the message is dead-lettered');
      assert.deepEqual(
        [dead[0]!.id, dead[0]!.body, dead[0]!.deliveryCount],
        [id, 'keeps failing', n],
      );
      assert.ok(dead[0]!.reason.length > 0, 'a dead letter says why');
    },
    { factory: { maxDeliveries: n } },
  );

  suite.test(
    'claim maxDeliveries: dead-letters on the 3rd delivery of 2, telling onDeadLetter first',
    async (s) => {
      const { id } = await s.queue.enqueue(s.name, 'keeps failing');
      const told: Array<{ letter: DeadLetter; alreadyDead: number }> = [];
      const claim = {
        ...long,
        maxDeliveries: 2,
        onDeadLetter: async (letter: DeadLetter) => {
          // Told before the letter is written, so the caller can record the outcome first.
          told.push({ letter, alreadyDead: (await s.queue.deadLetters(s.name)).length });
        },
      };
      for (let delivery = 1; delivery <= 2; delivery++) {
        const [message] = await claimEventually(s.queue, [s.name], claim, timing);
        assert.equal(message!.deliveryCount, delivery);
        await s.queue.release(message!);
      }
      await claimNothing(s.queue, [s.name], timing, 'the claim allows 2 deliveries', claim);
      const dead = await pollUntil(
        async () => {
          const letters = await s.queue.deadLetters(s.name);
          return letters.length > 0 ? letters : undefined;
        },
        timing.patienceMs,
        'the message was never dead-lettered',
      );
      assert.deepEqual(
        dead.map((d) => [d.id, d.body, d.deliveryCount]),
        [[id, 'keeps failing', 2]],
      );
      assert.equal(told.length, 1, 'onDeadLetter is called once');
      assert.equal(told[0]!.alreadyDead, 0, 'onDeadLetter runs before the letter is written');
      const { letter } = told[0]!;
      assert.deepEqual(
        [letter.id, letter.queue, letter.body, letter.deliveryCount, letter.reason],
        [id, s.name, 'keeps failing', 2, dead[0]!.reason],
      );
      assert.ok(letter.reason.length > 0, 'a dead letter says why');
    },
  );

  suite.test(
    'onDeadLetter rejecting leaves the message in circulation; dead-lettered once it succeeds',
    async (s) => {
      const { id } = await s.queue.enqueue(s.name, 'poison');
      let refuse = true;
      let calls = 0;
      const claim = {
        consumer: 'c1',
        leaseMs: timing.leaseMs,
        maxDeliveries: 1,
        onDeadLetter: async () => {
          calls++;
          if (refuse) throw new Error('run store unavailable');
        },
      };
      const [first] = await claimEventually(s.queue, [s.name], claim, timing);
      await s.queue.release(first!);
      await pollUntil(
        async () => {
          const got = await s.queue.claim([s.name], { ...claim, waitMs: timing.settleMs });
          assert.deepEqual(got, [], 'a message over its deliveries is never returned');
          return calls > 0 ? true : undefined;
        },
        timing.patienceMs * 2,
        'onDeadLetter was never called for a message over its deliveries',
      );
      assert.deepEqual(await s.queue.deadLetters(s.name), [], 'a refused hook writes no letter');
      refuse = false;
      const dead = await pollUntil(
        async () => {
          await s.queue.claim([s.name], { ...claim, waitMs: timing.settleMs });
          const letters = await s.queue.deadLetters(s.name);
          return letters.length > 0 ? letters : undefined;
        },
        timing.patienceMs * 2,
        'the message was not dead-lettered after the hook recovered',
      );
      // Receives whose hook refused may count as deliveries (SQS counts every receive).
      assert.deepEqual(
        dead.map((d) => d.id),
        [id],
      );
      assert.ok(calls >= 2, 'the hook was asked again after it failed');
    },
  );

  suite.test(
    'two concurrent claimers never hold one message at once; each is delivered once',
    async (s) => {
      const total = 40;
      for (let i = 0; i < total; i++) await s.queue.enqueue(s.name, `m${i}`);
      const held = new Set<string>();
      const deliveries = new Map<string, number>();
      const deadline = Date.now() + timing.patienceMs * 3;
      const consume = async (consumer: string) => {
        while (deliveries.size < total && Date.now() < deadline) {
          const batch = await s.queue.claim([s.name], {
            consumer,
            leaseMs: 60_000,
            max: 3,
            waitMs: timing.settleMs,
          });
          for (const m of batch) {
            assert.ok(!held.has(m.id), `${m.body} was held by two consumers at once`);
            held.add(m.id);
            deliveries.set(m.body, (deliveries.get(m.body) ?? 0) + 1);
          }
          await sleep(1);
          await Promise.all(batch.map((m) => s.queue.ack(m).then(() => held.delete(m.id))));
        }
      };
      await Promise.all([consume('a'), consume('a'), consume('b'), consume('b')]);
      const expected = Array.from({ length: total }, (_, i) => [`m${i}`, 1]);
      assert.deepEqual([...deliveries].sort(), expected.sort());
    },
  );
}
