import {
  agentTask,
  createWatchdog,
  defineTask,
  handleTask,
  InvalidOptionError,
  type JobOutcome,
  type RunRecord,
  type TaskContext,
  type TaskDefinition,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  deferred,
  expectedTranscript,
  isStatus,
  memorySetup,
  rejectionOf,
  sleep,
  stepScript,
  stepTool,
  waitFor,
  waitForRecord,
} from './helpers';

const job = defineTask({ type: 'job', payload: z.object({}), maxAttempts: 3 });

/** A watchdog with thresholds of tens of milliseconds, checked by hand. */
function watchdogFor(
  setup: ReturnType<typeof memorySetup>,
  tasks: readonly TaskDefinition[] = [job],
) {
  return createWatchdog({
    runs: setup.runs,
    heartbeats: setup.heartbeats,
    dispatcher: setup.dispatcher,
    events: setup.events,
    tasks,
    queuedTimeoutMs: 30,
    runningTimeoutMs: 30,
    onError: (error) => setup.errors.push(error),
  });
}

/** Waits until the record has sat unchanged for longer than `ms` (the watchdog's staleness). */
const staleFor = (setup: ReturnType<typeof memorySetup>, runId: string, ms: number) =>
  waitForRecord(setup.runs, runId, (r) => Date.now() - r.updatedAt > ms, 'staleness');

/**
 * A worker that dies mid-task: it starts `r1` and is abandoned while the handler runs. Resolves
 * once it is gone; its lease runs out after `leaseMs`.
 */
async function crashMidTask(setup: ReturnType<typeof memorySetup>, leaseMs = 60_000) {
  const started = deferred();
  const worker = setup.worker({
    id: 'doomed',
    leaseMs,
    heartbeatTtlMs: 30,
    handlers: [
      handleTask(job, async (_payload, { signal }) => {
        started.resolve();
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      }),
    ],
  });
  const outcome = worker.runOnce();
  await started.promise;
  worker.abandon();
  expect(await outcome).toBe('interrupted');
  return worker;
}

/** The queue loses the dead worker's message (someone takes it once its lease runs out, and acks it). */
async function loseMessage(setup: ReturnType<typeof memorySetup>) {
  const [lost] = await setup.queue.claim([job.queue], {
    consumer: 'the-void',
    leaseMs: 60_000,
    waitMs: 2_000,
  });
  expect(lost).toBeDefined();
  await setup.queue.ack(lost!);
}

const record = (runId: string, fields: Partial<RunRecord> = {}): RunRecord => ({
  runId,
  taskType: 'job',
  status: 'queued',
  attempt: 0,
  maxAttempts: 3,
  version: 1,
  payload: {},
  queuedAt: Date.now(),
  updatedAt: Date.now(),
  ...fields,
});

