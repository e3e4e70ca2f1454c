// The Redis queue's joint steps with a Redis run store (Queue.jointWith): a run's final write and
// its message's ack, and a run's record and its message, each as one script. Each step must do
// what the two calls it replaces do, and nothing when its first half does not apply.
import type { Redis } from 'ioredis';
import {
  ConflictError,
  createDispatcher,
  createMemoryRunStore,
  createWorker,
  defineTask,
  handleTask,
  InvalidOptionError,
  type Queue,
  type QueueRunSteps,
  type RunRecord,
  type RunStore,
} from 'loopwork';
import {
  createRedisEventLog,
  createRedisHeartbeatStore,
  createRedisQueue,
  createRedisRunStore,
} from 'loopwork/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { finishedEvent } from '../../../src/queue/task-events';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';

let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

const prefix = () => `j${Math.random().toString(36).slice(2, 8)}`;

function setup(): { queue: Queue; runs: RunStore; joint: QueueRunSteps } {
  const p = prefix();
  const queue = createRedisQueue({ client, prefix: p });
  const runs = createRedisRunStore({ client, prefix: p });
  const joint = queue.jointWith?.(runs);
  if (!joint) throw new Error('expected joint steps for a run store on the same client');
  return { queue, runs, joint };
}

const queuedRun = (runId: string): RunRecord => ({
  runId,
  taskType: 't',
  status: 'queued',
  payload: { n: 1 },
  attempt: 0,
  maxAttempts: 3,
  version: 1,
  queuedAt: Date.now(),
  updatedAt: Date.now(),
});

/** A run created, claimed and started from its message, as a worker has it before it ends. */
async function started(queue: Queue, runs: RunStore, joint: QueueRunSteps, leaseMs = 30_000) {
  const runId = `r-${Math.random().toString(36).slice(2)}`;
  await joint.createAndEnqueue(queuedRun(runId), 'q', `body of ${runId}`);
  const [message] = await queue.claim(['q'], { consumer: 'c1', leaseMs });
  if (!message) throw new Error('no message');
  const running = await runs.transition(runId, {
    from: ['queued'],
    to: 'running',
    version: 1,
    set: { attempt: 1, messageId: message.id, startedAt: Date.now() },
  });
  if (!running) throw new Error('not started');
  return { runId, message, running };
}

const completion = (record: RunRecord) => ({
  from: ['running' as const],
  to: 'completed' as const,
  version: record.version,
  attempt: record.attempt,
  set: { output: { answer: [1, 2] }, finishedAt: Date.now() },
  unset: ['error' as const],
});

describe('jointWith', () => {
  it('is offered for a Redis run store on the same client, and for nothing else', async () => {
    const p = prefix();
    const queue = createRedisQueue({ client, prefix: p });
    const runs = createRedisRunStore({ client, prefix: p });
    const other = server.client();
    try {
      expect(queue.jointWith?.(runs)).toBeDefined();
      // Another connection (even to the same server), another store, a wrapped store: not joint.
      expect(queue.jointWith?.(createRedisRunStore({ client: other, prefix: p }))).toBeUndefined();
      expect(queue.jointWith?.(createMemoryRunStore())).toBeUndefined();
      expect(queue.jointWith?.({ ...runs })).toBeUndefined();
    } finally {
      other.disconnect();
      await queue.close();
    }
  });
});

describe('transitionAndAck', () => {
  it('writes the final transition and acks: the record is final, the message gone for good', async () => {
    const { queue, runs, joint } = setup();
    const { runId, message, running } = await started(queue, runs, joint, 200);
    const written = await joint.transitionAndAck(runId, completion(running), message);
    expect(written).toEqual(await runs.get(runId));
    expect(written).toMatchObject({ status: 'completed', output: { answer: [1, 2] } });
    expect(written?.error).toBeUndefined();
    // An acked message is not delivered again, even after its lease would have run out.
    expect(await queue.claim(['q'], { consumer: 'c2', leaseMs: 1_000, waitMs: 500 })).toEqual([]);
    expect(await queue.stats?.('q')).toMatchObject({ ready: 0, leased: 0 });
    await queue.close();
  });

  it('a transition that does not apply writes nothing and leaves the message held', async () => {
    const { queue, runs, joint } = setup();
    const { runId, message, running } = await started(queue, runs, joint);
    const stale = { ...completion(running), version: running.version - 1 };
    expect(await joint.transitionAndAck(runId, stale, message)).toBeUndefined();
    expect(await runs.get(runId)).toEqual(running);
    expect(await queue.stats?.('q')).toMatchObject({ leased: 1 });
    // Still ours: a separate ack succeeds.
    await queue.ack(message);
    await queue.close();
  });

  it('a lost lease does not undo the write: the record is final, the new holder keeps the message', async () => {
    const { queue, runs, joint } = setup();
    const { runId, message, running } = await started(queue, runs, joint, 100);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const [again] = await queue.claim(['q'], { consumer: 'c2', leaseMs: 30_000 });
    expect(again?.id).toBe(message.id);
    const written = await joint.transitionAndAck(runId, completion(running), message);
    expect(written?.status).toBe('completed');
    expect(await queue.stats?.('q')).toMatchObject({ leased: 1 });
    if (again) await queue.ack(again); // the new holder's receipt is still good
    await queue.close();
  });

  it('a receipt from another adapter is refused before anything is written', async () => {
    const { queue, runs, joint } = setup();
    const { runId, message, running } = await started(queue, runs, joint);
    await expect(
      joint.transitionAndAck(runId, completion(running), { ...message, receipt: 'junk' }),
    ).rejects.toThrow(InvalidOptionError);
    expect(await runs.get(runId)).toEqual(running);
    await queue.close();
  });
});

