// Failover on Redis Cluster (issue 15): a dispatcher process, three worker processes and a
// watchdog process share a 3-master, 3-replica cluster; in the middle of 100 agent tasks the
// master serving the queue is SIGKILLed. Its replica must be promoted (cluster-node-timeout 1 s)
// and the workers must carry on by themselves, through ioredis's Cluster reconnect and slot
// refresh: every task completes, each exactly once, and no checkpointed tool call runs again.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFinal, type RunRecord, WORKER_DEFAULTS } from 'loopwork';
import { afterAll, expect, it } from 'vitest';
import { type RedisCluster, startRedisCluster } from '../helpers/redis-cluster';
import { ENV, expectedTranscript, runIdOf, toolCallKeys, wire } from './fixtures/agent-fixture';
import { type FixtureProcess, startFixture } from './fixtures/processes';
import { QUEUE_ENV } from './fixtures/queues';

const TASKS = 100;
/** Runs final before the master is killed: the kill lands in the middle of the run. */
const KILL_AFTER = 20;
/** Leases without any run moving before the test gives up waiting (a stall, not slowness). */
const STALL_LEASES = 6;

let cluster: RedisCluster | undefined;
const processes: FixtureProcess[] = [];
afterAll(async () => {
  await Promise.all(processes.map((process) => process.kill()));
  await cluster?.stop();
});

it(`${TASKS} agent tasks on 3 worker processes over a Redis Cluster whose queue master is SIGKILLed mid-run: the replica takes over, workers carry on, every task completes once`, {
  // Only a bound for a hung test: the wait below ends on lack of progress, not on time.
  timeout: 300_000,
}, async () => {
  cluster = await startRedisCluster({ nodeTimeoutMs: 1000 });
  const prefix = `e2e-failover-${randomUUID().slice(0, 8)}`;
  const env = {
    [ENV.cluster]: JSON.stringify(cluster.startupNodes),
    [ENV.prefix]: prefix,
    [QUEUE_ENV]: 'redis',
  };
  const client = cluster.client();
  const { runs, events, checkpoints, agent, keys } = wire({ client, prefix, queue: 'redis' });

  const watchdog = startFixture('watchdog-process.ts', env, 'watchdog');
  const workers = [0, 1, 2].map((i) =>
    startFixture('worker-process.ts', { ...env, LOOPWORK_E2E_CONCURRENCY: '3' }, `worker${i}`),
  );
  processes.push(watchdog, ...workers);
  await Promise.all([watchdog.ready, ...workers.map((worker) => worker.ready)]);
  const dispatcher = startFixture('dispatcher-process.ts', {
    ...env,
    LOOPWORK_E2E_TASKS: String(TASKS),
  });
  processes.push(dispatcher);
  expect((await dispatcher.exited).code, dispatcher.tail()).toBe(0);

  const runIds = Array.from({ length: TASKS }, (_, i) => runIdOf(i));
  const finals = async () => {
    const records = await Promise.all(runIds.map((runId) => runs.get(runId)));
    return records;
  };
  while ((await finals()).filter((r) => r && isFinal(r.status)).length < KILL_AFTER)
    await sleep(50);

  // --- SIGKILL the master of the queue's slot; wait for its replica to be promoted ---
  const victim = await cluster.masterOf(`{${prefix}:q:${agent.task.queue}}`);
  const killedAt = Date.now();
  await victim.kill();
  await cluster.waitUntilOk(60_000);
  const failoverMs = Date.now() - killedAt;
  const finalAtKill = (await finals()).filter((r) => r && isFinal(r.status)).length;

  // --- wait until every run is final, or until nothing has moved for STALL_LEASES leases ---
  const stallMs = STALL_LEASES * WORKER_DEFAULTS.leaseMs;
  let lastProgress = Date.now();
  let fingerprint = '';
  let records: Array<RunRecord | undefined> = [];
  while (true) {
    records = await finals();
    if (records.every((record) => record && isFinal(record.status))) break;
    const now = records.map((record) => `${record?.status}:${record?.version}`).join(',');
    if (now !== fingerprint) {
      fingerprint = now;
      lastProgress = Date.now();
    } else if (Date.now() - lastProgress > stallMs) break;
    await sleep(100);
  }
  const elapsedMs = Date.now() - killedAt;
  const notCompleted = records
    .map((record, i) => [runIds[i], record] as const)
    .filter(([, record]) => record?.status !== 'completed')
    .map(
      ([runId, record]) =>
        `${runId}: ${record?.status ?? 'no record'} ${record?.error?.message ?? ''}`,
    );
  expect(notCompleted, processes.map((p) => p.tail()).join('\n')).toEqual([]);

  // --- each run finished once; each worker took work after the failover; transcripts whole ---
  const whoAfterKill = new Set<string>();
  let redelivered = 0;
  for (const runId of runIds) {
    const data = (await events.read(runId)).map(
      (event) => event.data as { type: string; who?: string; at?: number; status?: string },
    );
    const finished = data.filter((event) => event.type === 'run-finished');
    expect(finished.length, `${runId} finished ${finished.length} times`).toBeLessThanOrEqual(1);
    const deliveries = data.filter((event) => event.type === 'e2e-delivery');
    if (deliveries.length > 1) redelivered++;
    for (const delivery of deliveries)
      if ((delivery.at ?? 0) > killedAt && delivery.who) whoAfterKill.add(delivery.who);
    const prompt = `job ${Number(runId.slice(4))}`;
    const saved = await checkpoints.load(runId);
    expect(saved?.state.status, runId).toBe('completed');
    expect(saved?.state.messages, runId).toEqual(expectedTranscript(prompt));
  }
  expect(whoAfterKill.size, 'workers that claimed after the failover').toBe(workers.length);
  for (const worker of workers)
    expect(await Promise.race([worker.exited, sleep(0, 'alive')])).toBe('alive');

  const executions = Object.fromEntries(
    Object.entries(await client.hgetall(keys.executions)).map(([key, n]) => [key, Number(n)]),
  );
  for (const runId of runIds)
    for (const key of toolCallKeys(runId, `job ${Number(runId.slice(4))}`))
      expect(executions[key], key).toBeGreaterThanOrEqual(1);
  expect(await client.hgetall(keys.violations)).toEqual({});
  const repeated = Object.values(executions).filter((n) => n > 1).length;

  console.log(
    `cluster failover: master :${victim.port} SIGKILLed with ${finalAtKill - 0}/${TASKS} runs final; ` +
      `cluster ok again after ${failoverMs} ms (cluster-node-timeout ${cluster.nodeTimeoutMs} ms); ` +
      `all ${TASKS} completed ${(elapsedMs / 1000).toFixed(1)} s after the kill; ${redelivered} runs delivered more than once, ` +
      `${repeated} tool calls executed more than once (none checkpointed)`,
  );
});
