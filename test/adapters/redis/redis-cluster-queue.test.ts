// The Redis queue on a Redis Cluster, where a blocking XREAD may only name keys of one slot: a
// claim waiting over several queues must wake for a message on any of them, whether each queue
// has its own slot (one blocking connection per queue) or `hashTag` puts them all in one.
import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { InvalidOptionError, type RunRecord } from 'loopwork';
import {
  createRedisEventLog,
  createRedisHeartbeatStore,
  createRedisQueue,
  createRedisRunStore,
  ReplicationError,
} from 'loopwork/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisCluster, startRedisCluster } from '../../helpers/redis-cluster';

let cluster: RedisCluster;
let client: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
  client = cluster.client();
}, 60_000);
afterAll(() => cluster.stop());

const lease = { consumer: 'c1', leaseMs: 30_000 };

/** Connections the cluster's masters hold right now. */
async function connectedClients(): Promise<number> {
  const counts = await Promise.all(
    client.nodes('master').map(async (node) => {
      const info = await node.info('clients');
      return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

for (const hashTag of [undefined, 'deployment']) {
  describe(hashTag ? `hashTag '${hashTag}'` : 'a slot per queue', () => {
    const names = () => {
      const id = randomUUID().slice(0, 8);
      return [`a-${id}`, `b-${id}`, `c-${id}`];
    };

    it('a claim waiting over three queues wakes for a message on any of them', async () => {
      const queue = createRedisQueue({ client, prefix: 'cq', ...(hashTag ? { hashTag } : {}) });
      const queues = names();
      for (const target of queues) {
        const waiting = queue.claim(queues, { ...lease, waitMs: 20_000 });
        await new Promise((resolve) => setTimeout(resolve, 50)); // let it block first
        await queue.enqueue(target, `to ${target}`);
        const [message] = await waiting;
        expect(message?.queue).toBe(target);
        expect(message?.body).toBe(`to ${target}`);
        if (message) await queue.ack(message);
      }
      await queue.close();
    });

    it('wakes without leaking blocking connections: after many waits, close() gives them all back', async () => {
      const before = await connectedClients();
      const queue = createRedisQueue({ client, prefix: 'cq', ...(hashTag ? { hashTag } : {}) });
      const queues = names();
      for (let i = 0; i < 10; i++) {
        const waiting = queue.claim(queues, { ...lease, waitMs: 20_000 });
        await new Promise((resolve) => setTimeout(resolve, 20));
        await queue.enqueue(queues[i % 3] as string, `m${i}`);
        const [message] = await waiting;
        if (message) await queue.ack(message);
      }
      await queue.close();
      // Closed connections leave the servers' lists shortly after; poll, bounded.
      let after = await connectedClients();
      for (let i = 0; i < 100 && after > before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        after = await connectedClients();
      }
      expect(after).toBeLessThanOrEqual(before);
    });
  });
}

it('hashTag puts every queue in one slot; without it queues spread over slots', async () => {
  const slotOf = (key: string) => client.cluster('KEYSLOT', key);
  // What createRedisQueue writes: one key per queue (the normal-priority stream) is enough.
  const id = randomUUID().slice(0, 8);
  const tagged = createRedisQueue({ client, prefix: 'cq', hashTag: `t-${id}` });
  const spread = createRedisQueue({ client, prefix: 'cq' });
  const queues = Array.from({ length: 8 }, (_, i) => `q${i}-${id}`);
  for (const name of queues) {
    await tagged.enqueue(name, 'x');
    await spread.enqueue(name, 'x');
  }
  const slots = async (pattern: string) => {
    const keys: string[] = [];
    for (const node of client.nodes('master')) keys.push(...(await node.keys(pattern)));
    return new Set(await Promise.all(keys.map(slotOf)));
  };
  expect((await slots(`{t-${id}}:cq:q*:normal`)).size).toBe(1);
  expect((await slots(`{cq:q:q*-${id}}:normal`)).size).toBeGreaterThan(1);
  await tagged.close();
  await spread.close();
});

it('refuses a hashTag with braces, naming the option', () => {
  expect(() => createRedisQueue({ client, hashTag: '{x}' })).toThrow(InvalidOptionError);
  expect(() => createRedisQueue({ client, hashTag: '' })).toThrow(/hashTag must be/);
});

it('refuses a waitReplicas or replicaTimeoutMs that cannot work, naming the option', () => {
  expect(() => createRedisQueue({ client, waitReplicas: -1 })).toThrow(/waitReplicas must be/);
  expect(() => createRedisQueue({ client, waitReplicas: 1.5 })).toThrow(InvalidOptionError);
  expect(() => createRedisQueue({ client, replicaTimeoutMs: 0 })).toThrow(
    /replicaTimeoutMs must be/,
  );
});

// Last: it kills a replica of the cluster this file shares.
it('waitReplicas: a write its replica cannot confirm rejects with ReplicationError, and lands on the master all the same', async () => {
  const name = `w-${randomUUID().slice(0, 8)}`;
  const queue = createRedisQueue({ client, prefix: 'cq', waitReplicas: 1, replicaTimeoutMs: 200 });
  await queue.enqueue(name, 'replicated'); // the replica is up: confirmed
  const master = await cluster.masterOf(`{cq:q:${name}}`);
  const replica = await cluster.replicaOf(master);
  await replica.kill();
  const refused = await queue.enqueue(name, 'unconfirmed').catch((error: unknown) => error);
  expect(ReplicationError.isInstance(refused), String(refused)).toBe(true);
  expect((refused as ReplicationError).retryable).toBe(true);
  expect(String(refused)).toMatch(/enqueue reached 0 of 1 replicas within 200 ms/);
  // The master took it: a queue without waitReplicas claims both.
  const plain = createRedisQueue({ client, prefix: 'cq' });
  const claimed = await plain.claim([name], { ...lease, max: 10 });
  expect(claimed.map((message) => message.body).sort()).toEqual(['replicated', 'unconfirmed']);
  await queue.close();
  await plain.close();
});

/** A run record as a dispatcher creates it. */
function queuedRun(runId: string): RunRecord {
  const now = Date.now();
  return {
    runId,
    taskType: 't',
    status: 'queued',
    payload: {},
    attempt: 0,
    maxAttempts: 1,
    version: 1,
    queuedAt: now,
    updatedAt: now,
  };
}

describe('joint steps with a run store (jointWith)', () => {
  it('are offered only when the queues share the run store’s slot, and then work', async () => {
    const prefix = `jc${randomUUID().slice(0, 6)}`;
    const runs = createRedisRunStore({ client, prefix });
    const apart = createRedisQueue({ client, prefix });
    const together = createRedisQueue({ client, prefix, hashTag: prefix });
    // A slot per queue: a script cannot reach the run's keys, so no joint steps.
    expect(apart.jointWith?.(runs)).toBeUndefined();
    const joint = together.jointWith?.(runs);
    expect(joint).toBeDefined();
    // Heartbeats share the runs' slot; a run's event stream has its own, so no append joins in.
    const withStores = together.jointWith?.(runs, {
      heartbeats: createRedisHeartbeatStore({ client, prefix }),
      events: createRedisEventLog({ client, prefix }),
    });
    expect(withStores).toMatchObject({ beats: true, appendsEvents: false });
    const record = queuedRun('r1');
    await joint?.createAndEnqueue(record, 'q', 'body');
    const [message] = await together.claim(['q'], lease);
    expect(message?.body).toBe('body');
    if (!message) return;
    expect(message.deliveryCount).toBe(1);
    const running = await runs.transition('r1', { from: ['queued'], to: 'running', version: 1 });
    if (!running) throw new Error('the run did not start');
    const written = await joint?.transitionAndAck(
      running,
      { from: ['running'], to: 'completed', version: running.version },
      message,
    );
    expect(written?.status).toBe('completed');
    expect(await together.stats?.('q')).toMatchObject({ ready: 0, leased: 0 });
    await apart.close();
    await together.close();
  });
});

describe('claimAndStart on a Cluster (hashTag = the stores’ prefix)', () => {
  it('starts the run and writes its first heartbeat in the claim', async () => {
    const prefix = `jc${randomUUID().slice(0, 6)}`;
    const runs = createRedisRunStore({ client, prefix });
    const heartbeats = createRedisHeartbeatStore({ client, prefix });
    const queue = createRedisQueue({ client, prefix, hashTag: prefix });
    const joint = queue.jointWith?.(runs, { heartbeats });
    await joint?.createAndEnqueue(queuedRun('c1'), 'q', 'body');
    const [claimed] =
      (await joint?.claimAndStart?.(['q'], { ...lease, workerId: 'w', heartbeatTtlMs: 5_000 })) ??
      [];
    expect(claimed?.started).toMatchObject({ runId: 'c1', status: 'running', workerId: 'w' });
    expect((await heartbeats.get('run:c1'))?.data).toEqual({ workerId: 'w' });
    await queue.close();
  });
});
