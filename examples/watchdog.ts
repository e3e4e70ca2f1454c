/**
 * A worker dies mid-run; the watchdog notices, and another worker finishes the run from its
 * last checkpoint.
 *
 * Worker A is dropped inside the agent's second tool call (`abandon()`: no ack, no release, its
 * heartbeats stop, as if the process were killed). Its lease is long, so the queue alone would
 * redeliver the task only much later. The watchdog finds the run `running` for longer than
 * `runningTimeoutMs` with no live `run:<runId>` heartbeat, marks it failed with the reason and,
 * within the task's `maxAttempts`, re-dispatches it as attempt 2. Worker B resumes it from the
 * checkpoint: `migrate` does not run again; the interrupted `notify` does, with the same
 * idempotency key. The model is scripted (offline).
 * Run: `npx tsx examples/watchdog.ts`
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  agentTask,
  createDispatcher,
  createMemoryEventLog,
  createMemoryHeartbeatStore,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWatchdog,
  createWorker,
  defineTool,
  type Worker,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { z } from 'zod';

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const heartbeats = createMemoryHeartbeatStore();
const dispatcher = createDispatcher({ queue, runs });

const executed: string[] = [];
let dropDuringNotify: Worker | undefined; // the worker that "dies" inside the notify tool
const step = (name: string) =>
  defineTool({
    name,
    description: `Runs the ${name} step of a release.`,
    input: z.object({}),
    execute: async (_input, { idempotencyKey }) => {
      executed.push(`${name} (key ${idempotencyKey})`);
      if (name === 'notify' && dropDuringNotify) {
        dropDuringNotify.abandon();
        dropDuringNotify = undefined;
      }
      return `${name} done`;
    },
  });
const assistant = agentTask({
  type: 'release',
  checkpoints: createMemorySessionStore(),
  maxAttempts: 3, // deliveries per message, and attempts the watchdog may start, per run
  agent: {
    tools: [step('migrate'), step('notify')],
    model: new ScriptedModel({
      turns: (request) => {
        const done = request.messages.filter((message) => message.role === 'tool').length;
        const next = ['migrate', 'notify'][done];
        return next ? { toolCalls: [{ name: next, input: {} }] } : { text: 'Released.' };
      },
    }),
  },
});
const worker = (id: string) =>
  createWorker({
    id,
    queue,
    runs,
    events,
    heartbeats, // `run:<runId>` while a run is in progress, every heartbeatTtlMs / 3
    heartbeatTtlMs: 300,
    leaseMs: 60_000,
    handlers: [assistant.handler],
  });
const watchdog = createWatchdog({
  runs,
  heartbeats,
  dispatcher,
  events,
  tasks: [assistant.task],
  runningTimeoutMs: 500, // production: minutes (default 15), well above heartbeatTtlMs
});

const { runId } = await dispatcher.dispatch(assistant.task, { prompt: 'Release v2.' });
const workerA = worker('worker-a');
dropDuringNotify = workerA;
console.log(`worker-a: ${await workerA.runOnce()} (dropped inside "notify"; its lease is kept)`);

await sleep(600); // past heartbeatTtlMs and runningTimeoutMs
const stale = await runs.get(runId);
const beat = await heartbeats.get(`run:${runId}`);
console.log(
  `stale: status ${stale?.status}, worker ${stale?.workerId}, untouched for ` +
    `${Date.now() - (stale?.updatedAt ?? 0)} ms, heartbeat ${beat ? 'alive' : 'expired'}`,
);

console.log(`watchdog.check(): ${JSON.stringify(await watchdog.check())}`);
const requeued = await runs.get(runId);
console.log(`run: ${requeued?.status}, attempt ${requeued?.attempt}, reason "${requeued?.reason}"`);

const outcome = await worker('worker-b').runOnce({ waitMs: 1_000 });
console.log(`worker-b: ${outcome}`);
for (const { data } of await events.read(runId)) {
  const { type, attempt, status, resumed } = data as Record<string, unknown>;
  if (type === 'run-started') console.log(`  event run-started (resumed: ${resumed})`);
  if (type === 'task-retried') console.log(`  event task-retried (attempt ${attempt})`);
  if (type === 'task-finished') console.log(`  event task-finished (${status})`);
}
for (const line of executed) console.log(`executed ${line}`);
if (outcome !== 'completed' || executed.filter((e) => e.startsWith('migrate')).length !== 1) {
  process.exitCode = 1;
}
