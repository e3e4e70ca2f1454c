import assert from 'node:assert/strict';
import { z } from 'zod';
import { InvalidOptionError } from '../../errors';
import {
  createMemoryEventLog,
  createMemoryHeartbeatStore,
  createMemoryRunStore,
} from '../../memory/memory-stores';
import { createDispatcher } from '../../queue/dispatcher';
import { isFinal } from '../../queue/lifecycle';
import type { Queue } from '../../queue/queue';
import { defineTask, type TaskDefinition } from '../../queue/task';
import { handleTask, outcome, type TaskHandler } from '../../queue/task-handler';
import { createWatchdog } from '../../queue/watchdog';
import { createWorker, type Worker, type WorkerOptions } from '../../queue/worker';
import type { EventLog } from '../../store/event-log';
import type { RunRecord, RunStore } from '../../store/run-store';
import {
  type ConformanceRunner,
  type ConformanceTiming,
  pollUntil,
  resolveTiming,
  type Timing,
  uniqueName,
} from './harness';

/** Options of {@link lifecycleConformance}. */
export interface LifecycleConformanceOptions extends ConformanceRunner {
  /** Builds the queue for one test (the suite invents unique queue names). */
  createQueue: () => Promise<Queue>;
  /** Builds the run store for one test. @defaultValue an in-memory run store */
  createRunStore?: () => Promise<RunStore>;
  /** Builds the event log for one test. @defaultValue an in-memory event log */
  createEventLog?: () => Promise<EventLog>;
  /** Lease and slack windows; widen them for slow servers (SQS counts leases in seconds). */
  timing?: ConformanceTiming;
}

interface Subject {
  queue: Queue;
  runs: RunStore;
  events: EventLog;
  workers: Worker[];
  type: string;
}

/**
 * Registers end-to-end tests of the run lifecycle on your queue (and run store, and event log):
 * real workers, dispatcher and watchdog running tasks through them. Results land on the run
 * record; a queued run can be cancelled, and a running one is stopped within a lease renewal; a
 * dead worker's run is taken over; a message past its deliveries ends its run `dead_lettered`; a
 * run store that fails between writes leaves no run half-moved; groups run one at a time.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { lifecycleConformance } from 'loopwork/testing';
 *
 * lifecycleConformance({ describe, it, createQueue: async () => createMyQueue() });
 * ```
 */
