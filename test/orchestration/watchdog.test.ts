import {
  agentTask,
  createWatchdog,
  defineTask,
  handleTask,
  InvalidOptionError,
  type JobOutcome,
  parseEnvelope,
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
  stepScript,
  stepTool,
  typesOf,
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
 * A worker that dies mid-task: it claims `runId` with a long lease (so only the watchdog can
 * recover the run) and is abandoned while the handler runs. Resolves once its heartbeat is gone.
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

describe('watchdog', () => {
  it('validates its thresholds', async () => {
    const setup = memorySetup();
    const error = await rejectionOf(() =>
      createWatchdog({ ...setup, tasks: [job], runningTimeoutMs: 0 }),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe('runningTimeoutMs must be a positive number, got 0');
  });

  it('fails a running run whose heartbeat expired, re-dispatches it under attempt + 1, and a worker completes it', async () => {
    const setup = memorySetup();
    const watchdog = watchdogFor(setup);
    await setup.dispatcher.dispatch(job, {}, { runId: 'r1' });
    await crashMidTask(setup);
    expect((await setup.runs.get('r1'))?.status).toBe('running');
    await waitFor(
      async () => !(await setup.heartbeats.get('run:r1')),
      'the run heartbeat to expire',
    );
    await staleFor(setup, 'r1', 30);

    expect(await watchdog.check()).toEqual({ redispatched: ['r1'], failed: [] });
    const reason = 'worker heartbeat expired (worker doomed)';
    expect(await setup.runs.get('r1')).toMatchObject({ status: 'queued', attempt: 2, reason });
    expect((await setup.events.read('r1')).map((e) => e.data)).toContainEqual({
      type: 'task-retried',
      runId: 'r1',
      attempt: 2,
      reason,
    });

    const seen: Array<Pick<TaskContext, 'attempt' | 'deliveryCount'>> = [];
    const rescuer = setup.worker({
      handlers: [
        handleTask(
          job,
          async (_p, { attempt, deliveryCount }) => void seen.push({ attempt, deliveryCount }),
        ),
      ],
    });
    expect(await rescuer.runOnce()).toBe('completed');
    expect(seen).toEqual([{ attempt: 2, deliveryCount: 1 }]);
    expect(await setup.runs.get('r1')).toMatchObject({ status: 'completed', attempt: 2 });
    // Nothing else to do now.
    await staleFor(setup, 'r1', 30);
    expect(await watchdog.check()).toEqual({ redispatched: [], failed: [] });
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
    expect(await watchdog.check()).toEqual({ redispatched: [], failed: [] });
    expect(await setup.runs.get('slow')).toMatchObject({ status: 'running', attempt: 1 });
    finish.resolve();
    expect(await outcome).toBe('completed');
    expect(runs).toBe(1);
    expect(setup.of('release')).toEqual([]);
  });

  it('re-dispatches a queued run that has no message (the dispatcher died between record and enqueue)', async () => {
    const setup = memorySetup();
    const watchdog = watchdogFor(setup);
    const record = (runId: string): RunRecord => ({
      runId,
      taskType: 'job',
      status: 'queued',
      attempt: 1,
      payload: {},
      createdAt: Date.now(),
      updatedAt: Date.now(),
    });
    await setup.runs.create(record('orphan'));
    const worker = setup.worker({ handlers: [handleTask(job, async () => {})] });
    expect(await worker.runOnce({ waitMs: 0 })).toBe('idle');
    await staleFor(setup, 'orphan', 30);
    await setup.runs.create(record('fresh')); // not stale yet: left alone

    expect(await watchdog.check()).toEqual({ redispatched: ['orphan'], failed: [] });
    expect(await setup.runs.get('orphan')).toMatchObject({
      status: 'queued',
      attempt: 2,
      reason: 'queued for more than 30 ms without being picked up',
    });
    expect(await worker.runOnce()).toBe('completed');
    expect(await setup.runs.get('orphan')).toMatchObject({ status: 'completed', attempt: 2 });
    expect((await setup.runs.get('fresh'))?.status).toBe('queued');
  });

  it('once the attempts are spent, leaves the run failed with the reason and a task-finished event', async () => {
    const setup = memorySetup();
    const twice = defineTask({ type: 'twice', payload: z.object({}), maxAttempts: 2 });
    const watchdog = watchdogFor(setup, [twice]);
    const create = (runId: string, taskType: string, attempt: number) =>
      setup.runs.create({
        runId,
        taskType,
        status: 'running',
        attempt,
        payload: {},
        workerId: 'gone',
        createdAt: Date.now(),
        updatedAt: Date.now(),
      });
    await create('spent', 'twice', 2);
    await create('unknown-type', 'not-registered', 1);
    await staleFor(setup, 'spent', 30);
    await staleFor(setup, 'unknown-type', 30);

    const report = await watchdog.check();
    expect(report.redispatched).toEqual([]);
    expect(report.failed.sort()).toEqual(['spent', 'unknown-type']);
    const reason = 'worker heartbeat expired (worker gone)';
    for (const runId of ['spent', 'unknown-type']) {
      expect(await setup.runs.get(runId)).toMatchObject({ status: 'failed', reason });
      expect((await setup.events.read(runId)).map((e) => e.data)).toEqual([
        { type: 'task-finished', runId, status: 'failed', reason },
      ]);
    }
    expect(await setup.runs.get('spent')).toMatchObject({ attempt: 2 });
    expect(
      await setup.queue.claim([twice.queue], { consumer: 't', leaseMs: 1_000, max: 10 }),
    ).toEqual([]);
    // A failed run is final: later checks do not touch it again.
    expect(await watchdog.check()).toEqual({ redispatched: [], failed: [] });
  });

  it('drops the old delivery of a re-dispatched run as a duplicate: the handler runs once, for the new attempt', async () => {
    const setup = memorySetup();
    const watchdog = watchdogFor(setup);
    await setup.dispatcher.dispatch(job, {}, { runId: 'r1' });
    await crashMidTask(setup, 80); // the old delivery comes back once this lease runs out
    await waitFor(
      async () => !(await setup.heartbeats.get('run:r1')),
      'the run heartbeat to expire',
    );
    await staleFor(setup, 'r1', 30);
    expect((await watchdog.check()).redispatched).toEqual(['r1']);

    const attempts: number[] = [];
    const rescuer = setup.worker({
      handlers: [handleTask(job, async (_payload, { attempt }) => void attempts.push(attempt))],
    });
    const outcomes: JobOutcome[] = [];
    while (outcomes.length < 2) outcomes.push(await rescuer.runOnce({ waitMs: 2_000 }));
    expect(outcomes.sort()).toEqual(['completed', 'duplicate']);
    expect(attempts).toEqual([2]);
    const acked = setup.of('ack').map((call) => parseEnvelope(call.message.body).attempt);
    expect(acked.sort()).toEqual([1, 2]);
    expect(await setup.runs.get('r1')).toMatchObject({ status: 'completed', attempt: 2 });
    expect(await setup.queue.claim([job.queue], { consumer: 't', leaseMs: 1_000 })).toEqual([]);
  });
});

describe('a zombie: a worker still running a run the watchdog already re-dispatched', () => {
  it('neither reports the run finished nor makes it fail; the new attempt completes it', async () => {
    const setup = memorySetup();
    const executions = new Map<string, number>();
    const zombieStep2 = deferred();
    const zombieInStep2 = deferred();
    const rescuerStep2 = deferred();
    const rescuerInStep2 = deferred();
    // Step 2 blocks on both workers until the test lets it go (ignoring the signal, as a stuck
    // call would).
    const agent = agentTask({
      checkpoints: setup.checkpoints,
      retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
      agent: (_payload, { workerId }) => ({
        model: new ScriptedModel({ turns: stepScript(3) }),
        tools: [
          stepTool(executions, async ({ idempotencyKey }) => {
            if (!idempotencyKey.endsWith(':t2_0')) return;
            if (workerId === 'zombie') {
              zombieInStep2.resolve();
              await zombieStep2.promise;
            } else if (executions.get(idempotencyKey) === 2) {
              rescuerInStep2.resolve();
              await rescuerStep2.promise;
            }
          }),
        ],
      }),
    });
    const watchdog = watchdogFor(setup, [agent.task]);
    // Its heartbeat would beat again only after 20 s: removing it makes the worker look dead.
    const zombie = setup.worker({
      id: 'zombie',
      heartbeatTtlMs: 60_000,
      handlers: [agent.handler],
    });
    const rescuer = setup.worker({ id: 'rescuer', handlers: [agent.handler] });
    await setup.dispatcher.dispatch(agent.task, { prompt: 'three steps' }, { runId: 'r1' });
    const zombieOutcome = zombie.runOnce();
    await zombieInStep2.promise;
    await setup.heartbeats.remove('run:r1');
    await staleFor(setup, 'r1', 30);
    expect((await watchdog.check()).redispatched).toEqual(['r1']);

    // The rescuer resumes attempt 2 from the checkpoint and reaches step 2 too…
    const rescuerFirst = rescuer.runOnce();
    await rescuerInStep2.promise;
    // …while the zombie wakes up and finishes the whole run under attempt 1.
    zombieStep2.resolve();
    expect(await zombieOutcome).toBe('duplicate');
    expect((await setup.checkpoints.load('r1'))?.state.status).toBe('completed');
    expect(typesOf(await setup.events.read('r1'))).not.toContain('task-finished');
    expect(await setup.runs.get('r1')).toMatchObject({ status: 'running', attempt: 2 });

    // The rescuer's next checkpoint write conflicts with the zombie's: it retries rather than
    // failing the run, and the retry continues from the zombie's (complete) checkpoint.
    rescuerStep2.resolve();
    expect(await rescuerFirst).toBe('retrying');
    expect(await rescuer.runOnce({ waitMs: 1_000 })).toBe('completed');
    expect(await setup.runs.get('r1')).toMatchObject({ status: 'completed', attempt: 2 });
    expect((await setup.checkpoints.load('r1'))?.state.messages).toEqual(
      expectedTranscript('three steps', 3),
    );
    const finished = (await setup.events.read('r1')).filter(
      (e) => (e.data as { type: string }).type === 'task-finished',
    );
    expect(finished.map((e) => e.data)).toEqual([
      { type: 'task-finished', runId: 'r1', status: 'completed' },
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
