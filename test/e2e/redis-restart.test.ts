// Reconnection (issue 5): redis-server is SIGKILLed and restarted (with AOF, so it keeps its data)
// three times: while agent tasks run, while the workers sit idle in their blocking read, and for
// longer than the lease while tasks run. The workers must carry on by themselves: every task
// completes, nothing is lost, and every worker claims again after each restart (BullMQ #4585 and
// #3185 describe workers that silently stop consuming after a reconnect). A second test plays
// the riskiest moment of a long outage in slow motion: a worker cut off past its lease whose task
// another worker took over.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  createDispatcher,
  createWorker,
  defineTask,
  handleTask,
  type JobOutcome,
  type Queue,
  type RunRecord,
  type Worker,
} from 'loopwork';
import { createRedisQueue, createRedisRunStore } from 'loopwork/redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { type RedisServer, startRedisServer } from '../helpers/redis-server';
import { expectedTranscript, runIdOf, toolCallKeys, wire } from './fixtures/agent-fixture';

let server: RedisServer;
const clients: Redis[] = [];
const workers: Worker[] = [];
beforeAll(async () => {
  server = await startRedisServer({ appendOnly: true });
});
afterAll(async () => {
  for (const worker of workers) worker.abandon();
  for (const client of clients) client.disconnect();
  await server?.stop();
});

/** A client of this file's server, closed after the tests. */
function client(options: { maxRetriesPerRequest?: number } = {}): Redis {
  const created = new Redis({ host: '127.0.0.1', port: server.port, ...options });
  created.on('error', () => {}); // reconnect noise; what matters is that the work gets done
  clients.push(created);
  return created;
}

const WORKERS = 2;
const CONCURRENCY = 3;
const FIRST_BATCH = 30;
const SECOND_BATCH = 10;
const THIRD_BATCH = 20;

