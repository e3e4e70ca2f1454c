// Each defect of the run lifecycle that independent tests reproduced on the earlier design, kept as
// a test: a run's fate must be decided once, written once, and end where it says.
import {
  createMemoryQueue,
  createWatchdog,
  defineTask,
  handleTask,
  JOB_EXIT_CODES,
  type RunRecord,
  type RunStore,
  type TaskContext,
} from 'loopwork';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deferred, memorySetup, sleep, typesOf, waitFor, waitForRecord } from './helpers';

const job = defineTask({
  type: 'regression',
  payload: z.object({ n: z.number() }),
  maxAttempts: 1,
  retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
});

describe('a handler that rejects with anything is a failure, never a success', () => {
  const hostile: Array<[string, () => unknown, RegExp]> = [
    ['Promise.reject()', () => Promise.reject(), /no reason given/],
    ['throw undefined', () => Promise.reject(undefined), /undefined/],
    ['throw null', () => Promise.reject(null), /null/],
    ['throw ""', () => Promise.reject(''), /empty string/],
    ['throw 0', () => Promise.reject(0), /number 0/],
    ['throw Symbol()', () => Promise.reject(Symbol('odd')), /Symbol\(odd\)/],
    ['throw Object.create(null)', () => Promise.reject(Object.create(null)), /object/],
    [
      'an Error whose message getter throws',
      () => {
        const error = new Error('x');
        Object.defineProperty(error, 'message', {
          get() {
            throw new Error('gotcha');
          },
        });
        return Promise.reject(error);
      },
      /could not be read/,
    ],
    [
      'a Proxy that throws on every access',
      () =>
        Promise.reject(
          new Proxy(
            {},
            {
              get() {
                throw new Error('trap');
              },
              getPrototypeOf() {
                throw new Error('trap');
              },
              has() {
                throw new Error('trap');
              },
              ownKeys() {
                throw new Error('trap');
              },
            },
          ),
        ),
      /./,
    ],
  ];
  for (const [name, reject, message] of hostile) {
    it(`${name}: the run ends failed with a readable reason, and the message is settled at once`, async () => {
      const setup = memorySetup();
      const worker = setup.worker({ handlers: [handleTask(job, async () => reject())] });
      await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'r1' });
      expect(await worker.runOnce()).toBe('failed');
      const run = await setup.runs.get('r1');
      expect(run?.status).toBe('failed');
      expect(run?.error?.code).toBe('handler_error');
      expect(run?.error?.message).toMatch(message);
      expect(typesOf(await setup.events.read('r1'))).toEqual(['task-finished']);
      expect(setup.of('ack'), 'settled now, not left to its lease').toHaveLength(1);
      expect(setup.errors).toEqual([]);
    });
  }
});

