/**
 * The consumer side of `bench/queue.ts`, one contender per process: started by it with
 * BENCH_CONTENDER and BENCH_REDIS_PORT (and BENCH_SQS_ENDPOINT for the SQS row) set and an IPC
 * channel. It sets its consumer up (one worker, concurrency 50), says `ready`, then reports `done`
 * (with its CPU time) each time the number of acknowledged tasks reaches the total the parent
 * announced before a round. The in-process memory row uses {@link startLoopworkWorker} directly.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  createWorker,
  defineTask,
  type EventLog,
  type HeartbeatStore,
  handleTask,
  type Queue,
  type RunStore,
} from 'loopwork';
import { createBullmqQueue } from 'loopwork/bullmq';
import {
  createRedisEventLog,
  createRedisHeartbeatStore,
  createRedisQueue,
  createRedisRunStore,
} from 'loopwork/redis';
import { createSqsQueue } from 'loopwork/sqs';
import { z } from 'zod';

// The AWS SDK warns on every client it creates under Node 20; the bench does not need to hear it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const CONCURRENCY = 50;
export type Contender =
  | 'bare'
  | 'bullmq'
  | 'loopwork'
  | 'loopwork-full'
  | 'loopwork-bullmq'
  | 'loopwork-sqs'
  | 'loopwork-memory';
/** Key names each contender uses on the bench's private redis-server. */
export const BARE_STREAM = 'bench:bare';
export const BARE_GROUP = 'bench';
export const BULL_QUEUE = 'bench';
export const BULL_PREFIX = 'bench-bull';
export const LOOPWORK_PREFIX = (contender: string) => `bench-${contender}`;
/** The SQS queue of the SQS row: the no-op task's queue name, which SQS accepts as it is. */
export const SQS_QUEUE = 'bench';
/** The no-op task of the loopwork rows, shared with the dispatching side. */
export const noop = defineTask({
  type: 'noop',
  queue: 'bench',
  payload: z.object({ i: z.number() }),
});

/** Messages between bench/queue.ts and this process. */
export type ToConsumer = { type: 'expect'; total: number } | { type: 'stop' };
export type FromConsumer =
  | { type: 'ready' }
  /** `apiCalls`: SQS API calls of this process during the round, by command (SQS row only). */
  | { type: 'done'; cpuMicros: number; apiCalls?: Record<string, number> };

const noWork = async () => {};

/** An SQS client for the fauxqs emulator at `endpoint` (any credentials do). */
export function sqsBenchClient(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
}

/** Counts the client's API calls by command into `counts` (`SendMessageCommand` …). */
export function countApiCalls(client: SQSClient, counts: Map<string, number>): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      const name = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchCountApiCalls' },
  );
}

/**
 * loopwork's worker as every loopwork row runs it: one worker at concurrency 50 with the no-op
 * handler, a 30 s lease and 1 s polls; `onAck` is called for each run completed (its message acked).
 */
export function startLoopworkWorker(options: {
  queue: Queue;
  runs: RunStore;
  heartbeats?: HeartbeatStore;
  events?: EventLog;
  onAck: () => void;
}): { stop(): Promise<void> } {
  const { queue } = options;
  const worker = createWorker({
    queue,
    runs: options.runs,
    ...(options.heartbeats ? { heartbeats: options.heartbeats } : {}),
    ...(options.events ? { events: options.events } : {}),
    handlers: [handleTask(noop, noWork)],
    concurrency: CONCURRENCY,
    leaseMs: 30_000,
    pollWaitMs: 1_000,
  });
  // Counted when the run is final and its message acked: the worker emits `completed` after
  // both (with joint steps the ack is part of the final write, so `queue.ack` is not called).
  worker.on('completed', () => options.onAck());
  const done = worker.run();
  return {
    async stop() {
      await worker.stop({ graceMs: 1_000 });
      await done;
      await queue.close();
    },
  };
}

