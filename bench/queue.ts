/**
 * Tasks per second through dispatch → claim → no-op → ack, on a private redis-server, for:
 * loopwork's Redis queue with one worker process at concurrency 50 (with the run store it
 * requires, and again with heartbeats and the run event log as well), the same worker on the
 * BullMQ adapter and on the SQS adapter (a standard queue on the fauxqs emulator, in its own
 * process on loopback), a bare ioredis XADD / XREADGROUP / XACK loop and a bare BullMQ
 * Queue/Worker, each consuming in its own process, and for reference the worker on the memory
 * queue in the benchmark's own process; measured in one run. Run with `npm run bench:queue`;
 * bench/README.md explains it.
 */
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { createDispatcher, createMemoryQueue, type Queue } from 'loopwork';
import { createBullmqQueue } from 'loopwork/bullmq';
import { createRedisQueue, createRedisRunStore } from 'loopwork/redis';
import { createSqsQueue } from 'loopwork/sqs';
import { freePort, startRedisServer } from '../examples/redis/local-redis';
import { waitForHealth } from '../test/helpers/fauxqs';
import {
  BARE_STREAM,
  BULL_PREFIX,
  BULL_QUEUE,
  CONCURRENCY,
  type Contender,
  countApiCalls,
  type FromConsumer,
  LOOPWORK_PREFIX,
  noop,
  SQS_QUEUE,
  sqsBenchClient,
  startLoopworkWorker,
  type ToConsumer,
} from './queue-consumer';

// `npm run bench:queue -- --scaling`: worker processes 1, 2, 4 on one server and on a cluster.
if (process.argv.includes('--scaling')) {
  await import('./queue-scaling');
  process.exit(0);
}

const TASKS = Number(process.env.BENCH_TASKS ?? 5_000);
const WARMUP_TASKS = 1_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Dispatches in flight at once on the producing side (the same for every contender). */
const IN_FLIGHT = 50;
const ALL: Contender[] = [
  'bare',
  'bullmq',
  'loopwork',
  'loopwork-full',
  'loopwork-bullmq',
  'loopwork-sqs',
  'loopwork-memory',
];
/** Contenders whose consumer runs in the benchmark's process (the memory queue lives there). */
const IN_PROCESS: ReadonlySet<Contender> = new Set(['loopwork-memory']);
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
  'loopwork-sqs': 'loopwork on loopwork/sqs (emulator)',
  'loopwork-memory': 'loopwork on memory queue (1 process)',
};

const server = await startRedisServer();
const admin = server.client();

/** fauxqs (an SQS emulator) in a process of its own on loopback, for the SQS row. */
interface Emulator {
  endpoint: string;
  /** CPU seconds the emulator process has used so far (from /proc; NaN where there is none). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

async function startEmulator(): Promise<Emulator> {
  const port = await freePort();
  // Started from the package's API rather than its CLI, which logs every request (a cost on the
  // emulator's CPU that AWS does not have); otherwise the same server.
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { startFauxqs } = await import('fauxqs');
       await startFauxqs({ port: ${port}, host: '127.0.0.1', logger: false });`,
    ],
    { stdio: 'ignore', cwd: fileURLToPath(new URL('..', import.meta.url)) },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForHealth(endpoint, child);
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  let ticksPerSecond = Number.NaN;
  try {
    ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  } catch {
    // no getconf: the emulator's CPU is not reported
  }
  return {
    endpoint,
    cpuSeconds() {
      try {
        // /proc/<pid>/stat: utime and stime are fields 14 and 15, after the parenthesized name.
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
      } catch {
        return Number.NaN;
      }
    },
    async stop() {
      process.off('exit', onExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const emulator = CONTENDERS.includes('loopwork-sqs') ? await startEmulator() : undefined;
if (emulator) {
  const sqs = sqsBenchClient(emulator.endpoint);
  await sqs.send(new CreateQueueCommand({ QueueName: SQS_QUEUE }));
  sqs.destroy();
}
/** The memory row's queue, shared by its dispatcher and its worker in this process. */
const memoryQueue = createMemoryQueue();
/** SQS API calls of the dispatching side during the current round, by command. */
const producerApiCalls = new Map<string, number>();

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
  const sqs = contender === 'loopwork-sqs' ? sqsBenchClient(emulator!.endpoint) : undefined;
  if (sqs) countApiCalls(sqs, producerApiCalls);
  const queue: Queue =
    contender === 'loopwork-bullmq'
      ? createBullmqQueue({ connection: client, prefix })
      : sqs
        ? createSqsQueue({ client: sqs })
        : contender === 'loopwork-memory'
          ? memoryQueue
          : createRedisQueue({ client, prefix });
  const dispatcher = createDispatcher({ queue, runs: createRedisRunStore({ client, prefix }) });
  return {
    add: (i) => dispatcher.dispatch(noop, { i }),
    close: async () => {
      if (queue !== memoryQueue) await queue.close(); // the memory row's worker still uses it
      sqs?.destroy();
      client.disconnect();
    },
  };
}

