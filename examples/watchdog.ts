/**
 * A worker dies mid-run: its lease runs out and another worker takes the run over from its last
 * checkpoint. Then a run whose message was lost: the watchdog enqueues it again.
 *
 * 1. Worker A is dropped inside the agent's second tool call (`abandon()`: no ack, no release,
 *    its renewals and heartbeats stop, as if the process were killed). After its lease (300 ms
 *    here, 10 s by default) the queue delivers the message again; worker B sees the run still
 *    `running` from that very message, so its holder died: B takes it over as attempt 2 and
 *    resumes from the checkpoint. `migrate` does not run again; the interrupted `notify` does,
 *    with the same idempotency key.
 * 2. A run recorded without a message (a dispatcher that died between the two writes). The
 *    watchdog finds it `queued` for longer than `queuedTimeoutMs` and enqueues it again; worker B
 *    runs it. The model is scripted (offline).
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
const dispatcher = createDispatcher({ queue, runs, events });

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
  maxAttempts: 3, // attempts a run may start: its first, retries, and take-overs after a crash
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
    leaseMs: 300, // production: seconds (default 10 s)
    handlers: [assistant.handler],
  });

// --- 1. a worker dies: the lease brings the run to another worker ---
const { runId } = await dispatcher.dispatch(assistant.task, { prompt: 'Release v2.' });
const workerA = worker('worker-a');
dropDuringNotify = workerA;
console.log(`worker-a: ${await workerA.runOnce()} (dropped inside "notify")`);
const orphaned = await runs.get(runId);
console.log(`run: ${orphaned?.status}, attempt ${orphaned?.attempt}, worker ${orphaned?.workerId}`);

const workerB = worker('worker-b');
const outcome = await workerB.runOnce({ waitMs: 2_000 }); // waits out worker A's lease
const finished = await runs.get(runId);
console.log(`worker-b: ${outcome}; run ${finished?.status} as attempt ${finished?.attempt}`);
for (const { data } of await events.read(runId)) {
  const { type, status, resumed } = data as Record<string, unknown>;
  if (type === 'run-started') console.log(`  event run-started (resumed: ${resumed})`);
  if (type === 'task-finished') console.log(`  event task-finished (${status})`);
}
for (const line of executed) console.log(`executed ${line}`);

// --- 2. a run with no message: the watchdog enqueues it again ---
const watchdog = createWatchdog({
  runs,
  heartbeats,
  dispatcher,
  events,
  tasks: [assistant.task],
  queuedTimeoutMs: 200, // production: minutes (default 5), longer than a queue wait
});
const now = Date.now();
await runs.create({
  runId: 'lost-message',
  taskType: assistant.task.type,
  status: 'queued',
  payload: { prompt: 'Release v3.' },
  attempt: 0,
  maxAttempts: assistant.task.maxAttempts,
  version: 1,
  queuedAt: now,
  updatedAt: now,
});
await sleep(250);
console.log(`watchdog.check(): ${JSON.stringify(await watchdog.check())}`);
console.log(`worker-b: ${await workerB.runOnce({ waitMs: 1_000 })}`);
const rescued = await runs.get('lost-message');
console.log(`lost-message: ${rescued?.status}, output "${rescued?.output}"`);

if (
  outcome !== 'completed' ||
  finished?.attempt !== 2 ||
  executed.filter((e) => e.startsWith('migrate')).length !== 2 || // one per run
  rescued?.status !== 'completed'
) {
  process.exitCode = 1;
}