describe('a handler that ignores its signal past timeoutMs', () => {
  it('is abandoned after abortGraceMs: the run ends timed_out, its slot and message are freed, its late writes fenced', async () => {
    const setup = memorySetup();
    const slow = defineTask({
      type: 'deaf',
      payload: z.object({ n: z.number() }),
      timeoutMs: 30,
      maxAttempts: 1,
    });
    const contexts: TaskContext[] = [];
    const release = deferred();
    const worker = setup.worker({
      abortGraceMs: 40,
      concurrency: 1,
      handlers: [
        handleTask(slow, async ({ n }, context) => {
          contexts.push(context);
          if (n === 1) await release.promise; // deaf to its signal
          return `done ${n}`;
        }),
      ],
    });
    await setup.dispatcher.dispatch(slow, { n: 1 }, { runId: 'deaf' });
    await setup.dispatcher.dispatch(slow, { n: 2 }, { runId: 'next' });
    const running = worker.run();
    // The one slot is freed: the next run completes while the deaf handler still hangs.
    await waitForRecord(setup.runs, 'next', (r) => r.status === 'completed');
    const deaf = await setup.runs.get('deaf');
    expect(deaf).toMatchObject({ status: 'timed_out', error: { code: 'timeout' } });
    expect(deaf?.error?.message).toMatch(
      /timed out after 30 ms.*did not stop within abortGraceMs \(40 ms\)/,
    );
    expect(contexts[0]!.signal.aborted).toBe(true);
    expect(contexts[0]!.fence.aborted, 'the abandoned attempt no longer owns the run').toBe(true);
    // Its message was settled, not left leased to a handler that may never return.
    expect(await setup.queue.claim([slow.queue], { consumer: 'x', leaseMs: 10 })).toEqual([]);

    // The abandoned handler wakes up and tries to report: nothing reaches the log or the record.
    contexts[0]!.emit({ type: 'late' });
    release.resolve();
    await sleep(20);
    expect(typesOf(await setup.events.read('deaf'))).toEqual(['task-finished']);
    expect(await setup.runs.get('deaf')).toEqual(deaf);
    await worker.stop();
    await running;
  });

  it('with attempts left, the abandoned attempt is retried as the next one', async () => {
    const setup = memorySetup();
    const twice = defineTask({
      type: 'deaf-twice',
      payload: z.object({}),
      timeoutMs: 30,
      maxAttempts: 2,
      retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
    });
    const worker = setup.worker({
      abortGraceMs: 20,
      handlers: [
        handleTask(twice, async (_p, { attempt }) => {
          if (attempt === 1) await new Promise(() => {}); // never settles, ignores its signal
          return 'second try';
        }),
      ],
    });
    await setup.dispatcher.dispatch(twice, {}, { runId: 'r1' });
    expect(await worker.runOnce()).toBe('retrying');
    expect(await worker.runOnce({ waitMs: 1_000 })).toBe('completed');
    expect(await setup.runs.get('r1')).toMatchObject({
      status: 'completed',
      attempt: 2,
      output: 'second try',
    });
  });
});

describe('the watchdog writes its decision once', () => {
  it('a store error on its write leaves the run as it was, for the next pass — never failed with attempts left', async () => {
    const setup = memorySetup();
    let failNext = true;
    // The write is applied, but its answer is lost (a connection dropped after the commit).
    const flaky: RunStore = {
      ...setup.runs,
      async transition(runId, transition) {
        const written = await setup.runs.transition(runId, transition);
        if (failNext && transition.to === 'queued') {
          failNext = false;
          throw new Error('connection reset after the write');
        }
        return written;
      },
    };
    const errors: unknown[] = [];
    const watchdog = createWatchdog({
      runs: flaky,
      heartbeats: setup.heartbeats,
      dispatcher: setup.dispatcher,
      events: setup.events,
      tasks: [job],
      queuedTimeoutMs: 30,
      runningTimeoutMs: 30,
      onError: (error) => errors.push(error),
    });
    const three = { ...job, maxAttempts: 3 };
    await setup.runs.create({
      runId: 'r1',
      taskType: job.type,
      status: 'running',
      payload: { n: 1 },
      attempt: 1,
      maxAttempts: 3,
      version: 1,
      messageId: 'gone',
      workerId: 'dead',
      queuedAt: 0,
      updatedAt: Date.now() - 60_000,
    });
    expect(await watchdog.check()).toEqual({ requeued: [], ended: [] });
    expect(String(errors[0])).toMatch(/connection reset/);
    // Applied in one write: queued with its attempts intact, not failed.
    const after = await setup.runs.get('r1');
    expect(after).toMatchObject({ status: 'queued', attempt: 1, maxAttempts: 3 });
    // Its message was never sent; the next pass over queued runs sends it.
    await waitFor(
      async () => Date.now() - (await setup.runs.get('r1'))!.updatedAt > 30,
      'staleness',
    );
    expect((await watchdog.check()).requeued).toEqual(['r1']);
    const worker = setup.worker({ handlers: [handleTask(three, async () => 'rescued')] });
    expect(await worker.runOnce({ waitMs: 1_000 })).toBe('completed');
    expect(await setup.runs.get('r1')).toMatchObject({ status: 'completed', attempt: 2 });
    expect(typesOf(await setup.events.read('r1')).at(-1)).toBe('task-finished');
  });
});

