/**
 * How long a killed worker's run waits before another worker starts it, with loopwork's default
 * settings (lease 10 s, renewed every third of it), on each queue adapter: a run starts on worker
 * A; A is SIGKILLed; worker B, idle and claiming, takes the run over. Measured from the SIGKILL
 * to the take-over's `startedAt` on the run record (one clock: every process is on this machine),
 * over RECOVERY_TRIALS kills per queue. Run with `npm run bench:recovery`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createDispatcher, WORKER_DEFAULTS } from 'loopwork';
import { createRedisRunStore } from 'loopwork/redis';
import { startRedisServer } from '../examples/redis/local-redis';
import { createE2eQueue, type E2eQueueKind, startQueueService } from '../test/e2e/fixtures/queues';
import { sleeper } from './recovery-worker';

const TRIALS = Number(process.env.RECOVERY_TRIALS ?? 8);
const KINDS = (process.env.RECOVERY_QUEUES ?? 'redis,bullmq,sqs').split(',') as E2eQueueKind[];
const workerFile = fileURLToPath(new URL('./recovery-worker.ts', import.meta.url));

const server = await startRedisServer();
const client = server.client();

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', workerFile], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

console.log(
  `bench:recovery: ${TRIALS} SIGKILLs per queue, defaults (leaseMs ${WORKER_DEFAULTS.leaseMs}, ` +
    `heartbeatTtlMs ${WORKER_DEFAULTS.heartbeatTtlMs}, pollWaitMs ${WORKER_DEFAULTS.pollWaitMs})\n`,
);
console.log('queue      kills   p50 ms   p95 ms   max ms   min ms');
for (const kind of KINDS) {
  const service = await startQueueService(kind);
  const samples: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const prefix = `recovery-${randomUUID().slice(0, 8)}`;
    const env = { ...service.env, RECOVERY_PORT: String(server.port), RECOVERY_PREFIX: prefix };
    const queue = createE2eQueue(kind, { client, prefix });
    const runs = createRedisRunStore({ client, prefix });
    const a = await startWorker(env);
    const { runId } = await createDispatcher({ queue, runs }).dispatch(sleeper, {});
    while ((await runs.get(runId))?.status !== 'running') await sleep(10);
    // Worker B starts after A holds the run, so A's is the first start.
    const b = await startWorker(env);
    await sleep(Math.random() * WORKER_DEFAULTS.leaseMs); // a kill at a random point of the lease
    const killedAt = Date.now();
    a.kill('SIGKILL');
    let record = await runs.get(runId);
    while (!(record && record.attempt >= 2)) {
      await sleep(10);
      record = await runs.get(runId);
    }
    samples.push((record.startedAt ?? Number.NaN) - killedAt);
    b.kill('SIGKILL');
    await queue.close();
  }
  await service.stop();
  samples.sort((x, y) => x - y);
  const cell = (n: number) => String(Math.round(n)).padStart(8);
  console.log(
    `${kind.padEnd(10)} ${String(samples.length).padStart(5)} ${cell(percentile(samples, 50))} ` +
      `${cell(percentile(samples, 95))} ${cell(samples.at(-1) ?? Number.NaN)} ${cell(samples[0] ?? Number.NaN)}`,
  );
}
client.disconnect();
await server.stop();
