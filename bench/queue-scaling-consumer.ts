/**
 * A worker process of `bench/queue-scaling.ts`: one loopwork worker at concurrency 50 on the
 * Redis queue and run store (one redis-server from BENCH_REDIS_PORT, or a Cluster from
 * BENCH_REDIS_CLUSTER), claiming from all QUEUES queues. It says `ready`, starts on `go`, reports
 * acknowledged tasks in batches, and exits on `stop`.
 */
import { Cluster, Redis } from 'ioredis';
import { createWorker, defineTask, handleTask, type Queue } from 'loopwork';
import { createRedisQueue, createRedisRunStore, type RedisClient } from 'loopwork/redis';
import { z } from 'zod';

/** Task types (one queue each) the backlog is spread over. */
export const QUEUES = 4;

/** The no-op task types of the scaling bench, one per queue. */
export function scalingTasks() {
  return Array.from({ length: QUEUES }, (_, i) =>
    defineTask({ type: `noop-${i}`, queue: `scale-${i}`, payload: z.object({ i: z.number() }) }),
  );
}

export type ToScalingConsumer = { type: 'go' } | { type: 'stop' };
export type FromScalingConsumer = { type: 'ready' } | { type: 'acked'; count: number };

/** Acks reported per IPC message: often enough for the parent's clock, rare enough to be free. */
const BATCH = 100;

async function main() {
  const nodes = process.env.BENCH_REDIS_CLUSTER;
  const client: RedisClient = nodes
    ? new Cluster(JSON.parse(nodes))
    : new Redis({ host: '127.0.0.1', port: Number(process.env.BENCH_REDIS_PORT) });
  const prefix = process.env.BENCH_PREFIX as string;
  const queue = createRedisQueue({ client, prefix });
  let unreported = 0;
  const report = () => {
    if (unreported > 0) process.send?.({ type: 'acked', count: unreported });
    unreported = 0;
  };
  const counting: Queue = {
    ...queue,
    async ack(message) {
      await queue.ack(message);
      if (++unreported >= BATCH) report();
    },
  };
  const worker = createWorker({
    queue: counting,
    runs: createRedisRunStore({ client, prefix }),
    handlers: scalingTasks().map((task) => handleTask(task, async () => {})),
    concurrency: 50,
    leaseMs: 30_000,
    pollWaitMs: 1_000,
  });
  // Flushes the last partial batch while the backlog runs dry.
  const flush = setInterval(report, 50);
  let done: Promise<void> | undefined;
  process.on('message', async (message: ToScalingConsumer) => {
    if (message.type === 'go') done = worker.run();
    else {
      clearInterval(flush);
      await worker.stop({ graceMs: 1_000 });
      await done;
      await queue.close();
      client.disconnect();
      process.exit(0);
    }
  });
  await client.ping();
  process.send?.({ type: 'ready' } satisfies FromScalingConsumer);
}

// Imported by bench/queue-scaling.ts for its constants; runs only as a consumer process.
if (process.env.BENCH_PREFIX) await main();
