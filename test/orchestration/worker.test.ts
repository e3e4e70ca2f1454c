import {
  createWorker,
  defineTask,
  handleTask,
  InvalidOptionError,
  JOB_EXIT_CODES,
  type JobOutcome,
  LoopworkError,
  outcome,
  type TaskContext,
  type TaskEnvelope,
} from 'loopwork';
import { parseEnvelope } from 'loopwork/adapter-kit';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  deferred,
  isStatus,
  memorySetup,
  rejectionOf,
  sleep,
  typesOf,
  waitFor,
  waitForRecord,
} from './helpers';

const job = defineTask({
  type: 'job',
  payload: z.object({ n: z.number().int() }),
  retryBackoff: { minDelayMs: 10, maxDelayMs: 15 },
});

const envelope = (fields: Partial<TaskEnvelope>): string =>
  JSON.stringify({
    v: 2,
    type: 'job',
    runId: 'r',
    payload: { n: 1 },
    dispatchedAt: 0,
    ...fields,
  });

describe('createWorker options', () => {
  it('names the bad option', async () => {
    const { queue, runs } = memorySetup();
    const handler = handleTask(job, async () => {});
    const concurrency = await rejectionOf(() =>
      createWorker({ queue, runs, handlers: [handler], concurrency: 0 }),
    );
    expect(InvalidOptionError.isInstance(concurrency)).toBe(true);
    expect(concurrency.message).toBe('concurrency must be a positive integer, got 0');
    const handlers = await rejectionOf(() => createWorker({ queue, runs, handlers: [] }));
    expect(handlers.message).toMatch(/^handlers must name at least one task/);
  });

  it('refuses a lease, heartbeat or grace that cannot work, before anything runs', async () => {
    const { queue, runs } = memorySetup();
    const handlers = [handleTask(job, async () => {})];
    const cases: Array<[Record<string, number>, string]> = [
      [{ leaseMs: 0 }, 'leaseMs must be a positive number, got 0'],
      [{ leaseMs: -5 }, 'leaseMs must be a positive number, got -5'],
      [{ leaseMs: Number.NaN }, 'leaseMs must be a positive number, got NaN'],
      [{ heartbeatTtlMs: 0 }, 'heartbeatTtlMs must be a positive number, got 0'],
      [{ pollWaitMs: -1 }, 'pollWaitMs must be a positive number, got -1'],
      [{ abortGraceMs: -1 }, 'abortGraceMs must be a number >= 0, got -1'],
      [
        { shutdownGraceMs: Number.POSITIVE_INFINITY },
        'shutdownGraceMs must be a number >= 0, got Infinity',
      ],
      [{ maxOutputBytes: 1.5 }, 'maxOutputBytes must be a positive integer, got 1.5'],
      [
        { maxDeliveries: 2 },
        'maxDeliveries (2) must be at least the largest maxAttempts of the handlers (3), or runs would be dead-lettered before their attempts are used',
      ],
    ];
    for (const [options, message] of cases) {
      const error = await rejectionOf(() => createWorker({ queue, runs, handlers, ...options }));
      expect(InvalidOptionError.isInstance(error), JSON.stringify(options)).toBe(true);
      expect(error.message).toBe(message);
    }
  });
});