async function main() {
  const contender = process.env.BENCH_CONTENDER as Contender;
  const port = Number(process.env.BENCH_REDIS_PORT);
  const send = (message: FromConsumer) => process.send?.(message);
  let acked = 0;
  let target = Number.POSITIVE_INFINITY;
  let cpuAtStart = process.cpuUsage();
  const apiCalls = new Map<string, number>();
  const settled = () => {
    acked++;
    if (acked === target) {
      const cpu = process.cpuUsage(cpuAtStart);
      send({
        type: 'done',
        cpuMicros: cpu.user + cpu.system,
        ...(apiCalls.size > 0 ? { apiCalls: Object.fromEntries(apiCalls) } : {}),
      });
    }
  };
  const connections: Redis[] = [];
  const connect = (options: { maxRetriesPerRequest?: null } = {}) => {
    const client = new Redis({ host: '127.0.0.1', port, ...options });
    connections.push(client);
    return client;
  };
  let stop: () => Promise<void>;

  if (contender === 'bare') {
    // The bare loop: XREADGROUP up to the free slots (blocking on its own connection), run the
    // no-op, XACK. No leases, run records, retries or dead letters.
    const reader = connect();
    const writer = connect();
    await writer.xgroup('CREATE', BARE_STREAM, BARE_GROUP, '0', 'MKSTREAM').catch(() => {});
    let running = 0;
    let stopped = false;
    let slotFreed: (() => void) | undefined;
    const loop = async () => {
      while (!stopped) {
        if (running >= CONCURRENCY) {
          await new Promise<void>((resolve) => {
            slotFreed = resolve;
          });
          continue;
        }
        const read = (await reader.xreadgroup(
          'GROUP',
          BARE_GROUP,
          'consumer',
          'COUNT',
          CONCURRENCY - running,
          'BLOCK',
          1_000,
          'STREAMS',
          BARE_STREAM,
          '>',
        )) as Array<[string, Array<[string, string[]]>]> | null;
        for (const [id] of read?.[0]?.[1] ?? []) {
          running++;
          noWork()
            .then(() => writer.xack(BARE_STREAM, BARE_GROUP, id))
            .then(() => {
              running--;
              slotFreed?.();
              slotFreed = undefined;
              settled();
            });
        }
      }
    };
    const done = loop();
    stop = async () => {
      stopped = true;
      reader.disconnect();
      await done.catch(() => {});
    };
  } else if (contender === 'bullmq') {
    const worker = new BullWorker(BULL_QUEUE, noWork, {
      connection: connect({ maxRetriesPerRequest: null }),
      prefix: BULL_PREFIX,
      concurrency: CONCURRENCY,
    });
    worker.on('completed', settled);
    await worker.waitUntilReady();
    stop = () => worker.close();
  } else {
    // loopwork: the Redis queue and run store (required by the worker); the `full` row adds the
    // heartbeat store and the run event log, as an application with a watchdog and SSE wires it;
    // the `bullmq` and `sqs` rows swap the queue for that adapter (run store still on Redis).
    const client = connect();
    const prefix = LOOPWORK_PREFIX(contender);
    let sqs: SQSClient | undefined;
    let queue: Queue;
    if (contender === 'loopwork-bullmq') queue = createBullmqQueue({ connection: client, prefix });
    else if (contender === 'loopwork-sqs') {
      sqs = sqsBenchClient(process.env.BENCH_SQS_ENDPOINT as string);
      countApiCalls(sqs, apiCalls);
      queue = createSqsQueue({ client: sqs });
    } else queue = createRedisQueue({ client, prefix });
    const full = contender === 'loopwork-full';
    const worker = startLoopworkWorker({
      queue,
      runs: createRedisRunStore({ client, prefix }),
      ...(full
        ? {
            heartbeats: createRedisHeartbeatStore({ client, prefix }),
            events: createRedisEventLog({ client, prefix }),
          }
        : {}),
      onAck: settled,
    });
    stop = async () => {
      await worker.stop();
      sqs?.destroy();
    };
  }

  process.on('message', async (message: ToConsumer) => {
    if (message.type === 'expect') {
      acked = 0;
      target = message.total;
      apiCalls.clear();
      cpuAtStart = process.cpuUsage();
    } else {
      await stop();
      for (const client of connections) client.disconnect();
      process.exit(0);
    }
  });
  send({ type: 'ready' });
}

// Imported by bench/queue.ts for its constants; runs only as the consumer process.
if (process.env.BENCH_CONTENDER) await main();
