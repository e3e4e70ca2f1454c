/**
 * Tasks per second through dispatch → claim → no-op → ack, on a private redis-server, for:
 * loopwork's Redis queue with one worker process at concurrency 50 (with the run store it
 * requires, and again with heartbeats and the run event log as well), a bare ioredis
 * XADD / XREADGROUP / XACK loop and a bare BullMQ Queue/Worker, each consuming in its own
 * process, measured in one run. Run with `npm run bench:queue`; bench/README.md explains it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { createDispatcher } from 'loopwork';
import { createBullmqQueue } from 'loopwork/bullmq';
import { createRedisQueue, createRedisRunStore } from 'loopwork/redis';
import { startRedisServer } from '../examples/redis/local-redis';
import {
  BARE_STREAM,
  BULL_PREFIX,
  BULL_QUEUE,
  CONCURRENCY,
  type Contender,
  type FromConsumer,
  LOOPWORK_PREFIX,
  noop,
  type ToConsumer,
} from './queue-consumer';

const TASKS = Number(process.env.BENCH_TASKS ?? 5_000);
const WARMUP_TASKS = 1_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Dispatches in flight at once on the producing side (the same for every contender). */
const IN_FLIGHT = 50;
const ALL: Contender[] = ['bare', 'bullmq', 'loopwork', 'loopwork-full', 'loopwork-bullmq'];
/** BENCH_ONLY=bare,bullmq,loopwork measures a subset (the ratios need bare and bullmq). */
const CONTENDERS = process.env.BENCH_ONLY
  ? ALL.filter((contender) => process.env.BENCH_ONLY?.split(',').includes(contender))
  : ALL;
const LABELS: Record<Contender, string> = {
  bare: 'bare ioredis XADD/XREADGROUP/XACK',
  bullmq: 'BullMQ Queue + Worker',
  loopwork: 'loopwork (queue + run store)',
  'loopwork-full': 'loopwork (+ heartbeats + event log)',
  'loopwork-bullmq': 'loopwork on loopwork/bullmq',
};

const server = await startRedisServer();
const admin = server.client();

/** The producing side of a contender: one call enqueues task `i`. */
function producer(contender: Contender): {
  add(i: number): Promise<unknown>;
  close(): Promise<void>;
} {
  if (contender === 'bare') {
    const client = new Redis(server.url);
    return {
      add: (i) => client.xadd(BARE_STREAM, '*', 'body', JSON.stringify({ i })),
      close: async () => client.disconnect(),
    };
  }
  if (contender === 'bullmq') {
    const connection = new Redis(server.url, { maxRetriesPerRequest: null });
    const queue = new BullQueue(BULL_QUEUE, { connection, prefix: BULL_PREFIX });
    return {
      add: (i) => queue.add('noop', { i }),
      async close() {
        await queue.close();
        connection.disconnect(); // BullMQ leaves a connection it was given open
      },
    };
  }
  const client = new Redis(server.url);
  const prefix = LOOPWORK_PREFIX(contender);
  const queue =
    contender === 'loopwork-bullmq'
      ? createBullmqQueue({ connection: client, prefix })
      : createRedisQueue({ client, prefix });
  const dispatcher = createDispatcher({ queue, runs: createRedisRunStore({ client, prefix }) });
  return {
    add: (i) => dispatcher.dispatch(noop, { i }),
    close: async () => {
      await queue.close();
      client.disconnect();
    },
  };
}

interface Consumer {
  child: ChildProcess;
  next(): Promise<FromConsumer>;
  send(message: ToConsumer): void;
}

/** Starts the consuming process of a contender and waits until it is ready. */
async function consumer(contender: Contender): Promise<Consumer> {
  const child = fork(fileURLToPath(new URL('./queue-consumer.ts', import.meta.url)), {
    env: { ...process.env, BENCH_CONTENDER: contender, BENCH_REDIS_PORT: String(server.port) },
    execArgv: process.execArgv, // tsx, as this process was started
  });
  const inbox: FromConsumer[] = [];
  let waiting: ((message: FromConsumer) => void) | undefined;
  child.on('message', (message: FromConsumer) => {
    if (waiting) {
      waiting(message);
      waiting = undefined;
    } else inbox.push(message);
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) throw new Error(`${contender} consumer exited with ${code}`);
  });
  const next = () =>
    new Promise<FromConsumer>((resolve) => {
      const queued = inbox.shift();
      if (queued) resolve(queued);
      else waiting = resolve;
    });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error(`${contender} consumer did not start`);
  return { child, next, send: (message) => child.send(message) };
}

/** Redis commands run per calls (client commands and those inside Lua scripts), from INFO. */
async function commandCounts(): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const counts = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    counts.set(match[1] as string, Number(match[2]));
  return counts;
}
async function redisCpuSeconds(): Promise<number> {
  const info = await admin.info('cpu');
  const value = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return value('used_cpu_user') + value('used_cpu_sys');
}

