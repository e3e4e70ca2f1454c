// A Postgres restart mid-run: a private server (the shared one is not ours to restart) is stopped
// at once, as in a crash, while tasks run, and started again a second later. The workers, the
// queue's LISTEN connection and a follower of a run's events must carry on by themselves: every
// task completes, the tasks dispatched after the restart too (so the idle workers woke up again),
// and the follower sees the events appended after the restart.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createDispatcher,
  createWorker,
  defineTask,
  handleTask,
  type LoggedEvent,
  type RunStore,
  type Worker,
} from 'loopwork';
import {
  createPostgresEventLog,
  createPostgresHeartbeatStore,
  createPostgresQueue,
  createPostgresRunStore,
  migrate,
} from 'loopwork/postgres';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { type PrivatePostgres, startPrivatePostgres } from '../../helpers/postgres';

let server: PrivatePostgres;
let pool: pg.Pool;
const workers: Worker[] = [];
beforeAll(async () => {
  server = await startPrivatePostgres();
  pool = new pg.Pool({ connectionString: server.url, max: 12 });
  pool.on('error', () => {}); // idle connections break on the restart; the pool replaces them
  await migrate({ pool, schema: 'lw_restart' });
});
afterAll(async () => {
  for (const worker of workers) worker.abandon();
  await pool?.end();
  server?.stop();
});

/** Polls until `probe` is truthy, swallowing errors while the server is away. */
async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const completed = async (runs: RunStore, ids: string[]) => {
  const records = await Promise.all(ids.map((id) => runs.get(id)));
  return records.filter((record) => record?.status === 'completed').length;
};

it('workers, LISTEN and follow() carry on by themselves after Postgres restarts mid-run', {
  timeout: 120_000,
}, async () => {
  const schema = 'lw_restart';
  const queue = createPostgresQueue({ pool, schema });
  const runs = createPostgresRunStore({ pool, schema });
  const events = createPostgresEventLog({ pool, schema });
  const heartbeats = createPostgresHeartbeatStore({ pool, schema });
  const task = defineTask({ type: 'nap', payload: z.object({ n: z.number() }), maxAttempts: 5 });
  const dispatcher = createDispatcher({ queue, runs, events });
  for (let w = 0; w < 2; w++) {
    const worker = createWorker({
      queue,
      runs,
      events,
      heartbeats,
      id: `w${w}`,
      concurrency: 3,
      leaseMs: 1_500,
      onError: () => {}, // the outage's connection errors; the outcome is what is checked
      handlers: [
        handleTask(task, async ({ n }) => {
          await sleep(60);
          return { n };
        }),
      ],
    });
    workers.push(worker);
    void worker.run();
  }

  const before = Array.from({ length: 40 }, (_, i) => `before-${i}`);
  const followed = before.at(-1)!;
  const seen: LoggedEvent[] = [];
  const stopFollowing = new AbortController();
  const following = (async () => {
    for await (const event of events.follow(followed, { signal: stopFollowing.signal })) {
      seen.push(event);
      if ((event.data as { type?: string }).type === 'task-finished') stopFollowing.abort();
    }
  })();

  for (const [n, runId] of before.entries()) await dispatcher.dispatch(task, { n }, { runId });
  await waitFor(async () => (await completed(runs, before)) >= 5, 'the first runs to complete');
  const doneAtRestart = await completed(runs, before);
  await server.restart({ downMs: 1_000 });
  // The restart really came mid-run (else this test would prove nothing).
  expect(doneAtRestart).toBeLessThan(before.length);
  await waitFor(async () => (await completed(runs, before)) === before.length, 'every run before');

  // The workers are idle now, waiting on a LISTEN connection the restart broke and replaced.
  const after = Array.from({ length: 10 }, (_, i) => `after-${i}`);
  for (const [n, runId] of after.entries()) await dispatcher.dispatch(task, { n }, { runId });
  await waitFor(async () => (await completed(runs, after)) === after.length, 'every run after');

  await following;
  expect(seen.map((event) => (event.data as { type?: string }).type)).toContain('task-finished');
  expect(seen.map((event) => event.id)).toEqual([...new Set(seen.map((event) => event.id))]);
  const records = await Promise.all([...before, ...after].map((id) => runs.get(id)));
  expect(records.map((record) => record?.status)).toEqual(
    Array(before.length + after.length).fill('completed'),
  );
  await Promise.all(workers.map((worker) => worker.stop({ graceMs: 1_000 })));
  await queue.close();
});
