/**
 * `npm run bench:renewal`: what renewing the leases of many running tasks costs Redis, one
 * `extend` per message (all sent at once) against one `extendMany` for all, side by side. A
 * private redis-server holds BENCH_HELD (default 1,000) claimed messages of one queue; each way
 * renews them all BENCH_ROUNDS (default 20) times, taking turns round by round. Prints, per
 * renewed lease, Redis CPU (`INFO cpu`), Redis commands (`INFO commandstats`, scripts' inner ones
 * included) and this process's CPU, and the time a round takes. bench/README.md explains it.
 */
import type { ClaimedMessage } from 'loopwork';
import { createRedisQueue } from 'loopwork/redis';
import { startRedisServer } from '../examples/redis/local-redis';

const HELD = Number(process.env.BENCH_HELD ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const LEASE_MS = 60_000;

const server = await startRedisServer();
const client = server.client();
const admin = server.client();
const queue = createRedisQueue({ client, prefix: 'bench-renewal' });

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

const ways = {
  'extend, one per message': async () => {
    await Promise.all(held.map((message) => queue.extend(message, LEASE_MS)));
  },
  'extendMany, one call': async () => {
    const renewed = await queue.extendMany!(held, LEASE_MS);
    if (renewed.some((answer) => answer !== true)) throw new Error('a lease was not renewed');
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
  `bench:renewal: ${HELD} leases held on one Redis queue, each way renews them all ${ROUNDS} times (taking turns), private redis-server ${server.url}\n`,
);
console.log(
  `${'way'.padEnd(26)} ${'redis µs'.padStart(9)} ${'cmds'.padStart(6)} ${'client µs'.padStart(9)} ${'round ms'.padStart(9)}   (per renewed lease; round: all ${HELD})`,
);
for (const way of names) {
  console.log(
    `${way.padEnd(26)} ${mid(way, 'redisMicros').toFixed(2).padStart(9)} ${mid(way, 'commands').toFixed(2).padStart(6)} ${mid(way, 'clientMicros').toFixed(2).padStart(9)} ${mid(way, 'roundMs').toFixed(1).padStart(9)}`,
  );
}
const [single, many] = names as [Way, Way];
const ratio = (field: keyof Sample) => (mid(single, field) / mid(many, field)).toFixed(1);
console.log(
  `\nextendMany ÷ extend: Redis CPU ${ratio('redisMicros')}× less, client CPU ${ratio('clientMicros')}× less, a round ${ratio('roundMs')}× faster`,
);
await queue.close();
await server.stop();