export function lifecycleConformance(options: LifecycleConformanceOptions): void {
  const timing = resolveTiming(options.timing);
  const test = (name: string, body: (subject: Subject) => Promise<void>) =>
    options.it(name, async () => {
      const subject: Subject = {
        queue: await options.createQueue(),
        runs: options.createRunStore ? await options.createRunStore() : createMemoryRunStore(),
        events: options.createEventLog ? await options.createEventLog() : createMemoryEventLog(),
        workers: [],
        type: uniqueName('lifecycle'),
      };
      try {
        await body(subject);
      } finally {
        await Promise.all(subject.workers.map((worker) => worker.stop({ graceMs: 0 })));
        await subject.queue.close();
      }
    });

  options.describe('run lifecycle conformance', () => {
    test('results: a handler’s output, usage and cost land on the run record', async (s) => {
      const task = taskOf(s, { maxAttempts: 2 });
      const { dispatcher, start } = wire(s, timing, [
        handleTask(task, async ({ n }, { attempt }) => {
          if (n === 2 && attempt === 1) throw new Error('first attempt fails');
          return n === 3
            ? outcome({
                status: 'budget_exceeded',
                output: { n },
                costUsd: 0.25,
                budget: 'cost_usd',
              })
            : { n, list: [], text: 'héllo ✓' };
        }),
      ]);
      for (const n of [1, 2, 3])
        await dispatcher.dispatch(task, { n }, { runId: `${s.type}-${n}` });
      start();
      const [one, two, three] = (await Promise.all(
        [1, 2, 3].map((n) => finalRun(s.runs, `${s.type}-${n}`, timing)),
      )) as [RunRecord, RunRecord, RunRecord];
      assert.deepEqual(
        [one.status, one.output, one.attempt],
        ['completed', { n: 1, list: [], text: 'héllo ✓' }, 1],
      );
      assert.deepEqual([two.status, two.attempt, two.error], ['completed', 2, undefined]);
      assert.deepEqual(
        [three.status, three.output, three.costUsd, three.budget],
        ['budget_exceeded', { n: 3 }, 0.25, 'cost_usd'],
      );
      for (const run of [one, two, three]) {
        assert.ok(run.startedAt !== undefined && run.finishedAt !== undefined, 'times recorded');
        assert.ok(run.finishedAt >= run.startedAt && run.startedAt >= run.queuedAt);
        assert.deepEqual(await finishedEvents(s.events, run.runId, timing), [run.status]);
      }
      const { runs } = await s.runs.list({ taskType: task.type });
      assert.deepEqual(
        runs.map((run) => run.runId),
        [`${s.type}-3`, `${s.type}-2`, `${s.type}-1`],
        'list: newest first',
      );
    });

    test('cancel: a queued run never starts; a running one is stopped within a lease renewal', async (s) => {
      const task = taskOf(s);
      const ran: number[] = [];
      const { dispatcher, start } = wire(s, timing, [
        handleTask(task, async ({ n }, { signal }) => {
          ran.push(n);
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          throw signal.reason;
        }),
      ]);
      const queued = `${s.type}-queued`;
      const running = `${s.type}-running`;
      await dispatcher.dispatch(task, { n: 1 }, { runId: queued });
      assert.equal((await dispatcher.cancel(queued, 'not needed')).outcome, 'cancelled');
      await dispatcher.dispatch(task, { n: 2 }, { runId: running });
      start();
      await pollUntil(
        async () => ((await s.runs.get(running))?.status === 'running' ? true : undefined),
        timing.patienceMs * 3,
        'the second run never started',
      );
      assert.equal((await dispatcher.cancel(running, 'stop now')).outcome, 'requested');
      const stopped = await finalRun(s.runs, running, timing);
      assert.deepEqual(
        [stopped.status, stopped.error],
        ['cancelled', { code: 'cancelled', message: 'stop now' }],
      );
      assert.deepEqual(ran, [2], 'the cancelled queued run never started');
      assert.equal((await s.runs.get(queued))?.status, 'cancelled');
      assert.deepEqual(await finishedEvents(s.events, queued, timing), ['cancelled']);
      assert.deepEqual(await finishedEvents(s.events, running, timing), ['cancelled']);
      assert.equal((await dispatcher.cancel(running)).outcome, 'finished', 'idempotent');
    });

    test('a dead worker’s run is taken over by another worker as its next attempt', async (s) => {
      const task = taskOf(s);
      const started: string[] = [];
      const handler = handleTask(task, async (_payload, { workerId, attempt }) => {
        started.push(`${workerId}#${attempt}`);
        if (workerId === 'dies') await new Promise(() => {});
        return 'done';
      });
      const { dispatcher, worker } = wire(s, timing, [handler]);
      await dispatcher.dispatch(task, { n: 1 }, { runId: `${s.type}-1` });
      const doomed = worker('dies');
      const outcome = doomed.runOnce({ waitMs: timing.patienceMs });
      await pollUntil(
        () => (started.length > 0 ? true : undefined),
        timing.patienceMs * 3,
        'never started',
      );
      doomed.abandon();
      assert.equal(await outcome, 'interrupted');
      void worker('rescues').run();
      const run = await finalRun(s.runs, `${s.type}-1`, timing);
      assert.deepEqual([run.status, run.attempt, run.workerId], ['completed', 2, 'rescues']);
      assert.deepEqual(started, ['dies#1', 'rescues#2']);
    });

    test('a message past its deliveries ends its run dead_lettered, with the letter’s reason', async (s) => {
      const task = taskOf(s, { maxAttempts: 1 });
      const { dispatcher, worker } = wire(s, timing, []);
      await dispatcher.dispatch(task, { n: 1 }, { runId: `${s.type}-1` });
      // A consumer takes it and dies before starting its run; the lease runs out.
      const [taken] = await claimSoon(s.queue, task.queue, timing);
      assert.ok(taken, 'the message was claimable');
      const rescuer = worker('strict', { maxDeliveries: 1 }, [handleTask(task, async () => 'ran')]);
      const run = await pollUntil(
        async () => {
          await rescuer.runOnce({ waitMs: timing.settleMs });
          const record = await s.runs.get(`${s.type}-1`);
          return record && isFinal(record.status) ? record : undefined;
        },
        timing.patienceMs * 4,
        'the run never ended',
      );
      assert.equal(run.status, 'dead_lettered');
      assert.equal(run.error?.code, 'max_deliveries');
      const letters = await s.queue.deadLetters(task.queue);
      assert.deepEqual(
        letters.map((letter) => letter.reason),
        [run.error?.message],
      );
    });

    test('a run store that fails around its writes leaves every run final, each with one task-finished', async (s) => {
      // Enough attempts that injected failures cannot use them all up (each wastes at most one).
      const task = taskOf(s, { maxAttempts: 12 });
      const runs = faulty(s.runs, 0.15);
      const { dispatcher, start } = wire({ ...s, runs }, timing, [
        handleTask(task, async ({ n }) => n),
      ]);
      const watchdog = createWatchdog({
        runs,
        heartbeats: createMemoryHeartbeatStore(),
        dispatcher,
        events: s.events,
        tasks: [task],
        queuedTimeoutMs: timing.patienceMs,
        runningTimeoutMs: timing.patienceMs,
        onError: () => {},
      });
      const ids = Array.from({ length: 8 }, (_, n) => `${s.type}-${n}`);
      for (const [n, runId] of ids.entries()) {
        // The dispatch itself may fail around its write: retrying it with its run id is safe.
        await pollUntil(
          () =>
            dispatcher.dispatch(task, { n }, { runId }).then(
              () => true,
              () => undefined,
            ),
          timing.patienceMs,
          'dispatch kept failing',
        );
      }
      start();
      const ended = await pollUntil(
        async () => {
          await watchdog.check().catch(() => {});
          const records = await Promise.all(ids.map((id) => s.runs.get(id)));
          return records.every((record) => record && isFinal(record.status)) ? records : undefined;
        },
        timing.patienceMs * 40,
        'runs left open after store failures',
        timing.settleMs,
      );
      for (const run of ended as RunRecord[]) {
        assert.equal(run.status, 'completed', `${run.runId}: ${run.error?.message}`);
        assert.deepEqual(
          await finishedEvents(s.events, run.runId, timing),
          ['completed'],
          run.runId,
        );
      }
    });

    test('groups: runs of one group run one at a time, in dispatch order (or groupId is refused)', async (s) => {
      const task = taskOf(s);
      if (!s.queue.capabilities.groups) {
        const dispatcher = createDispatcher({ queue: s.queue, runs: s.runs });
        const runId = `${s.type}-refused`;
        await assert.rejects(
          dispatcher.dispatch(task, { n: 1 }, { runId, groupId: 'session-1' }),
          (error: unknown) =>
            InvalidOptionError.isInstance(error) && /groupId/.test((error as Error).message),
        );
        assert.equal(await s.runs.get(runId), undefined, 'a refused dispatch records nothing');
        return;
      }
      const log: string[] = [];
      const { dispatcher, start } = wire(
        s,
        timing,
        [
          handleTask(task, async ({ n }) => {
            log.push(`start ${n}`);
            await new Promise((resolve) => setTimeout(resolve, timing.settleMs / 4));
            log.push(`end ${n}`);
          }),
        ],
        { concurrency: 4 },
      );
      for (const n of [1, 2, 3])
        await dispatcher.dispatch(task, { n }, { runId: `${s.type}-${n}`, groupId: 'session-1' });
      start();
      await Promise.all([1, 2, 3].map((n) => finalRun(s.runs, `${s.type}-${n}`, timing)));
      assert.deepEqual(log, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    });
  });
}

/** A task of the test's own type, on its own queue. */
function taskOf(s: Subject, options: { maxAttempts?: number } = {}): TaskDefinition<{ n: number }> {
  return defineTask({
    type: s.type,
    payload: z.object({ n: z.number() }),
    maxAttempts: options.maxAttempts ?? 3,
    retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
  });
}

/** A dispatcher and workers on the subject, leases sized to the timing. */
function wire(
  s: Subject,
  timing: Timing,
  handlers: TaskHandler<{ n: number }, unknown>[],
  extra: Partial<WorkerOptions> = {},
) {
  const dispatcher = createDispatcher({ queue: s.queue, runs: s.runs, events: s.events });
  const worker = (
    id: string,
    options: Partial<WorkerOptions> = {},
    own: TaskHandler<{ n: number }, unknown>[] = handlers,
  ) => {
    const created = createWorker({
      id,
      queue: s.queue,
      runs: s.runs,
      events: s.events,
      handlers: own,
      leaseMs: timing.leaseMs * 3,
      pollWaitMs: timing.settleMs,
      abortGraceMs: timing.settleMs,
      onError: () => {},
      ...extra,
      ...options,
    });
    s.workers.push(created);
    return created;
  };
  return { dispatcher, worker, start: () => void worker('w1').run() };
}

async function finalRun(runs: RunStore, runId: string, timing: Timing): Promise<RunRecord> {
  return pollUntil(
    async () => {
      const record = await runs.get(runId);
      return record && isFinal(record.status) ? record : undefined;
    },
    timing.patienceMs * 6,
    `run ${runId} never reached a final status`,
  );
}

/**
 * The statuses of the run's `task-finished` events, once there is at least one. A worker appends
 * the event just after its final write, so a reader that saw the final record may look before
 * the event lands (a slower store makes the gap wider): wait for it, then read them all.
 */
async function finishedEvents(events: EventLog, runId: string, timing: Timing): Promise<string[]> {
  const read = async () =>
    (await events.read(runId))
      .map((event) => event.data as { type?: string; status?: string })
      .filter((data) => data.type === 'task-finished')
      .map((data) => data.status ?? '');
  await pollUntil(
    async () => ((await read()).length > 0 ? true : undefined),
    timing.patienceMs,
    `run ${runId} reached a final status but no task-finished event was appended`,
  ).catch(() => {});
  return read();
}

async function claimSoon(queue: Queue, name: string, timing: Timing) {
  return pollUntil(
    async () => {
      const got = await queue.claim([name], {
        consumer: 'dies-before-starting',
        leaseMs: timing.leaseMs,
        waitMs: timing.settleMs,
      });
      return got.length > 0 ? got : undefined;
    },
    timing.patienceMs,
    'nothing to claim',
  );
}

/**
 * A run store whose writes fail at random, half of them before the write is applied and half
 * after (the answer lost on the way back), as a flaky connection would.
 */
function faulty(inner: RunStore, rate: number): RunStore {
  let seed = 7;
  const random = () => {
    seed = (seed * 16_807) % 2_147_483_647;
    return seed / 2_147_483_647;
  };
  const fail = () => {
    throw new Error('[conformance] injected store failure');
  };
  return {
    ...inner,
    async create(record) {
      if (random() < rate / 2) fail();
      await inner.create(record);
      if (random() < rate / 2) fail();
    },
    async transition(runId, transition) {
      if (random() < rate / 2) fail();
      const written = await inner.transition(runId, transition);
      if (random() < rate / 2) fail();
      return written;
    },
  };
}
