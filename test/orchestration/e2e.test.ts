// The headline test of the orchestration core (Promises 1, 2 and 4 of DESIGN.md): 200 agent tasks
// on 4 in-process workers, with workers dropped mid-task at random (seeded) and poison tasks.
import {
  type AgentTaskPayload,
  agentTask,
  createWatchdog,
  defineTool,
  isFinal,
  type ModelRequest,
  type RunRecord,
  type RunState,
  type SessionStore,
  type TaskHandler,
  type Worker,
} from 'loopwork';
import { parseEnvelope } from 'loopwork/adapter-kit';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { expectedTranscript, memorySetup, sleep, turnOf } from './helpers';

const TASKS = 200;
const WORKER_CONCURRENCY = [2, 3, 4, 3];
// A run dropped on a short-lease worker comes back through lease expiry (redelivery); one dropped
// on a long-lease worker is found first by the watchdog (runningTimeoutMs 700), which re-dispatches
// it. Renewals and heartbeats keep 300 ms of slack, so a busy CI machine does not make a healthy
// worker look dead (that would run a task twice at once, which this test would rightly flag).
const WORKER_LEASE_MS = [450, 1_200, 450, 1_200];
const HEARTBEAT_TTL_MS = 450;
const RUNNING_TIMEOUT_MS = 700;
/** A stall shorter than this cannot make a healthy worker look dead (renewals come every 150 ms). */
const STALL_SLACK_MS = 250;
const SEED = Number(process.env.LOOPWORK_E2E_SEED ?? 20_261_126);

/** mulberry32: a small seeded PRNG, so a failing crash pattern can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Plan {
  prompt: string;
  toolTurns: number;
  callsPerTurn: number;
  finalText: string;
  poison: boolean;
  /** Handler invocations (1-based) in which the worker is dropped, and at which action. */
  crashOn: (invocation: number) => number | undefined;
  /** Whether a drop at a tool call happens after it counted its execution, or before. */
  crashAfterEffect: boolean;
  delayMs: number;
}

function plans(random: () => number): Map<string, Plan> {
  const all = new Map<string, Plan>();
  for (let i = 0; i < TASKS; i++) {
    const toolTurns = random() < 0.5 ? 2 : 3;
    const callsPerTurn = random() < 0.3 ? 2 : 1;
    // Actions of an uninterrupted run: every model call and every tool execution.
    const actions = toolTurns + 1 + toolTurns * callsPerTurn;
    const at = 1 + Math.floor(random() * actions);
    const roll = random();
    const crashOn =
      roll < 0.12
        ? (n: number) => (n === 1 ? at : undefined) // dropped once
        : roll < 0.16
          ? (n: number) => (n <= 2 ? (n === 1 ? at : 1) : undefined) // dropped twice
          : roll < 0.18
            ? () => 1 // dropped on every delivery: never finishes
            : () => undefined;
    all.set(`run-${String(i).padStart(3, '0')}`, {
      prompt: `job ${i}`,
      toolTurns,
      callsPerTurn,
      finalText: `job ${i} finished`,
      poison: random() < 0.04,
      crashOn,
      crashAfterEffect: random() < 0.5,
      delayMs: Math.floor(random() * 3),
    });
  }
  return all;
}

/** Tool-call ids whose result a saved state holds. */
function resultIds(state: RunState): string[] {
  const ids = state.toolResults.map((result) => result.toolCallId);
  for (const message of state.messages)
    if (message.role === 'tool') ids.push(...message.content.map((result) => result.toolCallId));
  return ids;
}