describe('the queue’s maxDeliveries is a safety net that ends the run, not a second decider', () => {
  it('a message the queue dead-letters ends its run dead_lettered with the reason; the watchdog leaves it', async () => {
    const setup = memorySetup();
    const memory = createMemoryQueue({ maxDeliveries: 2 });
    const { createDispatcher } = await import('loopwork');
    const dispatcher = createDispatcher({ queue: memory, runs: setup.runs, events: setup.events });
    const three = defineTask({ type: 'safety-net', payload: z.object({}), maxAttempts: 3 });
    await dispatcher.dispatch(three, {}, { runId: 'r1' });
    // Two consumers take it and die before starting it.
    for (const consumer of ['a', 'b'])
      await memory.claim([three.queue], { consumer, leaseMs: 5, waitMs: 500 });
    await sleep(10);
    const worker = setup.worker({
      queue: memory,
      handlers: [handleTask(three, async () => 'ran')],
    });
    expect(await worker.runOnce({ waitMs: 50 })).toBe('idle');
    const [letter] = await memory.deadLetters(three.queue);
    const run = await setup.runs.get('r1');
    expect(run).toMatchObject({
      status: 'dead_lettered',
      error: { code: 'max_deliveries', message: letter?.reason },
    });
    const watchdog = createWatchdog({
      runs: setup.runs,
      heartbeats: setup.heartbeats,
      dispatcher,
      tasks: [three],
      queuedTimeoutMs: 1,
      runningTimeoutMs: 1,
    });
    await sleep(5);
    expect(await watchdog.check()).toEqual({ requeued: [], ended: [] });
    expect((await setup.runs.get('r1'))?.status).toBe('dead_lettered');
  });
});

describe('an infrastructure failure is an error, not a lost lease', () => {
  it('a run store that is down: the outcome is `error` (exit 75) and the message is left for another try', async () => {
    const setup = memorySetup();
    const refused = async (): Promise<never> => {
      throw new Error('ECONNREFUSED 127.0.0.1:6379');
    };
    // Reads and writes alike: a first delivery starts its run without reading it first.
    const down: RunStore = { ...setup.runs, get: refused, transition: refused };
    const worker = setup.worker({ runs: down, handlers: [handleTask(job, async () => 'x')] });
    const seen: unknown[] = [];
    worker.on('error', (error) => seen.push(error));
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'r1' });
    const outcome = await worker.runOnce();
    expect(outcome).toBe('error');
    expect(JOB_EXIT_CODES[outcome]).toBe(75);
    expect(String(seen[0])).toMatch(/ECONNREFUSED/);
    expect(setup.of('ack')).toEqual([]);
    expect(setup.of('deadLetter')).toEqual([]);
    expect((await setup.runs.get('r1'))?.status).toBe('queued');
  });
});

describe('a poison message is dead-lettered once per run', () => {
  it('a second message of a run already dead-lettered (a watchdog re-dispatch) is acked as a duplicate', async () => {
    const setup = memorySetup();
    const worker = setup.worker({ handlers: [handleTask(job, async () => 'x')] });
    await setup.runs.create({
      runId: 'poison',
      taskType: job.type,
      status: 'queued',
      attempt: 0,
      maxAttempts: 1,
      version: 1,
      payload: { n: 'not a number' },
      queuedAt: Date.now(),
      updatedAt: Date.now(),
    });
    const body = JSON.stringify({
      v: 2,
      type: job.type,
      runId: 'poison',
      payload: { n: 'not a number' },
      dispatchedAt: Date.now(),
    });
    await setup.queue.enqueue(job.queue, body);
    await setup.queue.enqueue(job.queue, body);
    expect(await worker.runOnce()).toBe('dead_lettered');
    expect(await worker.runOnce()).toBe('duplicate');
    expect(setup.of('deadLetter')).toHaveLength(1);
    expect(setup.of('ack')).toHaveLength(1);
    expect((await setup.runs.get('poison'))?.status).toBe('dead_lettered');
  });
});