describe('createAndEnqueue', () => {
  it('records the run and enqueues its message; a second create of the run enqueues nothing', async () => {
    const { queue, runs, joint } = setup();
    const record = queuedRun('once');
    const result = await joint.createAndEnqueue(record, 'q', 'the body', { dedupeId: 'once' });
    expect(result.deduplicated).toBe(false);
    expect(await runs.get('once')).toEqual(record);
    await expect(
      joint.createAndEnqueue({ ...record, payload: { n: 2 } }, 'q', 'another body'),
    ).rejects.toThrow(ConflictError);
    expect(await runs.get('once')).toEqual(record);
    const messages = await queue.claim(['q'], { consumer: 'c1', leaseMs: 30_000, max: 10 });
    expect(messages.map((m) => [m.id, m.body])).toEqual([[result.id, 'the body']]);
    await queue.close();
  });

  it('delay, priority and group are the queue’s: a grouped second run waits for the first', async () => {
    const { queue, joint } = setup();
    await joint.createAndEnqueue(queuedRun('g1'), 'q', 'g1', { groupId: 'conv' });
    await joint.createAndEnqueue(queuedRun('g2'), 'q', 'g2', { groupId: 'conv' });
    await joint.createAndEnqueue(queuedRun('late'), 'q', 'late', { delayMs: 60_000 });
    await joint.createAndEnqueue(queuedRun('urgent'), 'q', 'urgent', { priority: 'high' });
    const claimed = await queue.claim(['q'], { consumer: 'c1', leaseMs: 30_000, max: 10 });
    expect(claimed.map((m) => m.body)).toEqual(['urgent', 'g1']);
    expect(await queue.stats?.('q')).toMatchObject({ delayed: 1, ready: 1 });
    await queue.close();
  });

  it('a bad priority is refused before anything is written', async () => {
    const { queue, runs, joint } = setup();
    await expect(
      // @ts-expect-error: not a priority level
      joint.createAndEnqueue(queuedRun('bad'), 'q', 'b', { priority: 'urgent' }),
    ).rejects.toThrow(/priority must be 'high', 'normal' or 'low'/);
    expect(await runs.get('bad')).toBeUndefined();
    await queue.close();
  });
});

