/**
 * A worker in job mode: claim one task, run it, exit with a code that says how it ended. For
 * schedulers that start a process per task (Kubernetes Jobs, ECS tasks, Cloud Run jobs, cron).
 *
 * Outcome of `worker.runOnce()` → exit code (`JOB_EXIT_CODES`):
 *
 *   completed        0  the task ran to the end (its output is on the run record)
 *   max_turns        0  an agent task stopped at its turn limit
 *   budget_exceeded  0  an agent task stopped at a budget
 *   waiting_input    0  an agent task suspended; a dispatch with its answers continues it
 *   duplicate        0  a leftover delivery of a run that has moved on; acked and dropped
 *   idle             0  nothing to claim within `waitMs`
 *   failed           1  failed for good (attempts spent, or an error retrying cannot fix)
 *   dead_lettered    2  malformed message, unknown task type, invalid payload, too many deliveries
 *   retrying         3  this attempt failed; released with backoff for another attempt
 *   interrupted      4  stopped by SIGTERM/SIGINT after the grace period; handed back to the queue
 *   lease_lost       5  the lease ran out (the process stalled); another worker has the task now
 *   cancelled        6  cancelled from another process (`dispatcher.cancel`)
 *   timed_out        7  its last attempt ran past the task's timeoutMs
 *   error           75  a store or the queue failed; the message is left for another try
 *
 * Self-contained so CI can run it: it dispatches one task onto an in-memory queue first, then
 * runs the job worker in the same process. In production the queue and stores are shared (Redis,
 * SQS …) and the dispatcher is another process. Run: `npx tsx examples/worker-job.ts`
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
  JOB_EXIT_CODES,
  stopOnSignals,
} from 'loopwork';
import { z } from 'zod';

// Shared by dispatchers and workers: the payload schema, routing, timeout and retry policy.
const resizeImages = defineTask({
  type: 'resize-images',
  payload: z.object({ album: z.string(), widths: z.array(z.number().int().positive()).min(1) }),
  timeoutMs: 10 * 60_000, // a longer run is aborted and counts as a failed attempt
  maxAttempts: 3,
  retryBackoff: { minDelayMs: 5_000, maxDelayMs: 60_000 },
});

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();

// Elsewhere (an API handler, a cron job), a dispatcher validates the payload and enqueues it.
const { runId } = await createDispatcher({ queue, runs }).dispatch(resizeImages, {
  album: 'summer-2026',
  widths: [320, 1280],
});

// The job itself: one process, one task.
const worker = createWorker({
  queue,
  runs,
  events,
  handlers: [
    handleTask(resizeImages, async ({ album, widths }, { emit, signal }) => {
      for (const width of widths) {
        await sleep(20, undefined, { signal }); // the real work; stops when the signal aborts
        emit({ type: 'progress', album, width }); // appended to the run's event log
      }
    }),
  ],
  shutdownGraceMs: 20_000, // on SIGTERM the task gets this long to finish, then it is released
});
stopOnSignals(worker); // SIGTERM / SIGINT: graceful stop (a second signal exits at once)

const outcome = await worker.runOnce({ waitMs: 10_000 });
for (const { data } of await events.read(runId)) console.log('event', JSON.stringify(data));
console.log(`run ${runId} is ${(await runs.get(runId))?.status}`);
console.log(`outcome ${outcome} → exit code ${JOB_EXIT_CODES[outcome]}`);
process.exit(JOB_EXIT_CODES[outcome]);
