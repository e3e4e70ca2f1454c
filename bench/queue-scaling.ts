/**
 * `npm run bench:queue -- --scaling`: how loopwork's Redis queue scales with worker processes.
 * For one redis-server and for a Redis Cluster (3 masters + 3 replicas, all on this machine), a
 * backlog of BENCH_TASKS no-op tasks (spread over QUEUES task types, so that on the cluster they
 * spread over the shards) is drained by 1, 2 and 4 worker processes (each one worker at
 * concurrency 50, with the run store, as bench/queue.ts's `loopwork` row). Prints tasks/s per row
 * and the ratio to one process, and, for one server, Redis commands and bytes per task.
 * bench/README.md explains it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createDispatcher } from 'loopwork';
import { createRedisQueue, createRedisRunStore, type RedisClient } from 'loopwork/redis';
import { startRedisServer } from '../examples/redis/local-redis';
import { startRedisCluster } from '../test/helpers/redis-cluster';
import { type FromScalingConsumer, QUEUES, scalingTasks } from './queue-scaling-consumer';

const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const PROCESSES = [1, 2, 4];
const IN_FLIGHT = 200;

interface Target {
  name: string;
  /** What a consumer process needs to connect (environment). */
  env: Record<string, string>;
  client: RedisClient;
  stop(): Promise<void>;
}

async function oneServer(): Promise<Target> {
  const server = await startRedisServer();
  return {
    name: 'one redis-server',
    env: { BENCH_REDIS_PORT: String(server.port) },
    client: server.client(),
    stop: () => server.stop(),
  };
}

async function cluster(): Promise<Target> {
  const started = await startRedisCluster();
  return {
    name: 'cluster, 3 masters',
    env: { BENCH_REDIS_CLUSTER: JSON.stringify(started.startupNodes) },
    client: started.client(),
    stop: () => started.stop(),
  };
}

/** Enqueues the backlog through the dispatcher (run records included), IN_FLIGHT at a time. */
async function fill(client: RedisClient, prefix: string): Promise<void> {
  const queue = createRedisQueue({ client, prefix });
  const dispatcher = createDispatcher({ queue, runs: createRedisRunStore({ client, prefix }) });
  const tasks = scalingTasks();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < TASKS) {
        const i = next++;
        await dispatcher.dispatch(tasks[i % QUEUES] as (typeof tasks)[number], { i });
      }
    }),
  );
  await queue.close();
}

/** Starts `count` consumer processes, waits until all are ready, then times the drain. */
async function drain(target: Target, prefix: string, count: number): Promise<number> {
  const children: ChildProcess[] = [];
  let acked = 0;
  let ready = 0;
  let onReady: () => void = () => {};
  let onDone: () => void = () => {};
  const allReady = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const done = new Promise<void>((resolve) => {
    onDone = resolve;
  });
  for (let i = 0; i < count; i++) {
    const child = fork(fileURLToPath(new URL('./queue-scaling-consumer.ts', import.meta.url)), {
      env: { ...process.env, ...target.env, BENCH_PREFIX: prefix },
      execArgv: process.execArgv,
    });
    child.on('message', (message: FromScalingConsumer) => {
      if (message.type === 'ready' && ++ready === count) onReady();
      if (message.type === 'acked') {
        acked += message.count;
        if (acked >= TASKS) onDone();
      }
    });
    children.push(child);
  }
  await allReady;
  const started = performance.now();
  for (const child of children) child.send({ type: 'go' });
  await done;
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(
    children.map((child) => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      return exited;
    }),
  );
  return TASKS / seconds;
}

/** Commands per task and used memory per retained run, from INFO on one server. */
async function footprint(client: Redis, before: { calls: number; memory: number }) {
  const stats = await client.info('commandstats');
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (match[1] !== 'info') calls += Number(match[2]);
  const memory = Number(/^used_memory:(\d+)/m.exec(await client.info('memory'))?.[1]);
  return { calls: calls - before.calls, memory: memory - before.memory };
}

/** Enqueues per second with `waitReplicas` 0 and 1 (WAIT after each write), IN_FLIGHT at a time. */
async function enqueueCost(client: RedisClient): Promise<string> {
  const rates: string[] = [];
  for (const waitReplicas of [0, 1]) {
    const queue = createRedisQueue({ client, prefix: `wait-${waitReplicas}`, waitReplicas });
    await queue.enqueue('w', 'warm-up');
    const count = Math.min(TASKS, 5_000);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next++ < count) await queue.enqueue('w', 'x');
      }),
    );
    rates.push(
      `waitReplicas ${waitReplicas}: ${(count / ((performance.now() - started) / 1000)).toFixed(0)} enqueues/s`,
    );
    await queue.close();
  }
  return rates.join(', ');
}

let waitCost = '';
console.log(
  `bench:queue --scaling: ${TASKS} no-op tasks over ${QUEUES} queues per row, drained by worker processes ` +
    `(each one worker at concurrency 50, with the run store); ${IN_FLIGHT} dispatches in flight fill the backlog first`,
);
const rows: string[] = [];
for (const make of [oneServer, cluster]) {
  const target = await make();
  let base = Number.NaN;
  for (const count of PROCESSES) {
    const prefix = `scale-${count}-${Date.now()}`;
    const single = target.client instanceof Redis ? target.client : undefined;
    const before = single ? await footprint(single, { calls: 0, memory: 0 }) : undefined;
    await fill(target.client, prefix);
    const rate = await drain(target, prefix, count);
    if (count === 1) base = rate;
    let extra = '';
    if (single && before) {
      const used = await footprint(single, before);
      extra = `  ${(used.calls / TASKS).toFixed(1)} cmds/task, ${Math.round(used.memory / TASKS)} B/retained run`;
    }
    rows.push(
      `${target.name.padEnd(20)} ${String(count).padStart(9)} ${rate.toFixed(0).padStart(8)} ${(rate / base).toFixed(2).padStart(6)}×${extra}`,
    );
    console.log(rows.at(-1));
  }
  if (target.name.startsWith('cluster')) waitCost = await enqueueCost(target.client);
  await target.stop();
}
console.log(
  `\n${'target'.padEnd(20)} ${'processes'.padStart(9)} ${'tasks/s'.padStart(8)} ${'÷ one'.padStart(7)}`,
);
for (const row of rows) console.log(row);
console.log(`\nOne queue on the cluster, ${IN_FLIGHT} enqueues in flight: ${waitCost}`);
