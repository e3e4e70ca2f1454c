import assert from 'node:assert/strict';
import { z } from 'zod';
import { ConflictError } from '../../errors';
import { createDispatcher } from '../../queue/dispatcher';
import type { ClaimedMessage, Queue, QueueRunSteps } from '../../queue/queue';
import { defineTask } from '../../queue/task';
import { finishedEvent } from '../../queue/task-events';
import { handleTask } from '../../queue/task-handler';
import { createWorker } from '../../queue/worker';
import type { EventLog } from '../../store/event-log';
import type { HeartbeatStore } from '../../store/heartbeat-store';
import type { RunRecord, RunStore, RunTransition } from '../../store/run-store';
import {
  type ConformanceRunner,
  type ConformanceTiming,
  pollUntil,
  resolveTiming,
  sleep,
  uniqueName,
} from './harness';

/** What {@link jointStepsConformance} tests: a queue and the stores its joint steps write. */
export interface JointStepsSubject {
  queue: Queue;
  runs: RunStore;
  /** Given, the steps are expected to write its heartbeats (`beats`). */
  heartbeats?: HeartbeatStore;
  /** Given, the steps are expected to append to it (`appendsEvents`). */
  events?: EventLog;
}

/** Options of {@link jointStepsConformance}. */
export interface JointStepsConformanceOptions extends ConformanceRunner {
  /** Builds a queue and the stores it offers joint steps with, for one test. */
  create: () => Promise<JointStepsSubject>;
  /** Lease and slack windows; widen them for slow servers. */
  timing?: ConformanceTiming;
}

/**
 * Registers the tests of a queue's joint steps (`Queue.jointWith`): each does what the two calls
 * it replaces do, and nothing when its first half does not apply. The final write acks only when
 * it applied, and a lost lease does not undo it; a dispatch's record and message are both written
 * or neither; a claim starts only a fresh run of a message the joint dispatch sent, on its first
 * delivery; the heartbeat and event it writes are the ones the stores would write; and a worker
 * and dispatcher on the queue make none of the separate calls.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { jointStepsConformance } from 'loopwork/testing';
 *
 * jointStepsConformance({ describe, it, create: async () => ({ queue, runs, heartbeats, events }) });
 * ```
 */