interface Consumer {
  next(): Promise<FromConsumer>;
  send(message: ToConsumer): void;
  /** Resolves once the consumer has stopped (after a `stop` message). */
  exited: Promise<unknown>;
}

/** A one-slot mailbox: `put` hands a message to the pending `next`, or keeps it for the next one. */
function mailbox() {
  const inbox: FromConsumer[] = [];
  let waiting: ((message: FromConsumer) => void) | undefined;
  return {
    put(message: FromConsumer) {
      if (waiting) {
        waiting(message);
        waiting = undefined;
      } else inbox.push(message);
    },
    next: () =>
      new Promise<FromConsumer>((resolve) => {
        const queued = inbox.shift();
        if (queued) resolve(queued);
        else waiting = resolve;
      }),
  };
}

/** Starts the consumer of a contender (its own process, or this one) and waits until it is ready. */
async function consumer(contender: Contender): Promise<Consumer> {
  if (IN_PROCESS.has(contender)) return inProcessConsumer();
  const child: ChildProcess = fork(fileURLToPath(new URL('./queue-consumer.ts', import.meta.url)), {
    env: {
      ...process.env,
      BENCH_CONTENDER: contender,
      BENCH_REDIS_PORT: String(server.port),
      ...(emulator ? { BENCH_SQS_ENDPOINT: emulator.endpoint } : {}),
    },
    // tsx, as this process was started; BENCH_PROFILE=<dir> writes each consumer's CPU profile there.
    execArgv: [
      ...process.execArgv,
      ...(process.env.BENCH_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
        : []),
    ],
  });
  const box = mailbox();
  child.on('message', (message: FromConsumer) => box.put(message));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) throw new Error(`${contender} consumer exited with ${code}`);
  });
  const ready = await box.next();
  if (ready.type !== 'ready') throw new Error(`${contender} consumer did not start`);
  return { next: box.next, send: (message) => child.send(message), exited };
}

/**
 * The memory row's consumer: the same worker, in this process, on the queue its dispatcher
 * enqueues to. Its CPU is this process's, so `round` counts it with the dispatching side's.
 */
function inProcessConsumer(): Consumer {
  const client = new Redis(server.url);
  const prefix = LOOPWORK_PREFIX('loopwork-memory');
  const box = mailbox();
  let acked = 0;
  let target = Number.POSITIVE_INFINITY;
  const worker = startLoopworkWorker({
    queue: memoryQueue,
    runs: createRedisRunStore({ client, prefix }),
    onAck() {
      acked++;
      if (acked === target) box.put({ type: 'done', cpuMicros: Number.NaN });
    },
  });
  let stopped: () => void = () => {};
  const exited = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  return {
    next: box.next,
    send(message) {
      if (message.type === 'expect') {
        acked = 0;
        target = message.total;
      } else
        void worker.stop().then(() => {
          client.disconnect();
          stopped();
        });
    },
    exited,
  };
}

/** Redis commands run per calls (client commands and those inside Lua scripts), from INFO. */
/** Calls and server µs (`usec`) by command, from `INFO commandstats`. */
async function commandCounts(): Promise<Map<string, { calls: number; usec: number }>> {
  const info = await admin.info('commandstats');
  const counts = new Map<string, { calls: number; usec: number }>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
    counts.set(match[1] as string, { calls: Number(match[2]), usec: Number(match[3]) });
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
  /** For an in-process contender: the whole process (dispatching and consuming) over the round. */
  producerCpuMicros: number;
  /** NaN for an in-process contender (counted in producerCpuMicros). */
  consumerCpuMicros: number;
  redisCpuMicros: number;
  /** CPU of the SQS emulator per task (NaN for the other rows). */
  emulatorCpuMicros: number;
  commands: Map<string, number>;
  /** Server µs per task by command; a script's (evalsha) includes the commands it runs. */
  commandMicros: Map<string, number>;
  /** SQS API calls per task, both sides, by command (empty for the other rows). */
  apiCalls: Map<string, number>;
}

