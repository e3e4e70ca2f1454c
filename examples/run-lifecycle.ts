/**
 * What users of a job system look at: each run's status, result, attempts and error on its run
 * record; cancelling a run from another process; listing runs.
 *
 * Four runs of one task type: one completes with an output, one fails twice and succeeds on its
 * third attempt, one is cancelled while queued (it never starts), one while running (its signal
 * aborts at the worker's next lease renewal). Then the records, newest first, and the failures.
 * Run: `npx tsx examples/run-lifecycle.ts`
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createWorker,
  defineTask,
  handleTask,
  outcome,
} from 'loopwork';
import { z } from 'zod';

const crawl = defineTask({
  type: 'crawl',
  payload: z.object({ url: z.string().url(), flaky: z.number().int().optional() }),
  maxAttempts: 3,
  retryBackoff: { minDelayMs: 50, maxDelayMs: 200 },
});

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const dispatcher = createDispatcher({ queue, runs, events });

const worker = createWorker({
  queue,
  runs,
  events,
  leaseMs: 300, // renewed (and checked for cancels) every 100 ms; 10 s by default
  handlers: [
    handleTask(crawl, async ({ url, flaky = 0 }, { attempt, signal }) => {
      if (attempt <= flaky) throw new Error(`${url} answered 503`);
      for (let page = 1; page <= 5; page++) {
        await sleep(60, undefined, { signal }); // rejects when the run is cancelled
      }
      // The returned value is the run's output; outcome() adds usage, cost or another status.
      return outcome({ status: 'completed', output: { url, pages: 5 }, costUsd: 0.002 });
    }),
  ],
});
worker
  .on('retrying', (run, error, delayMs) =>
    console.log(
      `retrying ${run.runId} after attempt ${run.attempt} (${error.message}) in ${delayMs} ms`,
    ),
  )
  .on('cancelled', (run) => console.log(`cancelled ${run.runId}: ${run.error?.message}`));

await dispatcher.dispatch(crawl, { url: 'https://example.com/a' }, { runId: 'crawl-a' });
await dispatcher.dispatch(crawl, { url: 'https://example.com/b', flaky: 2 }, { runId: 'crawl-b' });
await dispatcher.dispatch(crawl, { url: 'https://example.com/c' }, { runId: 'crawl-c' });
// From anywhere (an API handler, another process): a queued run ends at once, never starts.
console.log('cancel crawl-c:', JSON.stringify(await dispatcher.cancel('crawl-c', 'not needed')));

const working = worker.run();
await dispatcher.dispatch(crawl, { url: 'https://example.com/d' }, { runId: 'crawl-d' });
while ((await runs.get('crawl-d'))?.status !== 'running') await sleep(10);
// A running run: its worker aborts it at its next lease renewal.
console.log('cancel crawl-d:', JSON.stringify(await dispatcher.cancel('crawl-d', 'user left')));

const ended = ['crawl-a', 'crawl-b', 'crawl-c', 'crawl-d'];
const open = async (runId: string) =>
  ['queued', 'running'].includes(`${(await runs.get(runId))?.status}`);
for (const runId of ended) while (await open(runId)) await sleep(20);
await worker.stop();
await working;

console.log('\nruns, newest first:');
const { runs: all } = await runs.list({ taskType: 'crawl' });
for (const run of all) {
  const took = run.finishedAt !== undefined ? `${run.finishedAt - run.queuedAt} ms` : '-';
  const result = run.output === undefined ? run.error?.message : JSON.stringify(run.output);
  console.log(
    `  ${run.runId} ${run.status}, attempt ${run.attempt}/${run.maxAttempts}, ${took}: ${result}`,
  );
}
const { runs: cancelled } = await runs.list({ status: 'cancelled' });
console.log(`cancelled: ${cancelled.map((run) => run.runId).join(', ')}`);

const statuses = await Promise.all(ended.map(async (runId) => (await runs.get(runId))?.status));
const expected = ['completed', 'completed', 'cancelled', 'cancelled'];
if (JSON.stringify(statuses) !== JSON.stringify(expected)) process.exitCode = 1;