describe('claimAndStart', () => {
  const claimStart = (joint: QueueRunSteps, options: { leaseMs?: number; max?: number } = {}) => {
    if (!joint.claimAndStart) throw new Error('expected claimAndStart');
    return joint.claimAndStart(['q'], {
      consumer: 'c1',
      workerId: 'w1',
      leaseMs: options.leaseMs ?? 30_000,
      max: options.max ?? 10,
    });
  };

  it('starts the run of a message createAndEnqueue sent, in the claim, as a fresh start would', async () => {
    const { queue, runs, joint } = setup();
    await joint.createAndEnqueue(queuedRun('fresh'), 'q', 'b');
    const [claimed, ...rest] = await claimStart(joint);
    expect(rest).toEqual([]);
    expect(claimed?.started).toEqual(await runs.get('fresh'));
    expect(claimed?.started).toMatchObject({
      status: 'running',
      attempt: 1,
      version: 2,
      workerId: 'w1',
      messageId: claimed?.message.id,
    });
    expect(claimed?.started?.startedAt).toEqual(expect.any(Number));
    expect(claimed?.started?.availableAt).toBeUndefined();
    await queue.close();
  });

  it('starts nothing else: a plain message, a run no longer fresh, a second delivery', async () => {
    const { queue, runs, joint } = setup();
    await queue.enqueue('q', 'plain');
    // A run that moved on before its message came (cancelled while queued).
    await joint.createAndEnqueue(queuedRun('moved'), 'q', 'moved');
    await runs.transition('moved', { from: ['queued'], to: 'cancelled', version: 1 });
    const moved = await runs.get('moved');
    const claimed = await claimStart(joint, { leaseMs: 100 });
    expect(claimed.map((c) => [c.message.body, c.started])).toEqual([
      ['plain', undefined],
      ['moved', undefined],
    ]);
    expect(await runs.get('moved')).toEqual(moved);
    // Delivered again after the lease: never a start (the worker decides a takeover itself).
    await joint.createAndEnqueue(queuedRun('again'), 'q', 'again');
    const [first] = await queue.claim(['q'], { consumer: 'c0', leaseMs: 100 });
    expect(first?.body).toBe('again');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const redelivered = await claimStart(joint);
    expect(redelivered.map((c) => [c.message.body, c.message.deliveryCount, c.started])).toEqual([
      ['plain', 2, undefined],
      ['moved', 2, undefined],
      ['again', 2, undefined],
    ]);
    expect(await runs.get('again')).toMatchObject({ status: 'queued', version: 1 });
    await queue.close();
  });

  it('a delayed message and a group’s next member keep their run id until they are claimed', async () => {
    const { queue, runs, joint } = setup();
    await joint.createAndEnqueue(queuedRun('g1'), 'q', 'g1', { groupId: 'conv' });
    await joint.createAndEnqueue(queuedRun('g2'), 'q', 'g2', { groupId: 'conv' });
    await joint.createAndEnqueue(queuedRun('later'), 'q', 'later', { delayMs: 100 });
    const [g1] = await claimStart(joint);
    expect(g1?.started?.runId).toBe('g1');
    if (g1) await queue.ack(g1.message);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const next = await claimStart(joint);
    expect(next.map((c) => c.started?.runId).sort()).toEqual(['g2', 'later']);
    expect((await runs.get('later'))?.status).toBe('running');
    await queue.close();
  });

  it('refuses a claim without a worker id', async () => {
    const { queue, joint } = setup();
    await expect(
      joint.claimAndStart?.(['q'], { consumer: 'c1', leaseMs: 1_000, workerId: '' }),
    ).rejects.toThrow(/claimAndStart needs workerId/);
    await queue.close();
  });
});

