/**
 * loopwork on the Postgres an application already runs: `migrate()` into a schema of its own,
 * an order and its `ship` task written in one transaction (a second order rolls back, and leaves
 * neither a run nor a message), a worker on the Postgres queue and stores, and the run's events
 * followed live through `LISTEN/NOTIFY`. CI runs it: without `LOOPWORK_PG_URL` it uses the
 * server on 127.0.0.1:5432, or starts a private one (see local-postgres.ts), and drops its schema.
 *
 * Run: `npx tsx examples/postgres/demo.ts`
 */
import { createDispatcher, createWorker, defineTask, handleTask } from 'loopwork';
import {
  createPostgresEventLog,
  createPostgresHeartbeatStore,
  createPostgresQueue,
  createPostgresRunStore,
  migrate,
} from 'loopwork/postgres';
import { z } from 'zod';
import { freshSchema } from './local-postgres';

const { pool, schema, drop } = await freshSchema('lw_demo');
let failed = false;
try {
  console.log('migrate:', JSON.stringify(await migrate({ pool, schema })));
  await pool.query(`create table "${schema}".orders (id text primary key, item text)`);

  const ship = defineTask({
    type: 'ship',
    queue: 'orders',
    payload: z.object({ orderId: z.string(), item: z.string() }),
  });

  /** The application's own write and the dispatch, committed (or rolled back) together. */
  async function placeOrder(orderId: string, item: string, paid: boolean) {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(`insert into "${schema}".orders values ($1, $2)`, [orderId, item]);
      const dispatcher = createDispatcher({
        queue: createPostgresQueue({ pool: client, schema }),
        runs: createPostgresRunStore({ pool: client, schema }),
      });
      const { runId } = await dispatcher.dispatch(
        ship,
        { orderId, item },
        { runId: `ship-${orderId}` },
      );
      await client.query(paid ? 'commit' : 'rollback');
      return runId;
    } finally {
      client.release();
    }
  }
  const kept = await placeOrder('o-1', 'teapot', true);
  const dropped = await placeOrder('o-2', 'kettle', false);

  const queue = createPostgresQueue({ pool, schema });
  const runs = createPostgresRunStore({ pool, schema });
  const events = createPostgresEventLog({ pool, schema });
  const worker = createWorker({
    queue,
    runs,
    events,
    heartbeats: createPostgresHeartbeatStore({ pool, schema }),
    handlers: [
      handleTask(ship, async ({ orderId, item }) => ({ shipped: `${item} for ${orderId}` })),
    ],
  });
  const working = worker.run();

  console.log(`\nevents of ${kept}, followed live:`);
  const stop = new AbortController();
  for await (const event of events.follow(kept, { signal: stop.signal })) {
    const data = event.data as { type: string; status?: string };
    console.log(`  ${event.id}  ${data.type}${data.status ? ` ${data.status}` : ''}`);
    if (data.type === 'task-finished') stop.abort();
  }
  await worker.stop();
  await working;
  await queue.close();

  const record = await runs.get(kept);
  console.log(`\n${kept}: ${record?.status}, output ${JSON.stringify(record?.output)}`);
  console.log(`${dropped} (rolled back): ${(await runs.get(dropped))?.status ?? 'no run'}`);
  failed = record?.status !== 'completed' || (await runs.get(dropped)) !== undefined;
} finally {
  await drop();
}
if (failed) process.exitCode = 1;
