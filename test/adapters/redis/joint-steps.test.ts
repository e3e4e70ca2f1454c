// The Redis queue's joint steps with a Redis run store (Queue.jointWith): a run's final write and
// its message's ack, and a run's record and its message, each as one script. Each step must do
// what the two calls it replaces do, and nothing when its first half does not apply.
import type { Redis } from 'ioredis';
import {
  createMemoryRunStore,
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
import { jointStepsConformance } from 'loopwork/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

// What every queue's joint steps must do, on the Redis queue with the Redis stores, with and
// without the heartbeat store and event log.
for (const withStores of [true, false]) {
  describe(
    withStores ? 'with the heartbeat store and event log' : 'with the run store alone',
    () => {
      jointStepsConformance({
        describe,
        it,
        create: async () => {
          const p = prefix();
          const queue = createRedisQueue({ client, prefix: p });
          const runs = createRedisRunStore({ client, prefix: p });
          if (!withStores) return { queue, runs };
          const heartbeats = createRedisHeartbeatStore({ client, prefix: p });
          return { queue, runs, heartbeats, events: createRedisEventLog({ client, prefix: p }) };
        },
      });
    },
  );
}

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
  it('a receipt from another adapter is refused before anything is written', async () => {
    const { queue, runs, joint } = setup();
    const { runId, message, running } = await started(queue, runs, joint);
    await expect(
      joint.transitionAndAck(running, completion(running), { ...message, receipt: 'junk' }),
    ).rejects.toThrow(InvalidOptionError);
    expect(await runs.get(runId)).toEqual(running);
    await queue.close();
  });
});

describe('createAndEnqueue', () => {
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

  it('the event a final write appends is encoded as the log’s own append: a too-large one as its placeholder', async () => {
    const { queue, runs, events, joint } = stores();
    const second = await started(queue, runs, joint);
    const big = { type: 'task-finished', runId: second.runId, note: 'x'.repeat(5_000) };
    await joint.transitionAndAck(second.running, completion(second.running), second.message, big);
    await events.append('compare', big);
    const [stored] = await events.read(second.runId);
    const [appended] = await events.read('compare');
    expect(stored?.data).toEqual(appended?.data);
    expect(JSON.stringify(stored?.data)).not.toContain('xxxxxxxx');
    await queue.close();
  });
});