it(`${TASKS} agent tasks on ${WORKER_CONCURRENCY.length} workers with crash injection: none lost, none stuck, no checkpointed tool call repeated`, async () => {
  const setup = memorySetup();
  const random = prng(SEED);
  const plan = plans(random);

  // --- bookkeeping of what really happened ---
  const executions = new Map<string, number>(); // tool calls by idempotency key
  const checkpointed = new Set<string>(); // idempotency keys whose result was saved
  const repeatedAfterCheckpoint: string[] = []; // executions of a key already checkpointed
  const inFlight = new Map<string, string>(); // idempotency key → worker executing it
  const interrupted = new Set<string>(); // keys in flight on a worker when it was dropped
  const runsOn = new Map<string, Set<string>>(); // worker → runs its handler is running
  const hitByCrash = new Set<string>(); // runs that were running on a dropped worker
  const stoppedRuns = new Set<string>(); // runs whose attempt was stopped: dropped, lease lost, superseded
  const deliveries = new Map<string, number>(); // run → its handler invocations running now
  const overlapped = new Set<string>(); // runs whose handler ran on two workers at once
  const invocations = new Map<string, number>();
  let crashes = 0;

  const checkpoints: SessionStore = {
    specificationVersion: setup.checkpoints.specificationVersion,
    load: (key) => setup.checkpoints.load(key),
    async save(key, state, expectedVersion) {
      const version = await setup.checkpoints.save(key, state, expectedVersion);
      for (const id of resultIds(state)) {
        checkpointed.add(`${key}:${id}`);
        inFlight.delete(`${key}:${id}`);
      }
      return version;
    },
    delete: (key) => setup.checkpoints.delete(key),
  };

  // --- the worker pool: a dropped worker is replaced at once, keeping four alive ---
  const pool = new Map<string, { worker: Worker; slot: number }>();
  const finished: Promise<void>[] = [];
  let nextId = 0;
  const spawn = (slot: number) => {
    const worker = setup.worker({
      id: `w${nextId++}`,
      handlers: [handler],
      concurrency: WORKER_CONCURRENCY[slot],
      leaseMs: WORKER_LEASE_MS[slot],
      heartbeatTtlMs: HEARTBEAT_TTL_MS,
      pollWaitMs: 50,
    });
    pool.set(worker.id, { worker, slot });
    finished.push(worker.run());
  };
  const crash = (workerId: string) => {
    const entry = pool.get(workerId);
    if (!entry) return; // already dropped: this is a straggler of its aborted tasks
    pool.delete(workerId);
    crashes++;
    for (const [key, owner] of inFlight) if (owner === workerId) interrupted.add(key);
    for (const runId of runsOn.get(workerId) ?? []) hitByCrash.add(runId);
    entry.worker.abandon();
    spawn(entry.slot);
  };

  const agent = agentTask({
    type: 'e2e-agent',
    checkpoints,
    maxAttempts: 3,
    retryBackoff: { minDelayMs: 5, maxDelayMs: 20 },
    timeoutMs: 10_000,
    agent: (payload, { runId, workerId }) => {
      const task = plan.get(runId)!;
      const invocation = (invocations.get(runId) ?? 0) + 1;
      invocations.set(runId, invocation);
      const crashAt = task.crashOn(invocation);
      let actions = 0;
      const act = () => {
        actions++;
        if (actions === crashAt) crash(workerId);
      };
      return {
        model: new ScriptedModel({
          turns: (request: ModelRequest): ScriptedTurn => {
            act();
            if (task.poison)
              return { error: { kind: 'invalid_request', message: `poison ${payload.prompt}` } };
            const turn = turnOf(request) + 1;
            if (turn > task.toolTurns) return { text: task.finalText, delayMs: task.delayMs };
            return {
              delayMs: task.delayMs,
              toolCalls: Array.from({ length: task.callsPerTurn }, (_, i) => ({
                name: 'step',
                id: `t${turn}_${i}`,
                input: { n: turn * 10 + i },
              })),
            };
          },
        }),
        tools: [
          defineTool({
            name: 'step',
            description: 'Does step n of the job',
            input: z.object({ n: z.number().int() }),
            async execute({ n }, { idempotencyKey, signal }) {
              if (!task.crashAfterEffect) {
                act(); // dropped before the call has done anything
                if (signal.aborted) return 'stopped';
              }
              if (checkpointed.has(idempotencyKey)) repeatedAfterCheckpoint.push(idempotencyKey);
              inFlight.set(idempotencyKey, workerId);
              executions.set(idempotencyKey, (executions.get(idempotencyKey) ?? 0) + 1);
              // Later calls of a batch finish later, so a drop there finds earlier results saved.
              await sleep(task.delayMs + (n % 10));
              if (task.crashAfterEffect) act(); // dropped after the work, before its result is saved
              return `step ${n} done`;
            },
          }),
        ],
      };
    },
  });
  // The agent's handler, noting which runs each worker is running.
  const handler: TaskHandler<AgentTaskPayload> = {
    task: agent.task,
    async run(payload, context) {
      const { runId, workerId } = context;
      const running = runsOn.get(workerId) ?? new Set<string>();
      runsOn.set(workerId, running.add(runId));
      const concurrent = (deliveries.get(runId) ?? 0) + 1;
      deliveries.set(runId, concurrent);
      if (concurrent > 1) overlapped.add(runId);
      // Stopped for any reason (dropped, or its lease lost or run re-dispatched after a stall of
      // this machine): the calls it had in flight were cut off before their results were saved,
      // so the next attempt may run them again. Calls whose results were saved must never repeat.
      const stopped = () => {
        stoppedRuns.add(runId);
        for (const [key, owner] of inFlight)
          if (owner === workerId && key.startsWith(`${runId}:`)) interrupted.add(key);
      };
      context.signal.addEventListener('abort', stopped, { once: true });
      try {
        return await agent.handler.run(payload, context);
      } finally {
        context.signal.removeEventListener('abort', stopped);
        running.delete(runId);
        deliveries.set(runId, (deliveries.get(runId) ?? 1) - 1);
      }
    },
  };

  const watchdog = createWatchdog({
    runs: setup.runs,
    heartbeats: setup.heartbeats,
    dispatcher: setup.dispatcher,
    events: setup.events,
    tasks: [agent.task],
    runningTimeoutMs: RUNNING_TIMEOUT_MS,
    queuedTimeoutMs: 3_000,
    onError: (error) => setup.errors.push(error),
  });

  // --- dispatch: 200 tasks, plus poison messages that bypassed the dispatcher ---
  for (const [runId, task] of plan)
    await setup.dispatcher.dispatch(agent.task, { prompt: task.prompt }, { runId });
  const rawRuns: string[] = [];
  const raw = async (runId: string, payload: unknown, withRecord: boolean) => {
    if (withRecord) {
      rawRuns.push(runId);
      await setup.runs.create({
        runId,
        taskType: agent.task.type,
        status: 'queued',
        attempt: 0,
        maxAttempts: 3,
        version: 1,
        payload,
        queuedAt: Date.now(),
        updatedAt: Date.now(),
      });
    }
    const body = { v: 2, type: agent.task.type, runId, payload, dispatchedAt: Date.now() };
    await setup.queue.enqueue(agent.task.queue, JSON.stringify(body));
  };
  for (let i = 0; i < 4; i++) await raw(`schema-poison-${i}`, { sessionId: 'no-prompt' }, true);
  await raw('no-record', { prompt: 'orphan' }, false);
  await setup.queue.enqueue(agent.task.queue, '{"v":1,"type":"e2e-agent",');
  await setup.queue.enqueue(agent.task.queue, 'not json at all');

  // How late timers fire: a process stalled longer than the slack (an overloaded machine) can
  // have a healthy worker's run handed to another worker, which may then repeat a tool call.
  let maxLagMs = 0;
  let lastTick = Date.now();
  const lagMonitor = setInterval(() => {
    const now = Date.now();
    maxLagMs = Math.max(maxLagMs, now - lastTick - 20);
    lastTick = now;
  }, 20);
  for (let slot = 0; slot < WORKER_CONCURRENCY.length; slot++) spawn(slot);

  // --- wait until every run is terminal, running the watchdog all along ---
  const runIds = [...plan.keys(), ...rawRuns];
  const terminal = (record: RunRecord | undefined) =>
    record !== undefined && isFinal(record.status);
  let redispatched = 0;
  const deadline = Date.now() + 30_000;
  let records: Array<RunRecord | undefined> = [];
  while (true) {
    redispatched += (await watchdog.check()).requeued.length;
    records = await Promise.all(runIds.map((runId) => setup.runs.get(runId)));
    if (records.every(terminal) || Date.now() > deadline) break;
    await sleep(20);
  }
  const stuck = records
    .map((record, index) => [runIds[index], record] as const)
    .filter(([, record]) => !terminal(record))
    .map(
      ([runId, record]) =>
        `${runId}: ${record?.status ?? 'no record'} (attempt ${record?.attempt}, ${record?.error?.message ?? ''})`,
    );
  expect(stuck, 'runs not terminal after 30 s').toEqual([]);

  await Promise.all([...pool.values()].map(({ worker }) => worker.stop({ graceMs: 1_000 })));
  await Promise.all(finished);
  clearInterval(lagMonitor);

  // --- Promise 1: every run ended, with a reason when it did not complete ---
  const byStatus: Record<string, string[]> = { completed: [], failed: [], dead_lettered: [] };
  for (const record of records as RunRecord[]) {
    byStatus[record.status] = [...(byStatus[record.status] ?? []), record.runId];
    if (record.status !== 'completed') expect(record.error?.message, record.runId).toMatch(/\S/);
  }
  expect(Object.keys(byStatus).sort()).toEqual(['completed', 'dead_lettered', 'failed']);
  for (const [runId, task] of plan) {
    const record = (records as RunRecord[]).find((r) => r.runId === runId)!;
    if (task.poison) {
      expect(record.status, runId).not.toBe('completed');
      if (record.status === 'failed' && !hitByCrash.has(runId))
        expect(record.error?.message).toBe(`ModelError: poison ${task.prompt}`);
    } else if (!hitByCrash.has(runId) && !stoppedRuns.has(runId) && !overlapped.has(runId)) {
      // Untouched by crashes, a healthy task must complete.
      expect(record.status, `${runId}: ${record.error?.message}`).toBe('completed');
    }
    if (record.status === 'completed') {
      // Its transcript is complete: every step's call and result, then the answer.
      const state = (await setup.checkpoints.load(runId))!.state;
      expect(state.status, runId).toBe('completed');
      expect(state.messages, runId).toEqual(
        expectedTranscript(task.prompt, task.toolTurns, task.finalText, task.callsPerTurn),
      );
      for (let turn = 1; turn <= task.toolTurns; turn++)
        for (let i = 0; i < task.callsPerTurn; i++)
          expect(executions.get(`${runId}:t${turn}_${i}`), runId).toBeGreaterThanOrEqual(1);
    }
  }
  for (const runId of rawRuns) {
    const record = (records as RunRecord[]).find((r) => r.runId === runId)!;
    expect(record.status).toBe('dead_lettered');
    expect(record.error?.message).toBe(
      'payload of task "e2e-agent" is invalid: prompt: either prompt or answers is required',
    );
  }

  // --- Promise 2: no tool call whose result was checkpointed ran again ---
  // Only a run taken from a worker that was still running it (at-least-once delivery after a
  // stall) may repeat calls; that is what idempotency keys are for. Without such a stall, never.
  const runOf = (key: string) => key.slice(0, key.indexOf(':'));
  if (maxLagMs < STALL_SLACK_MS) expect([...overlapped], `max lag ${maxLagMs} ms`).toEqual([]);
  expect(repeatedAfterCheckpoint.filter((key) => !overlapped.has(runOf(key)))).toEqual([]);
  const repeated = [...executions].filter(([, count]) => count > 1).map(([key]) => key);
  expect(repeated.filter((key) => !interrupted.has(key) && !overlapped.has(runOf(key)))).toEqual(
    [],
  );

  // --- Promise 4: the dead-letter list is exactly the dead-lettered runs, plus the runless junk ---
  const letters = await setup.queue.deadLetters(agent.task.queue);
  const letterRunIds: string[] = [];
  const runless: string[] = [];
  for (const letter of letters) {
    let runId: string | undefined;
    try {
      runId = parseEnvelope(letter.body).runId;
    } catch {}
    if (runId !== undefined && runIds.includes(runId)) letterRunIds.push(runId);
    else runless.push(letter.reason);
  }
  expect(letterRunIds.sort()).toEqual([...byStatus.dead_lettered!].sort());
  for (const runId of byStatus.dead_lettered!) {
    const record = (records as RunRecord[]).find((r) => r.runId === runId)!;
    const letter = letters.find((l) => l.body.includes(`"runId":"${runId}"`))!;
    expect(record.error?.message).toBe(letter.reason);
  }
  expect(runless).toHaveLength(3);
  expect(
    runless.filter((reason) => reason.startsWith('malformed message: body is not JSON')),
  ).toHaveLength(2);
  expect(runless).toContain('no run record for run "no-record"');

  // The run got exercised as intended (guards against a test that silently injects nothing).
  expect(crashes).toBeGreaterThan(10);
  expect(redispatched).toBeGreaterThan(0);
  expect([...hitByCrash].some((runId) => byStatus.completed!.includes(runId))).toBe(true);
  expect(setup.errors).toEqual([]);

  console.log(
    `e2e seed ${SEED}: ${byStatus.completed!.length} completed, ${byStatus.failed!.length} failed, ` +
      `${byStatus.dead_lettered!.length} dead-lettered (${letters.length} dead letters); ` +
      `${crashes} crashes injected, ${hitByCrash.size} runs hit, ${stoppedRuns.size} attempts stopped, ${redispatched} watchdog re-dispatches, ` +
      `${repeated.length} interrupted tool calls ran again; max timer lag ${maxLagMs} ms, ` +
      `${overlapped.size} runs on two workers at once`,
  );
});