interface Sample {
  tasksPerSecond: number;
  dispatchPerSecond: number;
  producerCpuMicros: number;
  consumerCpuMicros: number;
  redisCpuMicros: number;
  commands: Map<string, number>;
}

/** One round: announce the total, dispatch `tasks` with IN_FLIGHT in flight, wait for the last ack. */
async function round(contender: Contender, worker: Consumer, tasks: number): Promise<Sample> {
  const produce = producer(contender);
  const before = await commandCounts();
  const cpuBefore = await redisCpuSeconds();
  worker.send({ type: 'expect', total: tasks });
  const done = worker.next();
  const started = performance.now();
  const producerCpu = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < tasks) await produce.add(next++);
    }),
  );
  const dispatched = performance.now();
  const { user, system } = process.cpuUsage(producerCpu);
  const report = await done;
  const finished = performance.now();
  const cpuAfter = await redisCpuSeconds();
  const after = await commandCounts();
  await produce.close();
  if (report.type !== 'done') throw new Error(`unexpected message from ${contender}`);
  const commands = new Map<string, number>();
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    if (delta > 0 && name !== 'info') commands.set(name, delta / tasks);
  }
  return {
    tasksPerSecond: tasks / ((finished - started) / 1000),
    dispatchPerSecond: tasks / ((dispatched - started) / 1000),
    producerCpuMicros: (user + system) / tasks,
    consumerCpuMicros: report.cpuMicros / tasks,
    redisCpuMicros: ((cpuAfter - cpuBefore) * 1e6) / tasks,
    commands,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

console.log(
  `bench:queue: ${TASKS} tasks per round, ${ROUNDS} rounds per contender (taking turns), ` +
    `consumers in their own process at concurrency ${CONCURRENCY}, ${IN_FLIGHT} dispatches in flight, ` +
    `redis-server ${server.url} (private, no persistence)`,
);
const consumers = new Map<Contender, Consumer>();
for (const contender of CONTENDERS) consumers.set(contender, await consumer(contender));
for (const contender of CONTENDERS) await round(contender, consumers.get(contender)!, WARMUP_TASKS);

const samples = new Map<Contender, Sample[]>(CONTENDERS.map((contender) => [contender, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const contender of CONTENDERS) {
    samples.get(contender)!.push(await round(contender, consumers.get(contender)!, TASKS));
  }
}
for (const worker of consumers.values()) worker.send({ type: 'stop' });
await Promise.all(
  [...consumers.values()].map(
    (worker) => new Promise((resolve) => worker.child.once('exit', resolve)),
  ),
);

const rate = (contender: Contender) => {
  const all = samples.get(contender);
  return all ? median(all.map((sample) => sample.tasksPerSecond)) : Number.NaN;
};
const bare = rate('bare');
const bull = rate('bullmq');
const pad = (text: string, width: number) => text.padEnd(width);
const num = (value: number, width: number, digits = 0) => value.toFixed(digits).padStart(width);
console.log(
  `\n${pad('contender', 38)} ${'tasks/s'.padStart(8)} ${'min–max'.padStart(13)} ${'dispatch/s'.padStart(10)}` +
    ` ${'÷ bare'.padStart(7)} ${'÷ BullMQ'.padStart(8)} ${'disp µs'.padStart(7)} ${'worker µs'.padStart(9)} ${'redis µs'.padStart(8)} ${'cmds'.padStart(5)}`,
);
for (const contender of CONTENDERS) {
  const all = samples.get(contender)!;
  const rates = all.map((sample) => sample.tasksPerSecond);
  const mid = rate(contender);
  const commands = median(all.map((s) => [...s.commands.values()].reduce((a, b) => a + b, 0)));
  console.log(
    `${pad(LABELS[contender], 38)} ${num(mid, 8)} ${`${num(Math.min(...rates), 6)}–${num(Math.max(...rates), 6).trim()}`.padStart(13)}` +
      ` ${num(median(all.map((s) => s.dispatchPerSecond)), 10)} ${num(mid / bare, 6, 2)}× ${num(mid / bull, 7, 2)}×` +
      ` ${num(median(all.map((s) => s.producerCpuMicros)), 7)} ${num(median(all.map((s) => s.consumerCpuMicros)), 9)} ${num(median(all.map((s) => s.redisCpuMicros)), 8)} ${num(commands, 5, 1)}`,
  );
}
console.log(
  '\nRedis commands per task (client commands and those run inside Lua scripts), last round:',
);
for (const contender of CONTENDERS) {
  const last = samples.get(contender)!.at(-1)!;
  const list = [...last.commands]
    .sort((a, b) => b[1] - a[1])
    .map(([name, perTask]) => `${name} ${perTask.toFixed(2)}`)
    .join(', ');
  console.log(`  ${pad(LABELS[contender], 38)} ${list}`);
}
const headline = rate('loopwork');
console.log(
  `\nloopwork ÷ bare ioredis: ${(headline / bare).toFixed(2)}× (goal ≥ 0.70×); ` +
    `loopwork ÷ BullMQ: ${(headline / bull).toFixed(2)}× (goal > 1.00×)`,
);
await server.stop();