/** One round: announce the total, dispatch `tasks` with IN_FLIGHT in flight, wait for the last ack. */
async function round(contender: Contender, worker: Consumer, tasks: number): Promise<Sample> {
  const produce = producer(contender);
  producerApiCalls.clear();
  const before = await commandCounts();
  const cpuBefore = await redisCpuSeconds();
  const emulatorBefore = emulator?.cpuSeconds() ?? Number.NaN;
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
  let { user, system } = process.cpuUsage(producerCpu);
  const report = await done;
  const finished = performance.now();
  if (IN_PROCESS.has(contender)) ({ user, system } = process.cpuUsage(producerCpu));
  const emulatorAfter = emulator?.cpuSeconds() ?? Number.NaN;
  const cpuAfter = await redisCpuSeconds();
  const after = await commandCounts();
  await produce.close();
  if (report.type !== 'done') throw new Error(`unexpected message from ${contender}`);
  const commands = new Map<string, number>();
  const commandMicros = new Map<string, number>();
  for (const [name, { calls, usec }] of after) {
    const delta = calls - (before.get(name)?.calls ?? 0);
    if (delta > 0 && name !== 'info') {
      commands.set(name, delta / tasks);
      commandMicros.set(name, (usec - (before.get(name)?.usec ?? 0)) / tasks);
    }
  }
  const apiCalls = new Map<string, number>();
  for (const [name, calls] of [...producerApiCalls, ...Object.entries(report.apiCalls ?? {})]) {
    apiCalls.set(name, (apiCalls.get(name) ?? 0) + calls / tasks);
  }
  return {
    tasksPerSecond: tasks / ((finished - started) / 1000),
    dispatchPerSecond: tasks / ((dispatched - started) / 1000),
    producerCpuMicros: (user + system) / tasks,
    consumerCpuMicros: report.cpuMicros / tasks,
    redisCpuMicros: ((cpuAfter - cpuBefore) * 1e6) / tasks,
    emulatorCpuMicros:
      contender === 'loopwork-sqs' ? ((emulatorAfter - emulatorBefore) * 1e6) / tasks : Number.NaN,
    commands,
    commandMicros,
    apiCalls,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

console.log(
  `bench:queue: ${TASKS} tasks per round, ${ROUNDS} rounds per contender (taking turns), ` +
    `consumers in their own process at concurrency ${CONCURRENCY}, ${IN_FLIGHT} dispatches in flight, ` +
    `redis-server ${server.url} (private, no persistence)` +
    (emulator
      ? `; SQS: a standard queue on the fauxqs emulator (${emulator.endpoint}, its own process on ` +
        'loopback: its absolute numbers say nothing about AWS)'
      : ''),
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
await Promise.all([...consumers.values()].map((worker) => worker.exited));

const rate = (contender: Contender) => {
  const all = samples.get(contender);
  return all ? median(all.map((sample) => sample.tasksPerSecond)) : Number.NaN;
};
const bare = rate('bare');
const bull = rate('bullmq');
const pad = (text: string, width: number) => text.padEnd(width);
const num = (value: number, width: number, digits = 0) =>
  (Number.isNaN(value) ? '–' : value.toFixed(digits)).padStart(width);
console.log(
  `\n${pad('contender', 38)} ${'tasks/s'.padStart(8)} ${'min–max'.padStart(13)} ${'dispatch/s'.padStart(10)}` +
    ` ${'÷ bare'.padStart(7)} ${'÷ BullMQ'.padStart(8)} ${'disp µs'.padStart(7)} ${'worker µs'.padStart(9)} ${'redis µs'.padStart(8)} ${'cmds'.padStart(5)} ${'emu µs'.padStart(6)}`,
);
for (const contender of CONTENDERS) {
  const all = samples.get(contender)!;
  const rates = all.map((sample) => sample.tasksPerSecond);
  const mid = rate(contender);
  const commands = median(all.map((s) => [...s.commands.values()].reduce((a, b) => a + b, 0)));
  console.log(
    `${pad(LABELS[contender], 38)} ${num(mid, 8)} ${`${num(Math.min(...rates), 6)}–${num(Math.max(...rates), 6).trim()}`.padStart(13)}` +
      ` ${num(median(all.map((s) => s.dispatchPerSecond)), 10)} ${num(mid / bare, 6, 2)}× ${num(mid / bull, 7, 2)}×` +
      ` ${num(median(all.map((s) => s.producerCpuMicros)), 7)} ${num(median(all.map((s) => s.consumerCpuMicros)), 9)} ${num(median(all.map((s) => s.redisCpuMicros)), 8)} ${num(commands, 5, 1)}` +
      ` ${num(median(all.map((s) => s.emulatorCpuMicros)), 6)}`,
  );
}
if (CONTENDERS.some((contender) => IN_PROCESS.has(contender))) {
  console.log(
    `  (${LABELS['loopwork-memory']}: dispatcher and worker share the benchmark's process; ` +
      'disp µs is that process over the whole round)',
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
console.log(
  '\nRedis server µs per task by command (INFO commandstats usec; a script, evalsha, includes the ' +
    'commands it runs), last round:',
);
for (const contender of CONTENDERS) {
  const last = samples.get(contender)!.at(-1)!;
  const list = [...last.commandMicros]
    .sort((a, b) => b[1] - a[1])
    .filter(([, micros]) => micros >= 0.05)
    .map(([name, micros]) => `${name} ${micros.toFixed(1)}`)
    .join(', ');
  console.log(`  ${pad(LABELS[contender], 38)} ${list}`);
}
if (emulator) {
  const last = samples.get('loopwork-sqs')!.at(-1)!;
  const list = [...last.apiCalls]
    .sort((a, b) => b[1] - a[1])
    .map(([name, perTask]) => `${name} ${perTask.toFixed(2)}`)
    .join(', ');
  console.log(`\nSQS API calls per task (dispatching and consuming side), last round:\n  ${list}`);
}
const headline = rate('loopwork');
console.log(
  `\nloopwork ÷ bare ioredis: ${(headline / bare).toFixed(2)}× (goal ≥ 0.70×); ` +
    `loopwork ÷ BullMQ: ${(headline / bull).toFixed(2)}× (goal > 1.00×)`,
);
await emulator?.stop();
await server.stop();