describe('with the heartbeat store and event log (beats, appendsEvents)', () => {
  function stores(p = prefix()) {
    const queue = createRedisQueue({ client, prefix: p });
    const runs = createRedisRunStore({ client, prefix: p });
    const heartbeats = createRedisHeartbeatStore({ client, prefix: p });
    const events = createRedisEventLog({ client, prefix: p, maxEventBytes: 2_000 });
    const joint = queue.jointWith?.(runs, { heartbeats, events });
    if (!joint?.claimAndStart) throw new Error('expected joint steps');
    return { p, queue, runs, heartbeats, events, joint };
  }

  it('are offered for stores on the same client (heartbeats: with the runs’ prefix)', async () => {
    const { p, queue, runs, joint } = stores();
    expect(joint).toMatchObject({ beats: true, appendsEvents: true });
    const other = server.client();
    try {
      expect(queue.jointWith?.(runs)).toMatchObject({ beats: false, appendsEvents: false });
      const elsewhere = queue.jointWith?.(runs, {
        heartbeats: createRedisHeartbeatStore({ client, prefix: `${p}-other` }),
        events: createRedisEventLog({ client: other, prefix: p }),
      });
      expect(elsewhere).toMatchObject({ beats: false, appendsEvents: false });
    } finally {
      other.disconnect();
      await queue.close();
    }
  });

  it('a claim that starts a run writes its first heartbeat, as the heartbeat store would', async () => {
    const { queue, joint, heartbeats } = stores();
    await joint.createAndEnqueue(queuedRun('beating'), 'q', 'b');
    await joint.createAndEnqueue(queuedRun('quiet'), 'q', 'b');
    const before = Date.now();
    const options = { consumer: 'c1', workerId: 'w1', leaseMs: 30_000 };
    await joint.claimAndStart?.(['q'], { ...options, heartbeatTtlMs: 60_000 });
    const beat = await heartbeats.get('run:beating');
    expect(beat?.data).toEqual({ workerId: 'w1' });
    expect(beat?.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect((await heartbeats.list('run:')).map((b) => b.key)).toEqual(['run:beating']);
    // Without heartbeatTtlMs, no beat.
    await joint.claimAndStart?.(['q'], options);
    expect(await heartbeats.get('run:quiet')).toBeUndefined();
    await expect(joint.claimAndStart?.(['q'], { ...options, heartbeatTtlMs: -1 })).rejects.toThrow(
      /heartbeatTtlMs must be a positive number/,
    );
    await queue.close();
  });

  it('a final write given an event appends it when it applies, and only then', async () => {
    const { queue, runs, events, joint } = stores();
    const { runId, message, running } = await started(queue, runs, joint);
    const event = { type: 'task-finished', runId, status: 'completed', attempt: 1 };
    const stale = { ...completion(running), version: running.version - 1 };
    expect(await joint.transitionAndAck(runId, stale, message, event)).toBeUndefined();
    expect(await events.read(runId)).toEqual([]);
    await joint.transitionAndAck(runId, completion(running), message, event);
    expect((await events.read(runId)).map((e) => e.data)).toEqual([event]);
    // Encoded as the log's own append would: a too-large event becomes the same placeholder.
    const big = { type: 'task-finished', runId, note: 'x'.repeat(5_000) };
    const second = await started(queue, runs, joint);
    await joint.transitionAndAck(second.runId, completion(second.running), second.message, big);
    await events.append('compare', big);
    const [stored] = await events.read(second.runId);
    const [appended] = await events.read('compare');
    expect(stored?.data).toEqual(appended?.data);
    expect(JSON.stringify(stored?.data)).not.toContain('xxxxxxxx');
    await queue.close();
  });

  it('a worker’s runs get their task-finished event once, as without joint steps', async () => {
    const { queue, runs, heartbeats, events } = stores();
    const task = defineTask({
      type: 'beat',
      queue: 'q',
      maxAttempts: 1,
      payload: z.object({ n: z.number() }),
    });
    const dispatcher = createDispatcher({ queue, runs });
    const seen: unknown[] = [];
    const worker = createWorker({
      queue,
      runs,
      heartbeats,
      events,
      handlers: [
        handleTask(task, async ({ n }, context) => {
          seen.push((await heartbeats.get(`run:${context.runId}`))?.data);
          if (n === 1) throw new Error('no retry for this one');
          return n;
        }),
      ],
    });
    const ok = (await dispatcher.dispatch(task, { n: 0 })).runId;
    const failing = (await dispatcher.dispatch(task, { n: 1 })).runId;
    expect(await worker.runOnce({ waitMs: 1_000 })).toBe('completed');
    expect(await worker.runOnce({ waitMs: 1_000 })).toBe('failed');
    expect(seen).toEqual([{ workerId: worker.id }, { workerId: worker.id }]);
    for (const runId of [ok, failing]) {
      const record = await runs.get(runId);
      const finished = (await events.read(runId)).filter(
        (e) => (e.data as { type: string }).type === 'task-finished',
      );
      expect(finished.map((e) => e.data)).toEqual([finishedEvent(record!)]);
    }
    expect((await runs.get(failing))?.status).toBe('failed');
    await queue.close();
  });
});

describe('a worker and dispatcher with joint steps', () => {
  it('dispatch records and enqueues in one step, the worker claims and starts in one, ends and acks in one', async () => {
    const { queue, runs } = setup();
    const calls = { ack: 0, enqueue: 0, claim: 0 };
    // The same adapter objects, counting the calls the joint steps replace.
    const counted: Queue = {
      ...queue,
      ack: (message) => {
        calls.ack += 1;
        return queue.ack(message);
      },
      enqueue: (...args) => {
        calls.enqueue += 1;
        return queue.enqueue(...args);
      },
      claim: (...args) => {
        calls.claim += 1;
        return queue.claim(...args);
      },
    };
    const task = defineTask({ type: 'echo', queue: 'q', payload: z.object({ n: z.number() }) });
    const dispatcher = createDispatcher({ queue: counted, runs });
    const ids = [];
    for (let n = 0; n < 5; n++) ids.push((await dispatcher.dispatch(task, { n })).runId);
    const worker = createWorker({
      queue: counted,
      runs,
      handlers: [handleTask(task, async ({ n }) => n * 2)],
    });
    for (let i = 0; i < 5; i++) expect(await worker.runOnce({ waitMs: 1_000 })).toBe('completed');
    for (const [n, runId] of ids.entries())
      expect(await runs.get(runId)).toMatchObject({ status: 'completed', output: n * 2 });
    expect(calls).toEqual({ ack: 0, enqueue: 0, claim: 0 });
    expect(await queue.stats?.('q')).toMatchObject({ ready: 0, leased: 0 });
    await queue.close();
  });
});