/** Polls until `probe` is truthy; the bound only keeps a broken run from hanging. */
async function waitFor<T>(probe: () => Promise<T>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

it('workers carry on by themselves after redis-server restarts, mid-run and while idle: all tasks complete, none lost', {
  timeout: 90_000,
}, async () => {
  const prefix = `e2e-restart-${randomUUID().slice(0, 8)}`;
  const test = client(); // ioredis defaults: waits out the outages
  const errors: string[] = [];
  const { runs, checkpoints, dispatcher, agent, keys } = wire({ client: test, prefix });

  // Each worker on its own connection, as separate processes would be: worker-0 with ioredis
  // defaults (commands wait out a short outage), worker-1 failing fast (commands rejected after
  // two reconnect attempts), so every error path of the worker runs too.
  for (let i = 0; i < WORKERS; i++) {
    const own = i === 0 ? client() : client({ maxRetriesPerRequest: 2 });
    // The test's own bookkeeping waits out the outages, so a tool never fails because of it.
    const parts = wire({ client: own, bookkeeping: test, prefix, who: `worker-${i}` });
    const worker = createWorker({
      id: `worker-${i}`,
      queue: parts.queue,
      runs: parts.runs,
      heartbeats: parts.heartbeats,
      events: parts.events,
      handlers: [parts.agent.handler],
      concurrency: CONCURRENCY,
      leaseMs: 1_000,
      heartbeatTtlMs: 1_500,
      // Long enough that the idle restart below lands inside a blocking read.
      pollWaitMs: 5_000,
      onError: (error) => errors.push(error instanceof Error ? error.message : String(error)),
    });
    workers.push(worker);
    void worker.run();
  }

  const dispatch = async (from: number, count: number) => {
    for (let i = from; i < from + count; i++)
      await dispatcher.dispatch(agent.task, { prompt: `job ${i}` }, { runId: runIdOf(i) });
    return Array.from({ length: count }, (_, k) => runIdOf(from + k));
  };
  const records = (runIds: string[]) => Promise.all(runIds.map((runId) => runs.get(runId)));
  const allDone = async (runIds: string[]) => {
    const all = await records(runIds);
    return all.every((record) => record?.status === 'completed') ? all : undefined;
  };
  const describeRuns = async (runIds: string[]) =>
    (await records(runIds))
      .filter((record) => record?.status !== 'completed')
      .map((record) => `${record?.runId}: ${record?.status} (${record?.error?.message ?? '-'})`)
      .join('\n');

  // --- 1. restart while tasks are running ---
  const first = await dispatch(0, FIRST_BATCH);
  await waitFor(
    async () => (await records(first)).filter((r) => r?.status === 'completed').length >= 5,
    'the first tasks to complete',
  );
  const running = (await records(first)).filter((r) => r?.status === 'running').length;
  const firstRestart = Date.now();
  await server.restart();
  await waitFor(() => allDone(first), 'the first batch to complete').catch(async (error) => {
    throw new Error(`${error.message}\n${await describeRuns(first)}\nerrors: ${errors.join('\n')}`);
  });
  for (const worker of workers)
    expect(worker.stats().lastClaimAt, `${worker.id} claimed after the restart`).toBeGreaterThan(
      firstRestart,
    );

  // --- 2. restart while every worker is idle, blocked waiting for new entries ---
  await waitFor(
    async () => workers.every((worker) => worker.stats().running === 0),
    'the workers to go idle',
  );
  await sleep(200); // inside the blocking read now (pollWaitMs is 5 s)
  const secondRestart = Date.now();
  await server.restart();
  const second = await dispatch(FIRST_BATCH, SECOND_BATCH);
  await waitFor(() => allDone(second), 'the second batch to complete').catch(async (error) => {
    throw new Error(
      `${error.message}\n${await describeRuns(second)}\nerrors: ${errors.join('\n')}`,
    );
  });
  for (const worker of workers)
    expect(
      worker.stats().lastClaimAt,
      `${worker.id} claimed after the idle restart`,
    ).toBeGreaterThan(secondRestart);

  // --- 3. an outage longer than the lease, while tasks run: when Redis is back, every lease
  // held before has run out, so other workers take those tasks over while their first workers,
  // alive, still hold them. Those must step aside without touching the runs. ---
  const third = await dispatch(FIRST_BATCH + SECOND_BATCH, THIRD_BATCH);
  await waitFor(
    async () => (await records(third)).filter((r) => r?.status === 'running').length >= 4,
    'tasks of the third batch to run',
  );
  const thirdRestart = Date.now();
  await server.restart({ downMs: 2_500 });
  await waitFor(() => allDone(third), 'the third batch to complete').catch(async (error) => {
    throw new Error(`${error.message}\n${await describeRuns(third)}\nerrors: ${errors.join('\n')}`);
  });
  for (const worker of workers)
    expect(worker.stats().lastClaimAt, `${worker.id} claimed after the outage`).toBeGreaterThan(
      thirdRestart,
    );

  // --- nothing lost, nothing repeated that was checkpointed, every transcript whole ---
  const executions = await test.hgetall(keys.executions);
  for (const runId of [...first, ...second, ...third]) {
    const prompt = `job ${Number(runId.slice(4))}`;
    const saved = await checkpoints.load(runId);
    expect(saved?.state.messages, runId).toEqual(expectedTranscript(prompt));
    for (const key of toolCallKeys(runId, prompt))
      expect(Number(executions[key]), key).toBeGreaterThanOrEqual(1);
  }
  expect(await test.hgetall(keys.violations)).toEqual({});
  const all = (await records([...first, ...second, ...third])) as RunRecord[];
  console.log(
    `redis-restart: ${all.length} completed; ${running} runs were running at the first restart; ` +
      `${errors.length} errors survived by the workers${errors.length ? ` (${[...new Set(errors)].join('; ')})` : ''}`,
  );
});

it('a worker cut off past its lease leaves alone the run another worker took over', {
  timeout: 30_000,
}, async () => {
  // Worker A's lease renewals never arrive (as if it were cut off from Redis), so worker B takes
  // its task over after 300 ms. Then A's connection comes back and its handler fails with an
  // error of the outage. A must neither requeue nor fail the run: it is B's now, and B completes
  // it. (Requeued by A, the run would sit "queued" with no message once B acked its delivery.)
  const prefix = `e2e-cutoff-${randomUUID().slice(0, 8)}`;
  const redis = client();
  const queue = createRedisQueue({ client: redis, prefix });
  const runs = createRedisRunStore({ client: redis, prefix });
  const task = defineTask({
    type: 'cutoff',
    payload: z.object({}),
    retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
  });
  let tookOver!: () => void;
  const bTookOver = new Promise<void>((resolve) => {
    tookOver = resolve;
  });
  let reconnected = false;
  const cutOff: Queue = {
    ...queue,
    extend: (message, leaseMs) =>
      reconnected ? queue.extend(message, leaseMs) : Promise.resolve(),
    extendMany: (messages, leaseMs) =>
      reconnected
        ? queue.extendMany!(messages, leaseMs)
        : Promise.resolve(messages.map(() => true)),
  };
  const a = createWorker({
    id: 'A',
    queue: cutOff,
    runs,
    leaseMs: 300,
    handlers: [
      handleTask(task, async () => {
        await bTookOver;
        reconnected = true;
        throw new Error('Connection is closed.');
      }),
    ],
  });
  let aSettled!: Promise<JobOutcome>;
  const b = createWorker({
    id: 'B',
    queue,
    runs,
    leaseMs: 10_000,
    handlers: [
      handleTask(task, async () => {
        tookOver();
        await aSettled;
      }),
    ],
  });
  const { runId } = await createDispatcher({ queue, runs }).dispatch(task, {});
  aSettled = a.runOnce({ waitMs: 5_000 });
  const bOutcome = await b.runOnce({ waitMs: 5_000 });
  expect(await aSettled).toBe('lease_lost');
  expect(bOutcome).toBe('completed');
  expect(await runs.get(runId)).toMatchObject({ status: 'completed', workerId: 'B' });
});