describe('worker events', () => {
  it('reports what happened to each run through a typed listener map', async () => {
    const setup = memorySetup();
    const flaky = defineTask({
      type: 'flaky',
      payload: z.object({ fail: z.number() }),
      maxAttempts: 2,
      retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
    });
    const worker = setup.worker({
      handlers: [
        handleTask(flaky, async ({ fail }, { attempt }) => {
          if (attempt <= fail) throw new Error(`attempt ${attempt} failed`);
          return { attempt };
        }),
      ],
    });
    const seen: string[] = [];
    worker
      .on('claimed', (run) => seen.push(`claimed ${run.runId} #${run.attempt}`))
      .on('completed', (run) => seen.push(`completed ${run.runId} ${JSON.stringify(run.output)}`))
      .on('retrying', (run, error, delayMs) =>
        seen.push(`retrying ${run.runId} ${error.message} in ${delayMs}`),
      )
      .on('failed', (run, error) => seen.push(`failed ${run.runId} ${error.code}`))
      .on('dead_lettered', (run, error) => seen.push(`dead_lettered ${run?.runId} ${error.code}`));
    await setup.dispatcher.dispatch(flaky, { fail: 1 }, { runId: 'once' });
    await setup.dispatcher.dispatch(flaky, { fail: 2 }, { runId: 'always' });
    await setup.queue.enqueue(flaky.queue, 'junk');
    while ((await worker.runOnce({ waitMs: 100 })) !== 'idle');
    // Per run, in order (the queue decides how runs interleave).
    const of = (name: string) => seen.filter((line) => line.includes(` ${name}`));
    expect(of('once')).toEqual([
      'claimed once #1',
      'retrying once attempt 1 failed in 0',
      'claimed once #2',
      'completed once {"attempt":2}',
    ]);
    expect(of('always')).toEqual([
      'claimed always #1',
      'retrying always attempt 1 failed in 0',
      'claimed always #2',
      'failed always handler_error',
    ]);
    expect(of('undefined')).toEqual(['dead_lettered undefined malformed_message']);
  });

  it('a listener that throws does not take the run down', async () => {
    const setup = memorySetup();
    const worker = setup.worker({ handlers: [handleTask(job, async () => 'fine')] });
    worker.on('completed', () => {
      throw new Error('listener bug');
    });
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'r1' });
    expect(await worker.runOnce()).toBe('completed');
    expect((await setup.runs.get('r1'))?.status).toBe('completed');
    expect(String(setup.errors[0])).toMatch(/listener bug/);
  });
});

describe('daemon mode', () => {
  it('runs at most `concurrency` handlers at once, and reaches it when there is enough work', async () => {
    const setup = memorySetup();
    const concurrency = 3;
    let inFlight = 0;
    let maxInFlight = 0;
    const full = deferred();
    // Every handler waits until the worker has `concurrency` of them running (or gives up after
    // 2 s, so a worker that never gets there fails the assertion below instead of hanging).
    const giveUp = sleep(2_000);
    const handler = handleTask(job, async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (inFlight === concurrency) full.resolve();
      await Promise.race([full.promise, giveUp]);
      await sleep(1);
      inFlight--;
    });
    const runIds: string[] = [];
    for (let n = 0; n < 10; n++) runIds.push((await setup.dispatcher.dispatch(job, { n })).runId);
    const worker = setup.worker({ handlers: [handler], concurrency });
    const running = worker.run();
    for (const runId of runIds) await waitForRecord(setup.runs, runId, isStatus('completed'));
    await worker.stop();
    await running;
    expect(maxInFlight).toBe(concurrency);
    expect(worker.stats()).toMatchObject({ running: 0, processed: 10 });
    expect(setup.errors).toEqual([]);
  });

  it('claims only the task types it was given: another type’s messages are left alone', async () => {
    const setup = memorySetup();
    const other = defineTask({ type: 'other', payload: z.object({ n: z.number() }) });
    const seen: string[] = [];
    const worker = setup.worker({
      handlers: [handleTask(job, async (_payload, { runId }) => void seen.push(runId))],
    });
    await setup.dispatcher.dispatch(other, { n: 1 }, { runId: 'other-1' });
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'job-1' });
    await setup.dispatcher.dispatch(other, { n: 2 }, { runId: 'other-2' });
    await setup.dispatcher.dispatch(job, { n: 2 }, { runId: 'job-2' });
    const running = worker.run();
    await waitForRecord(setup.runs, 'job-2', isStatus('completed'));
    await waitForRecord(setup.runs, 'job-1', isStatus('completed'));
    await worker.stop();
    await running;
    expect(seen.sort()).toEqual(['job-1', 'job-2']);
    expect((await setup.runs.get('other-1'))?.status).toBe('queued');
    expect((await setup.runs.get('other-2'))?.status).toBe('queued');
    // Never touched: still on their queue, first delivery still ahead of them.
    const left = await setup.queue.claim([other.queue], { consumer: 't', leaseMs: 1_000, max: 10 });
    expect(left.map((m) => [parseEnvelope(m.body).runId, m.deliveryCount])).toEqual([
      ['other-1', 1],
      ['other-2', 1],
    ]);
    expect(setup.of('deadLetter')).toEqual([]);
  });
});