export function jointStepsConformance(options: JointStepsConformanceOptions): void {
  const timing = resolveTiming(options.timing);
  const test = (
    name: string,
    body: (
      subject: JointStepsSubject & { steps: QueueRunSteps; queueName: string },
    ) => Promise<void>,
  ) =>
    options.it(name, async () => {
      const subject = await options.create();
      const steps = subject.queue.jointWith?.(subject.runs, {
        heartbeats: subject.heartbeats,
        events: subject.events,
      });
      try {
        assert.ok(steps, 'queue.jointWith(runs) must offer the joint steps for these stores');
        await body({ ...subject, steps, queueName: uniqueName('joint') });
      } finally {
        await subject.queue.close();
      }
    });

  const queuedRun = (): RunRecord => {
    const now = Date.now();
    return {
      runId: uniqueName('run'),
      taskType: 'joint',
      status: 'queued',
      payload: { n: 1 },
      attempt: 0,
      maxAttempts: 3,
      version: 1,
      queuedAt: now,
      updatedAt: now,
    };
  };

  /** A run dispatched jointly, claimed and started: as a worker has it before it ends. */
  async function started(
    { queue, runs, steps }: { queue: Queue; runs: RunStore; steps: QueueRunSteps },
    queueName: string,
    leaseMs = 30_000,
  ) {
    const record = queuedRun();
    await steps.createAndEnqueue(record, queueName, `body of ${record.runId}`);
    const [message] = await queue.claim([queueName], { consumer: 'c1', leaseMs, waitMs: 1_000 });
    assert.ok(message, 'the jointly enqueued message is claimable');
    const running = await runs.transition(record.runId, {
      from: ['queued'],
      to: 'running',
      version: 1,
      set: { attempt: 1, messageId: message.id, startedAt: Date.now() },
    });
    assert.ok(running, 'the run starts');
    return { runId: record.runId, message, running };
  }

  const completion = (record: RunRecord): RunTransition => ({
    from: ['running'],
    to: 'completed',
    version: record.version,
    attempt: record.attempt,
    set: { output: { answer: [1, 2] }, finishedAt: Date.now() },
    unset: ['error'],
  });

  const claimNothing = async (queue: Queue, queueName: string) =>
    queue.claim([queueName], { consumer: 'c9', leaseMs: 30_000, waitMs: timing.settleMs });

  options.describe('joint steps (jointWith)', () => {
    test('transitionAndAck: the final write and the ack, the record as runs.transition answers it', async (s) => {
      const { runId, message, running } = await started(s, s.queueName, timing.leaseMs);
      const written = await s.steps.transitionAndAck(running, completion(running), message);
      assert.deepEqual(written, await s.runs.get(runId));
      assert.equal(written?.status, 'completed');
      assert.deepEqual(written?.output, { answer: [1, 2] });
      // Acked: not delivered again, even after its lease would have run out.
      await sleep(timing.leaseMs + timing.settleMs);
      assert.deepEqual(await claimNothing(s.queue, s.queueName), []);
    });

    test('transitionAndAck: a caller record behind the store, or a write on no version, answers the record as stored', async (s) => {
      const { runId, message, running } = await started(s, s.queueName);
      // Written since the caller read `running`: a record built from the caller's copy would
      // miss this field.
      const moved = await s.runs.transition(runId, {
        from: ['running'],
        to: 'running',
        version: running.version,
        set: { workerId: 'another-worker' },
      });
      assert.ok(moved, 'the run is written again');
      const written = await s.steps.transitionAndAck(running, completion(moved), message);
      assert.deepEqual(written, await s.runs.get(runId));
      assert.equal(written?.workerId, 'another-worker');

      const second = await started(s, s.queueName);
      await s.runs.transition(second.runId, {
        from: ['running'],
        to: 'running',
        version: second.running.version,
        set: { workerId: 'another-worker' },
      });
      const anyVersion = { ...completion(second.running), version: undefined };
      const final = await s.steps.transitionAndAck(second.running, anyVersion, second.message);
      assert.deepEqual(final, await s.runs.get(second.runId));
      assert.equal(final?.workerId, 'another-worker');
    });

    test('transitionAndAck: a write that does not apply does nothing else', async (s) => {
      const { runId, message, running } = await started(s, s.queueName);
      const stale = { ...completion(running), version: running.version - 1 };
      const event = { type: 'task-finished', runId, status: 'completed', attempt: 1 };
      assert.equal(await s.steps.transitionAndAck(running, stale, message, event), undefined);
      assert.deepEqual(await s.runs.get(runId), running);
      if (s.events) assert.deepEqual(await s.events.read(runId), []);
      await assert.doesNotReject(s.queue.ack(message), 'the message is still held by its receipt');
    });

    test('transitionAndAck: a lost lease does not undo the write; the new holder keeps the message', async (s) => {
      const { message, running } = await started(s, s.queueName, timing.leaseMs);
      const again = await pollUntil(
        async () => (await s.queue.claim([s.queueName], { consumer: 'c2', leaseMs: 30_000 }))[0],
        timing.patienceMs,
        'the message is delivered again after its lease',
      );
      assert.equal(again.id, message.id);
      const written = await s.steps.transitionAndAck(running, completion(running), message);
      assert.equal(written?.status, 'completed');
      await assert.doesNotReject(s.queue.ack(again), "the new holder's receipt is still good");
    });

    test('createAndEnqueue: record and message; a run that exists gets neither again', async (s) => {
      const record = queuedRun();
      const result = await s.steps.createAndEnqueue(record, s.queueName, 'first');
      assert.equal(result.deduplicated, false);
      assert.deepEqual(await s.runs.get(record.runId), record);
      await assert.rejects(
        s.steps.createAndEnqueue({ ...record, payload: { n: 2 } }, s.queueName, 'second'),
        (error) => ConflictError.isInstance(error),
      );
      assert.deepEqual(await s.runs.get(record.runId), record);
      const claimed = await s.queue.claim([s.queueName], {
        consumer: 'c1',
        leaseMs: 30_000,
        max: 10,
        waitMs: 1_000,
      });
      assert.deepEqual(
        claimed.map((m: ClaimedMessage) => m.body),
        ['first'],
      );
    });

    test('claimAndStart: starts a jointly dispatched run on its first delivery, and nothing else', async (s) => {
      const claimAndStart = s.steps.claimAndStart;
      if (!claimAndStart) {
        // Without it, no step may start a run: a jointly sent message is claimed with its run
        // queued, and nothing claims to write heartbeats.
        assert.ok(!s.steps.beats, 'beats is only for claimAndStart');
        const record = queuedRun();
        await s.steps.createAndEnqueue(record, s.queueName, 'plain claim');
        const [message] = await s.queue.claim([s.queueName], {
          consumer: 'c1',
          leaseMs: 30_000,
          waitMs: 1_000,
        });
        assert.equal(message?.body, 'plain claim');
        assert.deepEqual(await s.runs.get(record.runId), record);
        return;
      }
      const claim = (leaseMs = 30_000) =>
        claimAndStart([s.queueName], {
          consumer: 'c1',
          workerId: 'w1',
          leaseMs,
          max: 10,
          waitMs: 1_000,
          ...(s.steps.beats && s.heartbeats ? { heartbeatTtlMs: 60_000 } : {}),
        });
      const fresh = queuedRun();
      await s.steps.createAndEnqueue(fresh, s.queueName, 'fresh');
      const [first, ...rest] = await claim(timing.leaseMs);
      assert.deepEqual(rest, []);
      assert.deepEqual(first?.started, await s.runs.get(fresh.runId));
      assert.equal(first?.started?.status, 'running');
      assert.equal(first?.started?.attempt, 1);
      assert.equal(first?.started?.workerId, 'w1');
      assert.equal(first?.started?.messageId, first?.message.id);
      if (s.steps.beats && s.heartbeats) {
        const beat = await s.heartbeats.get(`run:${fresh.runId}`);
        assert.deepEqual(beat?.data, { workerId: 'w1' }, 'the claim writes the first heartbeat');
      }
      // Its second delivery is no start: the worker decides a takeover itself.
      const redelivered = await pollUntil(
        async () => (await claim())[0],
        timing.patienceMs,
        'the message is delivered again after its lease',
      );
      assert.equal(redelivered.message.deliveryCount, 2);
      assert.equal(redelivered.started, undefined);
      // A plain message, and a run that moved on before its message came: no start either.
      await s.queue.enqueue(s.queueName, 'plain');
      const moved = queuedRun();
      await s.steps.createAndEnqueue(moved, s.queueName, 'moved');
      await s.runs.transition(moved.runId, { from: ['queued'], to: 'cancelled', version: 1 });
      const cancelled = await s.runs.get(moved.runId);
      const others = await claim();
      assert.deepEqual(
        others.map((c) => [c.message.body, c.started]),
        [
          ['plain', undefined],
          ['moved', undefined],
        ],
      );
      assert.deepEqual(await s.runs.get(moved.runId), cancelled);
    });

    test('a worker and dispatcher on the queue make none of the separate calls', async (s) => {
      const calls = { enqueue: 0, claim: 0, ack: 0 };
      const { queue } = s;
      const counted: Queue = {
        ...queue,
        enqueue: (...args) => {
          calls.enqueue += 1;
          return queue.enqueue(...args);
        },
        claim: (...args) => {
          calls.claim += 1;
          return queue.claim(...args);
        },
        ack: (message) => {
          calls.ack += 1;
          return queue.ack(message);
        },
      };
      const task = defineTask({
        type: uniqueName('joint-task'),
        queue: s.queueName,
        maxAttempts: 1,
        payload: z.object({ n: z.number() }),
      });
      const dispatcher = createDispatcher({ queue: counted, runs: s.runs });
      const worker = createWorker({
        queue: counted,
        runs: s.runs,
        ...(s.heartbeats ? { heartbeats: s.heartbeats } : {}),
        ...(s.events ? { events: s.events } : {}),
        handlers: [
          handleTask(task, async ({ n }) => {
            if (n === 1) throw new Error('this one fails');
            return n * 2;
          }),
        ],
      });
      const ok = (await dispatcher.dispatch(task, { n: 2 })).runId;
      const failing = (await dispatcher.dispatch(task, { n: 1 })).runId;
      const outcomes = [await worker.runOnce({ waitMs: 1_000 })];
      outcomes.push(await worker.runOnce({ waitMs: 1_000 }));
      assert.deepEqual(outcomes, ['completed', 'failed']);
      assert.equal((await s.runs.get(ok))?.output, 4);
      assert.deepEqual(calls, {
        enqueue: 0,
        claim: s.steps.claimAndStart ? 0 : calls.claim,
        ack: 0,
      });
      // Each run's task-finished event once, as the record says it ended.
      if (s.events)
        for (const runId of [ok, failing]) {
          const record = await s.runs.get(runId);
          assert.ok(record);
          const finished: unknown[] = (await s.events.read(runId))
            .map((event) => event.data)
            .filter((data) => (data as { type?: string }).type === 'task-finished');
          assert.deepEqual(finished, [finishedEvent(record)]);
        }
      assert.deepEqual(await claimNothing(s.queue, s.queueName), []);
    });
  });
}
