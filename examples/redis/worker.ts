/**
 * Redis example, part 2 of 3: a worker process running agent tasks, four at a time, plus the
 * watchdog that re-dispatches runs whose worker died. Start as many as you like; a task whose
 * worker is killed is delivered again once its lease runs out and resumes from its checkpoint.
 * Stops gracefully on SIGTERM / Ctrl-C.
 *
 * Run: `LOOPWORK_PREFIX=my-try npx tsx examples/redis/worker.ts`
 */
import { createWatchdog, createWorker, stopOnSignals } from 'loopwork';
import { connect, prefix } from './app';

const { client, queue, runs, events, heartbeats, dispatcher, assistant } = connect();
const worker = createWorker({
  queue,
  runs,
  events,
  heartbeats,
  handlers: [assistant.handler],
  concurrency: 4,
  leaseMs: 30_000, // renewed every 10 s while a task runs
});
const watchdog = createWatchdog({ runs, heartbeats, dispatcher, events, tasks: [assistant.task] });

stopOnSignals(worker);
watchdog.start();
// The same client under the queue and the stores: the worker uses the queue's joint steps.
const joint = queue.jointWith?.(runs, { heartbeats, events });
if (!joint?.claimAndStart || !joint.beats || !joint.appendsEvents)
  throw new Error('expected the Redis queue to offer every joint step for stores on its client');
console.log(`ready: worker ${worker.id} on ${prefix} (joint steps: claim+start, end+ack+event)`);
await worker.run(); // until SIGTERM / SIGINT; running tasks finish first
watchdog.stop();
await queue.close();
await client.quit();
console.log('worker stopped');