describe('job mode', () => {
  const modes = defineTask({
    type: 'modes',
    payload: z.object({ mode: z.enum(['ok', 'wait', 'throw']) }),
    maxAttempts: 2,
    retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
  });
  const handler = handleTask(modes, async ({ mode }) => {
    if (mode === 'throw') throw new Error('handler threw');
    return mode === 'wait' ? outcome({ status: 'waiting_input' }) : undefined;
  });

  it('runOnce returns how the task ended, and JOB_EXIT_CODES gives each a status code', async () => {
    const setup = memorySetup();
    const worker = setup.worker({ handlers: [handler] });
    const outcome = async () => {
      const result = await worker.runOnce({ waitMs: 1_000 });
      return [result, JOB_EXIT_CODES[result]] as [JobOutcome, number];
    };

    expect(await worker.runOnce({ waitMs: 0 })).toBe('idle');
    await setup.dispatcher.dispatch(modes, { mode: 'ok' }, { runId: 'ok' });
    expect(await outcome()).toEqual(['completed', 0]);
    await setup.dispatcher.dispatch(modes, { mode: 'wait' }, { runId: 'wait' });
    expect(await outcome()).toEqual(['waiting_input', 0]);
    await setup.dispatcher.dispatch(modes, { mode: 'throw' }, { runId: 'throw' });
    expect(await outcome()).toEqual(['retrying', 3]);
    expect(await outcome()).toEqual(['failed', 1]);
    await setup.queue.enqueue(modes.queue, '{not json');
    expect(await outcome()).toEqual(['dead_lettered', 2]);
    expect(await worker.runOnce({ waitMs: 0 })).toBe('idle');

    expect((await setup.runs.get('ok'))?.status).toBe('completed');
    expect((await setup.runs.get('wait'))?.status).toBe('waiting_input');
    expect(await setup.runs.get('throw')).toMatchObject({
      status: 'failed',
      attempt: 2,
      error: { code: 'handler_error', message: 'handler threw' },
    });
    // A scheduler must be able to tell every unhappy ending apart, and every happy one is 0.
    expect(JOB_EXIT_CODES).toMatchObject({
      completed: 0,
      max_turns: 0,
      budget_exceeded: 0,
      waiting_input: 0,
      idle: 0,
      duplicate: 0,
    });
    const unhappy = (
      [
        'failed',
        'dead_lettered',
        'retrying',
        'interrupted',
        'lease_lost',
        'cancelled',
        'timed_out',
        'error',
      ] as const
    ).map((outcome) => JOB_EXIT_CODES[outcome]);
    expect(new Set(unhappy).size).toBe(unhappy.length);
    expect(unhappy.every((code) => code > 0)).toBe(true);
  });
});

