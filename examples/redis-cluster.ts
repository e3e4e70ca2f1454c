/**
 * loopwork on a Redis Cluster: the Redis adapters take an ioredis `Cluster` as they take a
 * `Redis`. Starts a private cluster (3 masters + 3 replicas on loopback), runs one worker over two
 * queues (each in its own hash slot, so on whichever shard that slot lives), dispatches a few
 * tasks to each and prints where each queue lives. docs/scaling.md explains the options.
 *
 * Run: `npx tsx examples/redis-cluster.ts`
 */
import { Cluster } from 'ioredis';
import { createDispatcher, createWorker, defineTask, handleTask, isFinal } from 'loopwork';
import { createRedisQueue, createRedisRunStore } from 'loopwork/redis';
import { z } from 'zod';
import { startRedisCluster } from './redis/local-cluster';

const local = await startRedisCluster();

// What an application passes: its cluster's nodes, and options that ride out a failover (commands
// wait while a master is down and its replica not yet promoted; the slot map is refreshed often).
const client = new Cluster(local.startupNodes, {
  retryDelayOnClusterDown: 100,
  retryDelayOnFailover: 100,
  slotsRefreshInterval: 1000,
  redisOptions: { maxRetriesPerRequest: null },
});

const resize = defineTask({
  type: 'resize',
  queue: 'images',
  payload: z.object({ n: z.number() }),
});
const summarize = defineTask({
  type: 'summarize',
  queue: 'texts',
  payload: z.object({ n: z.number() }),
});

// Without `hashTag`, each queue has its own slot: queues spread over the shards, and a claim over
// both waits on one connection per queue. `hashTag: 'app'` would put both in one slot instead.
const queue = createRedisQueue({ client, prefix: 'example' });
const runs = createRedisRunStore({ client, prefix: 'example' });
const dispatcher = createDispatcher({ queue, runs });
const worker = createWorker({
  queue,
  runs,
  concurrency: 4,
  pollWaitMs: 200,
  handlers: [
    handleTask(resize, async ({ n }) => `image ${n} resized`),
    handleTask(summarize, async ({ n }) => `text ${n} summarized`),
  ],
});
const running = worker.run();

const runIds: string[] = [];
for (let n = 0; n < 3; n++) {
  runIds.push((await dispatcher.dispatch(resize, { n })).runId);
  runIds.push((await dispatcher.dispatch(summarize, { n })).runId);
}
while (true) {
  const records = await Promise.all(runIds.map((runId) => runs.get(runId)));
  if (records.every((record) => record && isFinal(record.status))) {
    for (const record of records) console.log(`${record?.runId}: ${record?.status}`);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}
for (const name of ['images', 'texts']) {
  const node = await local.masterOf(`{example:q:${name}}`);
  console.log(`queue "${name}" lives on the master at 127.0.0.1:${node.port}`);
}

await worker.stop();
await running;
await queue.close();
client.disconnect();
await local.stop();