describe('an event log that fails an append', () => {
  it('loses the event it failed, not every event after it; the worker reports it once', async () => {
    const setup = memorySetup();
    let calls = 0;
    const flaky = {
      ...setup.events,
      // A log that appends one event at a time (no appendMany), the second append failing.
      appendMany: undefined,
      append: (runId: string, data: unknown) =>
        ++calls === 2
          ? Promise.reject(new Error('READONLY You can’t write against a read only replica'))
          : setup.events.append(runId, data),
    };
    const worker = setup.worker({
      events: flaky,
      handlers: [
        handleTask(job, async (_payload, { emit }) => {
          for (const step of [1, 2, 3, 4]) emit({ type: 'step', step });
          return 'done';
        }),
      ],
    });
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'r1' });
    expect(await worker.runOnce()).toBe('completed');
    const steps = (await setup.events.read('r1'))
      .map((event) => event.data as { type: string; step?: number })
      .filter((data) => data.type === 'step')
      .map((data) => data.step);
    expect(steps).toEqual([1, 3, 4]); // step 2 was the second append the worker made
    expect(typesOf(await setup.events.read('r1')).at(-1)).toBe('task-finished');
    expect(setup.errors.map(String)).toEqual([
      'Error: [loopwork:worker] 1 event(s) of run "r1" could not be appended to the event log; the first failure: READONLY You can’t write against a read only replica',
    ]);
  });
});

describe("a run's first delivery starts it without reading it first, and only a fresh run", () => {
  const record = (runId: string, fields: Partial<RunRecord>): RunRecord => ({
    runId,
    taskType: job.type,
    status: 'queued',
    payload: { n: 1 },
    attempt: 0,
    maxAttempts: 1,
    version: 1,
    queuedAt: Date.now(),
    updatedAt: Date.now(),
    ...fields,
  });
  const body = (runId: string) =>
    JSON.stringify({ v: 2, type: job.type, runId, payload: { n: 1 }, dispatchedAt: Date.now() });

  it('a run created with a cancel request at version 1 ends cancelled, its handler never called', async () => {
    const setup = memorySetup();
    let calls = 0;
    const worker = setup.worker({ handlers: [handleTask(job, async () => ++calls)] });
    await setup.runs.create(
      record('r1', { cancel: { reason: 'no longer wanted', requestedAt: Date.now() } }),
    );
    await setup.queue.enqueue(job.queue, body('r1'));
    expect(await worker.runOnce()).toBe('cancelled');
    expect(calls).toBe(0);
    expect(await setup.runs.get('r1')).toMatchObject({
      status: 'cancelled',
      error: { code: 'cancelled', message: 'no longer wanted' },
    });
    expect(setup.of('ack')).toHaveLength(1);
  });

  it('a queued run past its first attempt (version > 1) starts as its next attempt, read first', async () => {
    const setup = memorySetup();
    const three = { ...job, maxAttempts: 3 };
    const seen: number[] = [];
    const worker = setup.worker({
      handlers: [handleTask(three, async (_, context) => seen.push(context.attempt))],
    });
    await setup.runs.create(record('r2', { attempt: 1, maxAttempts: 3, version: 4 }));
    await setup.queue.enqueue(job.queue, body('r2'));
    expect(await worker.runOnce()).toBe('completed');
    expect(seen).toEqual([2]);
    expect(await setup.runs.get('r2')).toMatchObject({ status: 'completed', attempt: 2 });
  });
});