describe('malformed messages', () => {
  it('dead-letters each once with a reason naming the problem and keeps processing good ones', async () => {
    const setup = memorySetup();
    const ran: number[] = [];
    const worker = setup.worker({
      handlers: [handleTask(job, async ({ n }) => void ran.push(n))],
    });
    const record = (runId: string, taskType = 'job') =>
      setup.runs.create({
        runId,
        taskType,
        status: 'queued',
        attempt: 0,
        maxAttempts: 3,
        version: 1,
        payload: {},
        queuedAt: Date.now(),
        updatedAt: Date.now(),
      });
    await record('ghost-run', 'ghost');
    await record('bad-payload');
    const bad: Array<[body: string, runId: string | undefined, reason: RegExp]> = [
      ['{this is not json', undefined, /^malformed message: body is not JSON \(/],
      ['null', undefined, /^malformed message: body is not a JSON object$/],
      ['{"v":1}', undefined, /^malformed message: envelope has no string "type"$/],
      [
        envelope({ v: 3 as never }),
        undefined,
        /^malformed message: unsupported envelope version 3/,
      ],
      [envelope({ runId: '' }), undefined, /^malformed message: envelope has no "runId"/],
      [
        envelope({ type: 'ghost', runId: 'ghost-run' }),
        'ghost-run',
        /^unknown task type "ghost" on queue "loopwork:tasks:job"$/,
      ],
      [
        envelope({ runId: 'bad-payload', payload: { n: 'seven' } }),
        'bad-payload',
        /^payload of task "job" is invalid: n: /,
      ],
      [envelope({ runId: 'nobody' }), undefined, /^no run record for run "nobody"$/],
    ];
    // Interleave: bad, good, bad, good … A crashed worker would leave the good ones queued.
    const good: string[] = [];
    for (const [index, [body]] of bad.entries()) {
      await setup.queue.enqueue(job.queue, body);
      good.push((await setup.dispatcher.dispatch(job, { n: index })).runId);
    }
    const running = worker.run();
    for (const runId of good) await waitForRecord(setup.runs, runId, isStatus('completed'));
    await waitFor(
      async () => (await setup.queue.deadLetters(job.queue)).length >= bad.length,
      'DLQ',
    );
    await worker.stop();
    await running;

    expect(ran.sort()).toEqual(bad.map((_, index) => index));
    const dead = await setup.queue.deadLetters(job.queue);
    expect(dead).toHaveLength(bad.length);
    expect(setup.of('deadLetter')).toHaveLength(bad.length);
    expect(new Set(dead.map((d) => d.id)).size).toBe(bad.length);
    for (const [body, runId, reason] of bad) {
      const letter = dead.find((d) => d.body === body);
      expect(letter, body).toBeDefined();
      expect(letter!.reason).toMatch(reason);
      expect(letter!.deliveryCount).toBe(1);
      if (runId === undefined) continue;
      const run = await setup.runs.get(runId);
      expect(run).toMatchObject({ status: 'dead_lettered', error: { message: letter!.reason } });
      const events = await setup.events.read(runId);
      expect(events.map((e) => e.data)).toEqual([
        { type: 'task-finished', runId, status: 'dead_lettered', attempt: 0, error: run!.error },
      ]);
    }
    expect(await setup.runs.get('nobody')).toBeUndefined();
    expect(setup.errors).toEqual([]);
  });

  it('fails a run whose every attempt died with its worker, once its attempts are spent', async () => {
    const setup = memorySetup();
    const crashy = defineTask({ type: 'crashy', payload: z.object({}), maxAttempts: 2 });
    let ran = 0;
    const started = deferred();
    const dying = handleTask(crashy, async () => {
      ran++;
      started.resolve();
      await new Promise(() => {}); // never ends: its worker "dies" first
    });
    await setup.dispatcher.dispatch(crashy, {}, { runId: 'r1' });
    // Two workers start it and die (abandon: nothing settled, the lease simply runs out).
    for (const id of ['dies-1', 'dies-2']) {
      const doomed = setup.worker({ id, handlers: [dying], leaseMs: 30 });
      const outcome = doomed.runOnce({ waitMs: 2_000 });
      await waitForRecord(setup.runs, 'r1', (r) => r.workerId === id && r.status === 'running');
      doomed.abandon();
      expect(await outcome).toBe('interrupted');
    }
    expect(ran).toBe(2);
    const third = setup.worker({ id: 'third', handlers: [dying] });
    expect(await third.runOnce({ waitMs: 2_000 })).toBe('failed');
    expect(ran).toBe(2); // not started a third time
    const run = await setup.runs.get('r1');
    expect(run).toMatchObject({ status: 'failed', attempt: 2, error: { code: 'worker_lost' } });
    expect(run?.error?.message).toMatch(/^attempt 2 of 2 stopped without finishing/);
    expect((await setup.events.read('r1')).map((e) => e.data)).toEqual([
      { type: 'task-finished', runId: 'r1', status: 'failed', attempt: 2, error: run!.error },
    ]);
    expect(await setup.queue.deadLetters(crashy.queue)).toEqual([]);
  });

  it('dead-letters a message delivered more than maxDeliveries times before its run started, ending the run dead_lettered', async () => {
    const setup = memorySetup();
    const once = defineTask({ type: 'once', payload: z.object({}), maxAttempts: 1 });
    let ran = 0;
    const worker = setup.worker({
      maxDeliveries: 2,
      handlers: [handleTask(once, async () => void ran++)],
    });
    const letters: unknown[] = [];
    worker.on('dead_lettered', (run, error) => letters.push([run?.runId, error.code]));
    await setup.dispatcher.dispatch(once, {}, { runId: 'r1' });
    // Two consumers claim it and die before they start it: each lease simply runs out.
    for (const consumer of ['dead-1', 'dead-2'])
      expect(
        await setup.queue.claim([once.queue], { consumer, leaseMs: 10, waitMs: 1_000 }),
      ).toHaveLength(1);
    await sleep(15);
    expect(await worker.runOnce({ waitMs: 100 })).toBe('idle');
    expect(ran).toBe(0);
    const [letter] = await setup.queue.deadLetters(once.queue);
    expect(letter?.reason).toMatch(/^delivered 2 times without being settled \(maxDeliveries 2\)/);
    const run = await setup.runs.get('r1');
    expect(run).toMatchObject({
      status: 'dead_lettered',
      error: { code: 'max_deliveries', message: letter?.reason },
    });
    expect(letters).toEqual([['r1', 'max_deliveries']]);
    expect(typesOf(await setup.events.read('r1'))).toEqual(['task-finished']);
  });
});

describe('failures, retries and timeouts', () => {
  it('releases a failed attempt with backoff, retries it, then marks the run failed with the reason', async () => {
    const setup = memorySetup();
    const seen: Array<Pick<TaskContext, 'attempt' | 'deliveryCount'>> = [];
    const worker = setup.worker({
      handlers: [
        handleTask(job, async (_payload, { attempt, deliveryCount }) => {
          seen.push({ attempt, deliveryCount });
          throw new TypeError(`boom ${deliveryCount}`);
        }),
      ],
    });
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'r1' });

    expect(await worker.runOnce()).toBe('retrying');
    expect(await setup.runs.get('r1')).toMatchObject({
      status: 'queued',
      attempt: 1,
      error: { code: 'handler_error', message: 'TypeError: boom 1' },
    });
    expect(await worker.runOnce({ waitMs: 2_000 })).toBe('retrying');
    expect(await worker.runOnce({ waitMs: 2_000 })).toBe('failed');

    expect(seen).toEqual([
      { attempt: 1, deliveryCount: 1 },
      { attempt: 2, deliveryCount: 2 },
      { attempt: 3, deliveryCount: 3 },
    ]);
    // Backoff doubles from minDelayMs (10) and is capped at maxDelayMs (15).
    expect(setup.of('release').map((call) => call.delayMs)).toEqual([10, 15]);
    const error = (n: number) => ({ code: 'handler_error', message: `TypeError: boom ${n}` });
    expect(await setup.runs.get('r1')).toMatchObject({
      status: 'failed',
      attempt: 3,
      error: error(3),
    });
    expect((await setup.events.read('r1')).map((e) => e.data)).toEqual([
      { type: 'task-retried', runId: 'r1', attempt: 1, error: error(1), delayMs: 10 },
      { type: 'task-retried', runId: 'r1', attempt: 2, error: error(2), delayMs: 15 },
      { type: 'task-finished', runId: 'r1', status: 'failed', attempt: 3, error: error(3) },
    ]);
    expect(setup.of('ack')).toHaveLength(1);
    expect(await setup.queue.deadLetters(job.queue)).toEqual([]);
  });

  it('fails at once on an error that says retrying cannot help', async () => {
    const setup = memorySetup();
    let calls = 0;
    const worker = setup.worker({
      handlers: [
        handleTask(job, async () => {
          calls++;
          throw new LoopworkError('invalid_state', 'the saved state is corrupt');
        }),
      ],
    });
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'r1' });
    expect(await worker.runOnce()).toBe('failed');
    expect(calls).toBe(1);
    expect(await setup.runs.get('r1')).toMatchObject({
      status: 'failed',
      error: { code: 'invalid_state', message: 'LoopworkError: the saved state is corrupt' },
    });
  });

  it('aborts the handler’s signal when the task times out, and counts it as a failed attempt', async () => {
    const setup = memorySetup();
    const slow = defineTask({
      type: 'slow',
      payload: z.object({ hang: z.boolean() }),
      timeoutMs: 30,
      maxAttempts: 2,
      retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
    });
    const reasons: unknown[] = [];
    const worker = setup.worker({
      handlers: [
        handleTask(slow, async (_payload, { signal, attempt }) => {
          if (attempt > 1) return; // the retry is quick
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          reasons.push(signal.reason);
          // Returning normally after the abort must not count as success.
        }),
      ],
    });
    await setup.dispatcher.dispatch(slow, { hang: true }, { runId: 'r1' });
    expect(await worker.runOnce()).toBe('retrying');
    expect((reasons[0] as Error).message).toBe('task "slow" timed out after 30 ms');
    expect(await setup.runs.get('r1')).toMatchObject({
      status: 'queued',
      error: { code: 'timeout', message: 'task "slow" timed out after 30 ms' },
    });
    expect(await worker.runOnce({ waitMs: 1_000 })).toBe('completed');

    // With no attempts left, a timeout fails the run.
    const once = defineTask({
      type: 'slow-once',
      payload: z.object({}),
      timeoutMs: 20,
      maxAttempts: 1,
    });
    const worker2 = setup.worker({
      handlers: [
        handleTask(
          once,
          (_payload, { signal }) =>
            new Promise((_, reject) => {
              signal.addEventListener('abort', () => reject(signal.reason));
            }),
        ),
      ],
    });
    await setup.dispatcher.dispatch(once, {}, { runId: 'r2' });
    expect(await worker2.runOnce()).toBe('timed_out');
    expect(await setup.runs.get('r2')).toMatchObject({
      status: 'timed_out',
      error: { code: 'timeout', message: 'task "slow-once" timed out after 20 ms' },
    });
  });
});