describe('watchdog', () => {
  it('validates its thresholds', async () => {
    const setup = memorySetup();
    const error = await rejectionOf(() =>
      createWatchdog({ ...setup, tasks: [job], runningTimeoutMs: 0 }),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe('runningTimeoutMs must be a positive number, got 0');
  });

  it('requeues a running run whose worker died and whose message is gone, in one write; a worker completes it as attempt 2', async () => {
    const setup = memorySetup();
    const watchdog = watchdogFor(setup);
    await setup.dispatcher.dispatch(job, {}, { runId: 'r1' });
    await crashMidTask(setup, 20);
    await loseMessage(setup);
    expect((await setup.runs.get('r1'))?.status).toBe('running');
    await waitFor(
      async () => !(await setup.heartbeats.get('run:r1')),
      'the run heartbeat to expire',
    );
    const seen = await staleFor(setup, 'r1', 30);

    expect(await watchdog.check()).toEqual({ requeued: ['r1'], ended: [] });
    const error = {
      code: 'worker_lost',
      message: 'its worker stopped beating (heartbeat expired): worker doomed',
    };
    const requeued = await setup.runs.get('r1');
    expect(requeued).toMatchObject({ status: 'queued', attempt: 1, error });
    expect(requeued?.version, 'one write').toBe(seen.version + 1);
    expect(requeued?.messageId).toBeUndefined();
    expect((await setup.events.read('r1')).map((e) => e.data)).toContainEqual({
      type: 'task-retried',
      runId: 'r1',
      attempt: 1,
      error,
      delayMs: 0,
    });

    const contexts: Array<Pick<TaskContext, 'attempt' | 'deliveryCount'>> = [];
    const rescuer = setup.worker({
      handlers: [
        handleTask(
          job,
          async (_p, { attempt, deliveryCount }) => void contexts.push({ attempt, deliveryCount }),
        ),
      ],
    });
    expect(await rescuer.runOnce()).toBe('completed');
    expect(contexts).toEqual([{ attempt: 2, deliveryCount: 1 }]);
    expect(await setup.runs.get('r1')).toMatchObject({ status: 'completed', attempt: 2 });
    expect((await setup.runs.get('r1'))?.error).toBeUndefined();
    // Nothing else to do now.
    await staleFor(setup, 'r1', 30);
    expect(await watchdog.check()).toEqual({ requeued: [], ended: [] });
  });

  it('leaves alone a running run whose heartbeat is alive, however long it runs', async () => {
    const setup = memorySetup();
    const watchdog = watchdogFor(setup);
    const started = deferred();
    const finish = deferred();
    let runs = 0;
    const worker = setup.worker({
      heartbeatTtlMs: 300, // beats every 100 ms
      handlers: [
        handleTask(job, async () => {
          runs++;
          started.resolve();
          await finish.promise;
        }),
      ],
    });
    await setup.dispatcher.dispatch(job, {}, { runId: 'slow' });
    const outcome = worker.runOnce();
    await started.promise;
    await staleFor(setup, 'slow', 400); // far past the threshold, and past one heartbeat TTL
    expect(await watchdog.check()).toEqual({ requeued: [], ended: [] });
    expect(await setup.runs.get('slow')).toMatchObject({ status: 'running', attempt: 1 });
    finish.resolve();
    expect(await outcome).toBe('completed');
    expect(runs).toBe(1);
    expect(setup.of('release')).toEqual([]);
  });

  it('enqueues again a queued run that has no message (the dispatcher died between record and enqueue), without using an attempt', async () => {
    const setup = memorySetup();
    const watchdog = watchdogFor(setup);
    await setup.runs.create(record('orphan'));
    const worker = setup.worker({ handlers: [handleTask(job, async () => {})] });
    expect(await worker.runOnce({ waitMs: 0 })).toBe('idle');
    await staleFor(setup, 'orphan', 30);
    await setup.runs.create(record('fresh')); // not stale yet: left alone
    // Delayed on purpose until well after the threshold: not late, however old its last write.
    await setup.runs.create(record('delayed', { availableAt: Date.now() + 60_000 }));

    expect(await watchdog.check()).toEqual({ requeued: ['orphan'], ended: [] });
    expect(await setup.runs.get('orphan')).toMatchObject({ status: 'queued', attempt: 0 });
    expect(await worker.runOnce()).toBe('completed');
    expect(await setup.runs.get('orphan')).toMatchObject({ status: 'completed', attempt: 1 });
    expect((await setup.runs.get('fresh'))?.status).toBe('queued');
    expect((await setup.runs.get('delayed'))?.status).toBe('queued');
  });

  it('a queued run whose message is still queued gets no second one where the queue deduplicates', async () => {
    const setup = memorySetup();
    const watchdog = watchdogFor(setup);
    await setup.dispatcher.dispatch(job, {}, { runId: 'waiting' });
    await staleFor(setup, 'waiting', 30);
    expect(await watchdog.check()).toEqual({ requeued: ['waiting'], ended: [] });
    const messages = await setup.queue.claim([job.queue], {
      consumer: 't',
      leaseMs: 1_000,
      max: 10,
    });
    expect(messages).toHaveLength(1);
  });

  it('once the attempts are spent, ends the run failed with the reason and a task-finished event', async () => {
    const setup = memorySetup();
    const twice = defineTask({ type: 'twice', payload: z.object({}), maxAttempts: 2 });
    const watchdog = watchdogFor(setup, [twice]);
    const running = { status: 'running' as const, workerId: 'gone', messageId: 'm' };
    await setup.runs.create(
      record('spent', { ...running, taskType: 'twice', attempt: 2, maxAttempts: 2 }),
    );
    await setup.runs.create(
      record('unknown-type', { ...running, taskType: 'not-registered', attempt: 1 }),
    );
    await staleFor(setup, 'spent', 30);
    await staleFor(setup, 'unknown-type', 30);

    const report = await watchdog.check();
    expect(report.requeued).toEqual([]);
    expect(report.ended.sort()).toEqual(['spent', 'unknown-type']);
    const reason = 'its worker stopped beating (heartbeat expired): worker gone';
    const spent = await setup.runs.get('spent');
    expect(spent).toMatchObject({
      status: 'failed',
      attempt: 2,
      error: { code: 'worker_lost', message: reason },
    });
    const unknown = await setup.runs.get('unknown-type');
    expect(unknown).toMatchObject({ status: 'failed', error: { code: 'unknown_task' } });
    expect(unknown?.error?.message).toMatch(/no task "not-registered" is known to this watchdog/);
    for (const run of [spent!, unknown!]) {
      expect((await setup.events.read(run.runId)).map((e) => e.data)).toEqual([
        {
          type: 'task-finished',
          runId: run.runId,
          status: 'failed',
          attempt: run.attempt,
          error: run.error,
        },
      ]);
    }
    expect(
      await setup.queue.claim([twice.queue], { consumer: 't', leaseMs: 1_000, max: 10 }),
    ).toEqual([]);
    // A failed run is final: later checks do not touch it again.
    expect(await watchdog.check()).toEqual({ requeued: [], ended: [] });
  });

  it('a cancelled run whose worker died ends cancelled, not requeued', async () => {
    const setup = memorySetup();
    const watchdog = watchdogFor(setup);
    await setup.runs.create(
      record('r1', {
        status: 'running',
        attempt: 1,
        messageId: 'm',
        workerId: 'gone',
        cancel: { reason: 'user left', requestedAt: Date.now() },
      }),
    );
    await staleFor(setup, 'r1', 30);
    expect(await watchdog.check()).toEqual({ requeued: [], ended: ['r1'] });
    expect(await setup.runs.get('r1')).toMatchObject({
      status: 'cancelled',
      error: { code: 'cancelled', message: 'user left' },
    });
  });

  it('on a queue without dedupe, the old message and the watchdog’s new one both arrive, and the run runs once', async () => {
    const setup = memorySetup({ capabilities: { dedupe: false } });
    const watchdog = watchdogFor(setup);
    await setup.dispatcher.dispatch(job, {}, { runId: 'r1' });
    await crashMidTask(setup, 80); // the old delivery comes back once this lease runs out
    await waitFor(
      async () => !(await setup.heartbeats.get('run:r1')),
      'the run heartbeat to expire',
    );
    await staleFor(setup, 'r1', 30);
    expect((await watchdog.check()).requeued).toEqual(['r1']);

    const attempts: number[] = [];
    const rescuer = setup.worker({
      handlers: [handleTask(job, async (_payload, { attempt }) => void attempts.push(attempt))],
    });
    const outcomes: JobOutcome[] = [];
    while (outcomes.length < 2) outcomes.push(await rescuer.runOnce({ waitMs: 2_000 }));
    expect(outcomes.sort()).toEqual(['completed', 'duplicate']);
    expect(attempts).toEqual([2]);
    expect(setup.of('ack')).toHaveLength(2);
    expect(await setup.runs.get('r1')).toMatchObject({ status: 'completed', attempt: 2 });
    expect(await setup.queue.claim([job.queue], { consumer: 't', leaseMs: 1_000 })).toEqual([]);
  });
});

describe('a zombie: a worker still running a run the watchdog already requeued', () => {
  it('is fenced: it stops within a renewal, cannot write its checkpoints, and the new attempt completes the run', async () => {
    const setup = memorySetup();
    const executions = new Map<string, number>();
    const zombieStep2 = deferred();
    const zombieInStep2 = deferred();
    // Step 2 blocks the zombie until the test lets it go, ignoring the signal (a stuck call).
    const agent = agentTask({
      checkpoints: setup.checkpoints,
      retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
      agent: (_payload, { workerId }) => ({
        model: new ScriptedModel({ turns: stepScript(3) }),
        tools: [
          stepTool(executions, async ({ idempotencyKey }) => {
            if (!idempotencyKey.endsWith(':t2_0') || workerId !== 'zombie') return;
            zombieInStep2.resolve();
            await zombieStep2.promise;
          }),
        ],
      }),
    });
    const watchdog = watchdogFor(setup, [agent.task]);
    // Its run heartbeat would beat again only after 20 s: removing it makes the worker look dead.
    const zombie = setup.worker({
      id: 'zombie',
      heartbeatTtlMs: 60_000,
      leaseMs: 90,
      abortGraceMs: 50,
      handlers: [agent.handler],
    });
    const rescuer = setup.worker({ id: 'rescuer', handlers: [agent.handler] });
    await setup.dispatcher.dispatch(agent.task, { prompt: 'three steps' }, { runId: 'r1' });
    const zombieOutcome = zombie.runOnce();
    await zombieInStep2.promise;
    await setup.heartbeats.remove('run:r1');
    await staleFor(setup, 'r1', 30);
    expect((await watchdog.check()).requeued).toEqual(['r1']);

    // At its next renewal the zombie sees the run moved on: it stops, is abandoned after
    // abortGraceMs, and hands the message back.
    expect(await zombieOutcome).toBe('lease_lost');
    expect(await rescuer.runOnce({ waitMs: 2_000 })).toBe('completed');
    // The zombie wakes up: its remaining checkpoint writes are refused.
    const before = await setup.checkpoints.load('r1');
    zombieStep2.resolve();
    await sleep(50);
    expect(await setup.checkpoints.load('r1')).toEqual(before);

    expect(await setup.runs.get('r1')).toMatchObject({ status: 'completed', attempt: 2 });
    expect((await setup.checkpoints.load('r1'))?.state.messages).toEqual(
      expectedTranscript('three steps', 3),
    );
    const finished = (await setup.events.read('r1')).filter(
      (e) => (e.data as { type: string }).type === 'task-finished',
    );
    expect(finished.map((e) => e.data)).toEqual([
      {
        type: 'task-finished',
        runId: 'r1',
        status: 'completed',
        attempt: 2,
      },
    ]);
  });
});

describe('a worker alive but no longer consuming', () => {
  it('shows in its worker:<id> heartbeat: live, while lastClaimAt stops advancing', async () => {
    const setup = memorySetup();
    const stuck = deferred();
    const hung = setup.worker({
      id: 'hung',
      concurrency: 1,
      heartbeatTtlMs: 300,
      // Its only slot never frees up (until the test ends).
      handlers: [
        handleTask(
          job,
          (_payload, { signal }) =>
            new Promise<void>((resolve) => {
              void stuck.promise.then(resolve);
              signal.addEventListener('abort', () => resolve());
            }),
        ),
      ],
    });
    const idle = setup.worker({
      id: 'idle',
      heartbeatTtlMs: 300,
      handlers: [handleTask(defineTask({ type: 'other', payload: z.object({}) }), async () => {})],
    });
    await setup.dispatcher.dispatch(job, {}, { runId: 'first' });
    await setup.dispatcher.dispatch(job, {}, { runId: 'waiting' });
    const running = [hung.run(), idle.run()];
    await waitForRecord(setup.runs, 'first', isStatus('running'));
    const claimedAt = hung.stats().lastClaimAt!;

    /** What a monitor would conclude from the heartbeat store alone. */
    const diagnose = async (id: string, staleAfterMs: number) => {
      const beat = await setup.heartbeats.get(`worker:${id}`);
      if (!beat) return 'dead';
      const { lastClaimAt, lastPollAt, running } = beat.data as Record<string, number | null>;
      const now = Date.now();
      if (lastPollAt === null || now - lastPollAt! > staleAfterMs)
        return `alive, not polling, running ${running}`;
      if (lastClaimAt === null || now - lastClaimAt! > staleAfterMs)
        return 'alive, polling, nothing claimed';
      return 'consuming';
    };
    // The hung worker keeps beating, but its last claim (and poll) fall further behind.
    expect(
      await waitFor(async () => {
        const verdict = await diagnose('hung', 250);
        return verdict === 'alive, not polling, running 1' ? verdict : undefined;
      }, 'the hung worker to look stalled'),
    ).toBeTruthy();
    const beat = await setup.heartbeats.get('worker:hung');
    expect(beat?.data).toMatchObject({ running: 1, lastClaimAt: claimedAt, lastPollAt: claimedAt });
    expect(beat!.expiresAt).toBeGreaterThan(Date.now());
    expect((await setup.runs.get('waiting'))?.status).toBe('queued');
    // The idle worker polls on (lastPollAt advances) but has never claimed anything.
    expect(await diagnose('idle', 250)).toBe('alive, polling, nothing claimed');
    expect((await setup.heartbeats.get('worker:idle'))?.data).toMatchObject({ lastClaimAt: null });

    stuck.resolve();
    await waitForRecord(setup.runs, 'waiting', isStatus('completed'));
    expect(await diagnose('hung', 60_000)).toBe('consuming');
    await Promise.all([hung.stop(), idle.stop()]);
    await Promise.all(running);
  });
});
