/**
 * Tasks per second on PostgreSQL, in one run on one server: loopwork's Postgres queue alone
 * (enqueue → claim up to 50 → ack), loopwork's worker on the Postgres queue and run store
 * (dispatch → worker at concurrency 50 → no-op → run completed), and pg-boss 10.4.2 (send →
 * `work` with batchSize 50 → no-op), the anchor for Node 20. Producer and consumer share this
 * process, 50 sends in flight, each contender in its own fresh schema; the median of the rounds
 * is printed with its ratio to pg-boss. Figures depend on the machine and its load: compare the
 * ratios, not the absolute numbers.
 *
 * Run: `npm run bench:postgres` (BENCH_TASKS, BENCH_ROUNDS; LOOPWORK_PG_URL as the tests).
 */
import { createDispatcher, createWorker, defineTask, handleTask } from 'loopwork';
import { createPostgresQueue, createPostgresRunStore, migrate } from 'loopwork/postgres';
import PgBoss from 'pg-boss';
import { z } from 'zod';
import { freshSchema } from '../examples/postgres/local-postgres';

const TASKS = Number(process.env.BENCH_TASKS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IN_FLIGHT = 50;

/** Calls `send(i)` for i < TASKS with IN_FLIGHT calls at once. */
async function produce(send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < TASKS) await send(next++);
    }),
  );
}

type Contender = () => Promise<number>;

/** loopwork's Postgres queue alone: enqueue, claim in batches of 50, ack. */
const queueAlone: Contender = async () => {
  const { pool, schema, drop } = await freshSchema('lw_bench');
  try {
    await migrate({ pool, schema });
    const queue = createPostgresQueue({ pool, schema });
    const started = performance.now();
    let acked = 0;
    const consumer = (async () => {
      while (acked < TASKS) {
        const batch = await queue.claim(['bench'], {
          consumer: 'bench',
          leaseMs: 30_000,
          max: 50,
          waitMs: 1_000,
        });
        await Promise.all(batch.map((message) => queue.ack(message)));
        acked += batch.length;
      }
    })();
    await produce((i) => queue.enqueue('bench', JSON.stringify({ i })));
    await consumer;
    const seconds = (performance.now() - started) / 1_000;
    await queue.close();
    return TASKS / seconds;
  } finally {
    await drop();
  }
};

/** loopwork's dispatcher and worker on the Postgres queue and run store. */
const withRunStore: Contender = async () => {
  const { pool, schema, drop } = await freshSchema('lw_bench');
  try {
    await migrate({ pool, schema });
    const queue = createPostgresQueue({ pool, schema });
    const runs = createPostgresRunStore({ pool, schema });
    const task = defineTask({ type: 'noop', payload: z.object({ i: z.number() }) });
    const dispatcher = createDispatcher({ queue, runs });
    let done = 0;
    let finish: () => void = () => {};
    const all = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const worker = createWorker({
      queue,
      runs,
      concurrency: 50,
      handlers: [handleTask(task, async () => 'ok')],
    });
    worker.on('completed', () => {
      if (++done === TASKS) finish();
    });
    const started = performance.now();
    const working = worker.run();
    await produce((i) => dispatcher.dispatch(task, { i }));
    await all;
    const seconds = (performance.now() - started) / 1_000;
    await worker.stop();
    await working;
    await queue.close();
    return TASKS / seconds;
  } finally {
    await drop();
  }
};

/** pg-boss 10.4.2: send, and `work` in batches of 50 (its shortest polling interval, 0.5 s). */
const pgBoss: Contender = async () => {
  const { pool, schema, url, drop } = await freshSchema('lw_bench');
  const boss = new PgBoss({ connectionString: url, schema, max: 10 });
  boss.on('error', () => {});
  try {
    await boss.start();
    await boss.createQueue('bench');
    let done = 0;
    let finish: () => void = () => {};
    const all = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const started = performance.now();
    await boss.work('bench', { batchSize: 50, pollingIntervalSeconds: 0.5 }, async (jobs) => {
      done += jobs.length;
      if (done >= TASKS) finish();
    });
    await produce((i) => boss.send('bench', { i }));
    await all;
    const seconds = (performance.now() - started) / 1_000;
    return TASKS / seconds;
  } finally {
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
    await pool.query(`drop schema if exists "${schema}" cascade`).catch(() => {});
    await drop();
  }
};

const contenders: Array<[string, Contender]> = [
  ['pg-boss 10.4.2 send + work (batch 50)', pgBoss],
  ['loopwork/postgres queue alone', queueAlone],
  ['loopwork/postgres queue + run store (worker)', withRunStore],
];
const results = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of contenders) {
    const rate = await run();
    results.set(name, [...(results.get(name) ?? []), rate]);
    console.log(`round ${round + 1}: ${name}: ${rate.toFixed(0)} tasks/s`);
  }
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const baseline = median(results.get(contenders[0]![0])!);
console.log(`\n${TASKS} tasks, median of ${ROUNDS} rounds:`);
console.log('| contender | tasks/s | vs pg-boss |\n| --- | --- | --- |');
for (const [name] of contenders) {
  const rate = median(results.get(name)!);
  console.log(`| ${name} | ${rate.toFixed(0)} | ${(rate / baseline).toFixed(2)}× |`);
}