describe('leases', () => {
  it('renews the lease while a long task runs: a second worker polling the queue gets nothing', async () => {
    const setup = memorySetup();
    const started = deferred();
    const handler = handleTask(job, async () => {
      started.resolve();
      await sleep(1_200); // four lease periods
    });
    let secondRan = 0;
    const first = setup.worker({ handlers: [handler], leaseMs: 300, id: 'first' });
    const second = setup.worker({
      handlers: [handleTask(job, async () => void secondRan++)],
      leaseMs: 300,
      pollWaitMs: 25,
      id: 'second',
    });
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'long' });
    const runningFirst = first.run();
    await started.promise;
    const runningSecond = second.run();
    await waitForRecord(setup.runs, 'long', isStatus('completed'));
    const polled = second.stats().lastPollAt;
    await Promise.all([first.stop(), second.stop()]);
    await Promise.all([runningFirst, runningSecond]);

    expect(secondRan).toBe(0);
    expect(polled).toBeDefined(); // it was polling all along…
    expect(second.stats().lastClaimAt).toBeUndefined(); // …and never got the message
    expect(setup.of('extend').length).toBeGreaterThanOrEqual(3);
    expect(setup.of('ack').map((call) => call.message.deliveryCount)).toEqual([1]);
    expect(await setup.runs.get('long')).toMatchObject({ status: 'completed', workerId: 'first' });
  });

  it('when the lease is lost, aborts the handler and does not ack (the new holder settles it)', async () => {
    const setup = memorySetup();
    const started = deferred();
    let reason: unknown;
    const worker = setup.worker({
      leaseMs: 60,
      handlers: [
        handleTask(job, async (_payload, { signal }) => {
          started.resolve();
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          reason = signal.reason;
        }),
      ],
    });
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'r1' });
    const outcome = worker.runOnce();
    await started.promise;
    // Renewals stop reaching the queue; the lease runs out and someone else takes the message.
    setup.control.dropExtends = true;
    const [taken] = await setup.queue.claim([job.queue], {
      consumer: 'thief',
      leaseMs: 60_000,
      waitMs: 2_000,
    });
    expect(taken?.deliveryCount).toBe(2);
    setup.control.dropExtends = false;

    expect(await outcome).toBe('lease_lost');
    expect((reason as Error).message).toMatch(/lease was lost/);
    expect(setup.of('ack')).toEqual([]);
    expect(setup.of('release')).toEqual([]);
    // The run is left for the holder of the new lease, which can still settle the message.
    expect((await setup.runs.get('r1'))?.status).toBe('running');
    await setup.queue.ack(taken!);
  });
});

