/**
 * What a waiting task costs a worker: 1,000 tasks running at once, each waiting (an agent waiting
 * on a slow model call), on one worker with the memory queue and stores, heartbeats and an event
 * log. Prints the heap and resident memory per task and the timers the worker holds per task.
 * Run with `npm run bench:idle` (node --expose-gc, so the heap is measured after a collection).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import {
  createDispatcher,
  createMemoryEventLog,
  createMemoryHeartbeatStore,
  createMemoryQueue,
  createMemoryRunStore,
  createWorker,
  defineTask,
  handleTask,
} from '../src/index';

const TASKS = Number(process.env.BENCH_TASKS ?? 1_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:idle does)');

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const heartbeats = createMemoryHeartbeatStore();
const job = defineTask({ type: 'wait', payload: z.object({ n: z.number() }), timeoutMs: 600_000 });

let release!: () => void;
const released = new Promise<void>((resolve) => {
  release = resolve;
});
let waiting = 0;
const worker = createWorker({
  queue,
  runs,
  events,
  heartbeats,
  concurrency: TASKS,
  handlers: [
    handleTask(job, async ({ n }, { emit }) => {
      emit({ type: 'waiting', n });
      waiting++;
      await released;
      return 'done';
    }),
  ],
});
const dispatcher = createDispatcher({ queue, runs, events });

/** Active handles of the process by kind (timers, sockets …), via the diagnostics API. */
const timers = () =>
  (process as unknown as { getActiveResourcesInfo(): string[] })
    .getActiveResourcesInfo()
    .filter((kind) => kind === 'Timeout').length;

const measure = () => {
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss, timers: timers() };
};

// The baseline is taken with every task dispatched and the worker not yet started: the run
// records and messages are there (they are kept either way), so the difference is what the
// worker holds for the tasks it runs.
for (let n = 0; n < TASKS; n++) await dispatcher.dispatch(job, { n });
const dispatched = measure();
const running = worker.run();
while (waiting < TASKS) await sleep(20);
await sleep(200);
const busy = measure();
release();
while ((await runs.list({ status: 'completed', limit: TASKS })).runs.length < TASKS)
  await sleep(20);
await worker.stop();
await running;

const per = (bytes: number) => `${(bytes / TASKS / 1024).toFixed(1)} KiB`;
console.log(
  `\n${TASKS} tasks waiting at once on one worker (memory queue and stores, heartbeats, event log)\n`,
);
console.log(`heap per waiting task:      ${per(busy.heapUsed - dispatched.heapUsed)}`);
console.log(`resident per waiting task:  ${per(busy.rss - dispatched.rss)}`);
console.log(
  `timers per waiting task:    ${((busy.timers - dispatched.timers) / TASKS).toFixed(2)}`,
);
