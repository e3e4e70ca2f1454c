/**
 * `npm run bench:renewal`: what a worker's rounds for many running tasks cost Redis, the batched
 * call against one call per task, side by side: renewing their leases (`extend` each against one
 * `extendMany`), reading their runs for a cancel request (`runs.get` each against one
 * `getStandings`) and beating their heartbeats (`beat` each against one `beatMany`). A private
 * redis-server holds BENCH_HELD (default 1,000) claimed messages of one queue, their running runs
 * and as many heartbeats; each way does its round BENCH_ROUNDS (default 20) times, taking turns
 * round by round. Prints, per lease, read or heartbeat, Redis CPU (`INFO cpu`), Redis commands
 * (`INFO commandstats`, scripts' inner ones included) and this process's CPU, and the time a
 * round takes. bench/README.md explains it.
 */
import type { ClaimedMessage } from 'loopwork';
import { createRedisHeartbeatStore, createRedisQueue, createRedisRunStore } from 'loopwork/redis';
import { startRedisServer } from '../examples/redis/local-redis';

const HELD = Number(process.env.BENCH_HELD ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const LEASE_MS = 60_000;

const server = await startRedisServer();
const client = server.client();
const admin = server.client();
const queue = createRedisQueue({ client, prefix: 'bench-renewal' });
const heartbeats = createRedisHeartbeatStore({ client, prefix: 'bench-renewal' });
const runs = createRedisRunStore({ client, prefix: 'bench-renewal' });
const HEARTBEAT_TTL_MS = 30_000;
const data = { workerId: 'w1' };

for (let i = 0; i < HELD; i++) await queue.enqueue('held', `task ${i}`);
const held: ClaimedMessage[] = [];
while (held.length < HELD) {
  held.push(
    ...(await queue.claim(['held'], {
      consumer: 'w1',
      leaseMs: LEASE_MS,
      max: HELD - held.length,
    })),
  );
}

// Each held message's run, running, as a worker's round reads it for a cancel request.
for (const message of held) {
  const now = Date.now();
  await runs.create({
    runId: message.id,
    taskType: 'bench',
    status: 'queued',
    payload: { url: 'https://example.com/some/page', depth: 2 },
    attempt: 0,
    maxAttempts: 3,
    version: 1,
    queuedAt: now,
    updatedAt: now,
  });
  await runs.transition(message.id, {
    from: ['queued'],
    to: 'running',
    version: 1,
    set: { attempt: 1, workerId: 'w1', messageId: message.id, startedAt: now },
  });
}

const ways = {
  'extend, one per message': async () => {
    await Promise.all(held.map((message) => queue.extend(message, LEASE_MS)));
  },
  'extendMany, one call': async () => {
    const renewed = await queue.extendMany!(held, LEASE_MS);
    if (renewed.some((answer) => answer !== true)) throw new Error('a lease was not renewed');
  },
  'beat, one per run': async () => {
    await Promise.all(
      held.map((message) => heartbeats.beat(`run:${message.id}`, HEARTBEAT_TTL_MS, data)),
    );
  },
  'beatMany, one call': async () => {
    await heartbeats.beatMany!(
      held.map((message) => ({ key: `run:${message.id}`, data })),
      HEARTBEAT_TTL_MS,
    );
  },
  'runs.get, one per run': async () => {
    const records = await Promise.all(held.map((message) => runs.get(message.id)));
    if (records.some((record) => record?.status !== 'running')) throw new Error('a run is gone');
  },
  'getStandings, one call': async () => {
    const standings = await runs.getStandings!(held.map((message) => message.id));
    if (standings.some((standing) => standing?.status !== 'running'))
      throw new Error('a run is gone');
  },
} as const;
type Way = keyof typeof ways;

async function redisCounters() {
  const cpu = await admin.info('cpu');
  const value = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1]);
  let commands = 0;
  for (const match of (await admin.info('commandstats')).matchAll(
    /^cmdstat_([^:]+):calls=(\d+)/gm,
  )) {
    if (match[1] !== 'info') commands += Number(match[2]);
  }
  return { cpuSeconds: value('used_cpu_user') + value('used_cpu_sys'), commands };
}

interface Sample {
  redisMicros: number;
  clientMicros: number;
  commands: number;
  roundMs: number;
}

async function round(way: Way): Promise<Sample> {
  const before = await redisCounters();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await ways[way]();
  const roundMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const after = await redisCounters();
  return {
    redisMicros: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / HELD,
    clientMicros: (user + system) / HELD,
    // The INFO calls between are not counted; the one before the next round's is.
    commands: (after.commands - before.commands) / HELD,
    roundMs,
  };
}

const names = Object.keys(ways) as Way[];
for (const way of names) await round(way); // warm-up
const samples = new Map<Way, Sample[]>(names.map((way) => [way, []]));
for (let r = 0; r < ROUNDS; r++) for (const way of names) samples.get(way)!.push(await round(way));

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const mid = (way: Way, field: keyof Sample) => median(samples.get(way)!.map((s) => s[field]));
console.log(
  `bench:renewal: ${HELD} leases held on one Redis queue and as many heartbeats, each way does its round ${ROUNDS} times (taking turns), private redis-server ${server.url}\n`,
);
console.log(
  `${'way'.padEnd(26)} ${'redis µs'.padStart(9)} ${'cmds'.padStart(6)} ${'client µs'.padStart(9)} ${'round ms'.padStart(9)}   (per lease, heartbeat or read; a round: all ${HELD})`,
);
for (const way of names) {
  console.log(
    `${way.padEnd(26)} ${mid(way, 'redisMicros').toFixed(2).padStart(9)} ${mid(way, 'commands').toFixed(2).padStart(6)} ${mid(way, 'clientMicros').toFixed(2).padStart(9)} ${mid(way, 'roundMs').toFixed(1).padStart(9)}`,
  );
}
const ratio = (single: Way, many: Way, field: keyof Sample) =>
  (mid(single, field) / mid(many, field)).toFixed(1);
console.log();
for (const [single, many, name] of [
  ['extend, one per message', 'extendMany, one call', 'extendMany ÷ extend'],
  ['beat, one per run', 'beatMany, one call', 'beatMany ÷ beat'],
  ['runs.get, one per run', 'getStandings, one call', 'getStandings ÷ get'],
] as const) {
  console.log(
    `${name}: Redis CPU ${ratio(single, many, 'redisMicros')}× less, client CPU ${ratio(single, many, 'clientMicros')}× less, a round ${ratio(single, many, 'roundMs')}× faster`,
  );
}
await queue.close();
await server.stop();