describe('vital signs', () => {
  it('stats().lastClaimAt is set by a claim, and heartbeats name the worker and its running runs', async () => {
    const setup = memorySetup();
    const inHandler = deferred();
    const finish = deferred();
    const worker = setup.worker({
      id: 'w1',
      heartbeatTtlMs: 150,
      handlers: [
        handleTask(job, async () => {
          inHandler.resolve();
          await finish.promise;
        }),
      ],
    });
    expect(worker.stats()).toEqual({
      id: 'w1',
      running: 0,
      processed: 0,
      lastClaimAt: undefined,
      lastPollAt: undefined,
    });
    const running = worker.run();
    const idle = await waitFor(() => setup.heartbeats.get('worker:w1'), 'the worker heartbeat');
    expect(idle.data).toMatchObject({ running: 0, lastClaimAt: null });

    const before = Date.now();
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'r1' });
    await inHandler.promise;
    const { lastClaimAt } = worker.stats();
    expect(lastClaimAt).toBeGreaterThanOrEqual(before);
    expect(worker.stats().running).toBe(1);
    const runBeat = await setup.heartbeats.get('run:r1');
    expect(runBeat?.data).toEqual({ workerId: 'w1' });
    // The worker's beat (every ttl / 3) reports the claim; the watchdog and dashboards read it.
    const beat = await waitFor(async () => {
      const found = await setup.heartbeats.get('worker:w1');
      return found?.data.lastClaimAt === lastClaimAt ? found : undefined;
    }, 'a worker heartbeat carrying lastClaimAt');
    expect(beat.data).toMatchObject({ running: 1, lastClaimAt });
    expect(beat.data.lastPollAt).toBeGreaterThanOrEqual(lastClaimAt!);

    finish.resolve();
    await waitForRecord(setup.runs, 'r1', isStatus('completed'));
    await worker.stop();
    await running;
    // A clean stop removes the worker's heartbeat.
    expect(await setup.heartbeats.get('worker:w1')).toBeUndefined();
  });

  it('acks and drops a leftover delivery: a duplicate of a run running elsewhere, or of a finished run', async () => {
    const setup = memorySetup();
    let ran = 0;
    const worker = setup.worker({ handlers: [handleTask(job, async () => void ran++)] });
    await setup.dispatcher.dispatch(job, { n: 1 }, { runId: 'r1' });
    // Another message of the same run already started it (a duplicate sent by the watchdog).
    const running = await setup.runs.transition('r1', {
      from: ['queued'],
      to: 'running',
      set: { attempt: 1, messageId: 'another-message', workerId: 'w-other' },
    });
    expect(await worker.runOnce()).toBe('duplicate');
    expect(ran).toBe(0);
    expect(setup.of('ack')).toHaveLength(1);
    expect(await setup.runs.get('r1')).toEqual(running);

    // Likewise a delivery of a run that already ended.
    await setup.dispatcher.dispatch(job, { n: 2 }, { runId: 'r2' });
    await setup.runs.transition('r2', { from: ['queued'], to: 'cancelled' });
    expect(await worker.runOnce()).toBe('duplicate');
    expect(ran).toBe(0);
    expect(setup.of('ack')).toHaveLength(2);
    expect(await setup.queue.claim([job.queue], { consumer: 't', leaseMs: 100 })).toEqual([]);
  });
});

describe('task events', () => {
  it('context.emit appends to the run’s event log in order, before the final task-finished', async () => {
    const setup = memorySetup();
    const worker = setup.worker({
      handlers: [
        handleTask(job, async ({ n }, { emit }) => {
          for (let i = 0; i < n; i++) emit({ type: 'progress', i });
        }),
      ],
    });
    await setup.dispatcher.dispatch(job, { n: 5 }, { runId: 'r1' });
    expect(await worker.runOnce()).toBe('completed');
    const events = await setup.events.read('r1');
    expect(typesOf(events)).toEqual([...Array(5).fill('progress'), 'task-finished']);
    expect(events.slice(0, 5).map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
    expect(events.at(-1)?.data).toEqual({
      type: 'task-finished',
      runId: 'r1',
      status: 'completed',
      attempt: 1,
    });
  });
});
