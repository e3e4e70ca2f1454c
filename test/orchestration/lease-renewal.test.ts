// A worker renews the leases of all its running attempts together (one extendMany a round when
// the queue has it, and what each answer means for its own attempt only), and beats their runs'
// heartbeats together (one beatMany a round when the store has it).
import {
  createDispatcher,
  createMemoryHeartbeatStore,
  createMemoryQueue,
  createMemoryRunStore,
  createWorker,
  defineTask,
  type HeartbeatStore,
  handleTask,
  type JobOutcome,
  LeaseLostError,
  type Queue,
  type RunStore,
} from 'loopwork';
import { parseEnvelope } from 'loopwork/adapter-kit';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deferred, track, waitFor } from './helpers';

const job = defineTask({ type: 'held', payload: z.object({ n: z.number().int() }) });
const RUNS = ['r0', 'r1', 'r2', 'r3', 'r4'];

/**
 * A memory queue whose extendMany is recorded and can answer "lost" for one run's message, and
 * whose single extend fails the test when called while extendMany is there.
 */
function batchingQueue(options: { extendMany: boolean }) {
  const memory = createMemoryQueue();
  const batches: number[] = [];
  const singles: string[] = [];
  const control = { lose: undefined as string | undefined, fail: false };
  const runOf = (body: string) => parseEnvelope(body).runId;
  const queue: Queue = {
    ...memory,
    async extend(message, leaseMs) {
      singles.push(runOf(message.body));
      if (control.lose === runOf(message.body))
        throw new LeaseLostError(`lease of ${control.lose} lost (test)`);
      return memory.extend(message, leaseMs);
    },
    extendMany: options.extendMany
      ? async (messages, leaseMs) => {
          batches.push(messages.length);
          if (control.fail) throw new Error('the queue is down (test)');
          const answers = await memory.extendMany!(messages, leaseMs);
          return answers.map((renewed, i) => renewed && control.lose !== runOf(messages[i]!.body));
        }
      : undefined,
  };
  return { queue, batches, singles, control };
}

async function fiveHeldRuns(
  queue: Queue,
  heartbeats?: HeartbeatStore,
  wrapRuns: (runs: RunStore) => RunStore = (runs) => runs,
) {
  const runs = wrapRuns(createMemoryRunStore());
  const dispatcher = createDispatcher({ queue, runs });
  const release = deferred();
  const reasons = new Map<string, unknown>();
  const errors: unknown[] = [];
  const worker = track(
    createWorker({
      queue,
      runs,
      leaseMs: 90,
      ...(heartbeats ? { heartbeats, heartbeatTtlMs: 90 } : {}),
      concurrency: RUNS.length,
      pollWaitMs: 20,
      onError: (error) => errors.push(error),
      handlers: [
        handleTask(job, async (_payload, { runId, signal }) => {
          const aborted = new Promise((resolve) =>
            signal.addEventListener('abort', resolve, { once: true }),
          );
          await Promise.race([release.promise, aborted]);
          if (signal.aborted) reasons.set(runId, signal.reason);
          return { runId };
        }),
      ],
    }),
  );
  const outcomes = new Map<string, JobOutcome>();
  worker.on('completed', (run) => outcomes.set(run.runId, 'completed'));
  for (const runId of RUNS) await dispatcher.dispatch(job, { n: 1 }, { runId });
  const running = worker.run();
  await waitFor(() => worker.stats().running === RUNS.length, 'all five runs to start');
  return { runs, worker, running, release, reasons, outcomes, errors };
}

describe('lease renewal', () => {
  it('renews every running attempt’s lease in one extendMany a round; a lost one interrupts only its own attempt', async () => {
    const { queue, batches, singles, control } = batchingQueue({ extendMany: true });
    const held = await fiveHeldRuns(queue);
    await waitFor(() => batches.length >= 3, 'three renewal rounds');
    // One call a round for all five messages, and no extend of its own for any.
    expect(batches.slice(0, 3)).toEqual([5, 5, 5]);
    expect(singles).toEqual([]);

    control.lose = 'r2';
    await waitFor(() => held.reasons.has('r2'), 'the attempt of r2 to be interrupted');
    expect(String((held.reasons.get('r2') as Error).message)).toMatch(/lease was lost/);
    // The others were not touched: they run on through more rounds, and complete.
    const afterLoss = batches.length;
    await waitFor(() => batches.length >= afterLoss + 2, 'two more rounds');
    expect([...held.reasons.keys()]).toEqual(['r2']);
    held.release.resolve();
    const others = ['r0', 'r1', 'r3', 'r4'];
    await waitFor(
      () => others.every((runId) => held.outcomes.has(runId)),
      'the others to complete',
    );
    // r2's message was not acked by the attempt that lost it: it is left to its next holder.
    expect(held.outcomes.has('r2')).toBe(false);
    await held.worker.stop();
    await held.running;
  });

  it('a failed extendMany is reported and interrupts nobody; the next round renews again', async () => {
    const { queue, batches, control } = batchingQueue({ extendMany: true });
    const held = await fiveHeldRuns(queue);
    control.fail = true;
    await waitFor(() => held.errors.length >= 1, 'the failure to be reported');
    expect(String((held.errors[0] as Error).message)).toMatch(/the queue is down/);
    control.fail = false;
    const before = batches.length;
    await waitFor(() => batches.length >= before + 3, 'three more rounds');
    expect(held.reasons.size).toBe(0);
    held.release.resolve();
    await waitFor(() => held.outcomes.size === RUNS.length, 'all five runs to complete');
    await held.worker.stop();
    await held.running;
  });

  it('without extendMany, each lease is renewed with its own extend, all in the same round', async () => {
    const { queue, singles, control } = batchingQueue({ extendMany: false });
    const held = await fiveHeldRuns(queue);
    await waitFor(() => singles.length >= 10, 'two rounds of renewals');
    expect(new Set(singles.slice(0, 5))).toEqual(new Set(RUNS));
    control.lose = 'r4';
    await waitFor(() => held.reasons.has('r4'), 'the attempt of r4 to be interrupted');
    expect(String((held.reasons.get('r4') as Error).message)).toMatch(/lease of r4 lost/);
    held.release.resolve();
    const others = ['r0', 'r1', 'r2', 'r3'];
    await waitFor(
      () => others.every((runId) => held.outcomes.has(runId)),
      'the others to complete',
    );
    expect(held.outcomes.has('r4')).toBe(false);
    await held.worker.stop();
    await held.running;
  });

  it('an extendMany answering the wrong number of answers is reported as an adapter bug', async () => {
    const memory = createMemoryQueue();
    const queue: Queue = { ...memory, extendMany: async () => [true] };
    const held = await fiveHeldRuns(queue);
    await waitFor(() => held.errors.length >= 1, 'the bug to be reported');
    expect(String((held.errors[0] as Error).message)).toMatch(
      /extendMany answered an array of 1 for 5 message\(s\), not one boolean each: a bug in the queue adapter/,
    );
    expect(held.reasons.size).toBe(0);
    held.release.resolve();
    await waitFor(() => held.outcomes.size === RUNS.length, 'all five runs to complete');
    await held.worker.stop();
    await held.running;
  });

  it('beats every running run’s heartbeat in one beatMany a round, keeping them alive past their TTL', async () => {
    const memory = createMemoryHeartbeatStore();
    const singles: string[] = [];
    const rounds: string[][] = [];
    const heartbeats: HeartbeatStore = {
      ...memory,
      async beat(key, ttlMs, data) {
        if (key.startsWith('run:')) singles.push(key);
        return memory.beat(key, ttlMs, data);
      },
      async beatMany(beats, ttlMs) {
        rounds.push(beats.map(({ key }) => key).sort());
        return memory.beatMany!(beats, ttlMs);
      },
    };
    const { queue } = batchingQueue({ extendMany: true });
    const held = await fiveHeldRuns(queue, heartbeats);
    // Well past the 90 ms TTL: only the rounds keep the heartbeats alive.
    await waitFor(() => rounds.length >= 6, 'six heartbeat rounds');
    const keys = RUNS.map((runId) => `run:${runId}`);
    expect(rounds.slice(0, 6)).toEqual(Array.from({ length: 6 }, () => keys));
    // Each attempt beat once by itself, when it started; the rest came in rounds.
    expect(singles.sort()).toEqual(keys);
    for (const key of keys) {
      expect((await heartbeats.get(key))?.data).toEqual({ workerId: held.worker.id });
    }
    held.release.resolve();
    await waitFor(() => held.outcomes.size === RUNS.length, 'all five runs to complete');
    // No attempt is running: the rounds stop.
    const after = rounds.length;
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(rounds.length).toBeLessThanOrEqual(after + 1);
    await held.worker.stop();
    await held.running;
  });

  it('reads the runs of a round with one getStandings, not a get each; a cancel stops only its own run', async () => {
    const { queue, batches } = batchingQueue({ extendMany: true });
    const reads: number[] = [];
    let gets = 0;
    let countGets = false;
    const held = await fiveHeldRuns(queue, undefined, (runs) => ({
      ...runs,
      async get(runId) {
        if (countGets) gets++;
        return runs.get(runId);
      },
      async getStandings(runIds) {
        reads.push(runIds.length);
        return runs.getStandings!(runIds);
      },
    }));
    countGets = true;
    await waitFor(() => reads.length >= 3, 'three rounds of reads');
    expect(reads.slice(0, 3)).toEqual([5, 5, 5]);
    expect(gets).toBe(0);
    const { runs } = held;
    const running = await runs.get('r1');
    await runs.transition('r1', {
      from: ['running'],
      to: 'running',
      version: running!.version,
      set: { cancel: { reason: 'the user closed the tab', requestedAt: Date.now() } },
    });
    await waitFor(() => held.reasons.has('r1'), 'the attempt of r1 to be interrupted');
    expect(String((held.reasons.get('r1') as Error).message)).toMatch(/the user closed the tab/);
    expect([...held.reasons.keys()]).toEqual(['r1']);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    held.release.resolve();
    await waitFor(
      async () => (await runs.get('r1'))?.status === 'cancelled' && held.outcomes.size === 4,
      'r1 cancelled and the other four completed',
    );
    await held.worker.stop();
    await held.running;
  });

  it('a getStandings answering the wrong number of standings is reported as an adapter bug, stopping nobody', async () => {
    const { queue } = batchingQueue({ extendMany: true });
    const held = await fiveHeldRuns(queue, undefined, (runs) => ({
      ...runs,
      getStandings: async () => [],
    }));
    await waitFor(() => held.errors.length >= 1, 'the bug to be reported');
    expect(String((held.errors[0] as Error).message)).toMatch(
      /getStandings answered an array of 0 for 5 run\(s\), not one standing each: a bug in the run store adapter/,
    );
    expect(held.reasons.size).toBe(0);
    held.release.resolve();
    await waitFor(() => held.outcomes.size === RUNS.length, 'all five runs to complete');
    await held.worker.stop();
    await held.running;
  });

  it('once its lease is lost, an attempt’s message is not renewed again while its handler winds down', async () => {
    const { queue, batches, control } = batchingQueue({ extendMany: true });
    const runs = createMemoryRunStore();
    const stopped = deferred();
    const worker = track(
      createWorker({
        queue,
        runs,
        leaseMs: 60,
        abortGraceMs: 5_000,
        pollWaitMs: 20,
        onError: () => {},
        handlers: [
          handleTask(job, async (_payload, { signal }) => {
            await new Promise((resolve) => signal.addEventListener('abort', resolve));
            await stopped.promise; // slow to stop: the attempt stays open after the loss
            return 'late';
          }),
        ],
      }),
    );
    await createDispatcher({ queue, runs }).dispatch(job, { n: 1 }, { runId: 'r0' });
    control.lose = 'r0';
    const outcome = worker.runOnce();
    await waitFor(() => batches.length >= 1, 'the first renewal round');
    const afterLoss = batches.length;
    // Rounds come every 20 ms; several would have passed.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(batches.length).toBe(afterLoss);
    stopped.resolve();
    expect(await outcome).toBe('lease_lost');
  });

  it('rounds whose calls reject with odd values (undefined, a null-prototype object) are reported and stop nobody', async () => {
    const memory = createMemoryQueue();
    let extendCalls = 0;
    const queue: Queue = {
      ...memory,
      extendMany: async () => {
        extendCalls++;
        throw undefined;
      },
    };
    const oddity = Object.assign(Object.create(null), { code: 'weird' });
    const memoryBeats = createMemoryHeartbeatStore();
    const heartbeats: HeartbeatStore = {
      ...memoryBeats,
      beatMany: async () => {
        throw oddity;
      },
    };
    const held = await fiveHeldRuns(queue, heartbeats, (runs) => ({
      ...runs,
      getStandings: async () => {
        throw oddity;
      },
    }));
    await waitFor(
      () => extendCalls >= 3 && held.errors.length >= 6,
      'three rounds of each, reported',
    );
    expect(held.reasons.size).toBe(0);
    held.release.resolve();
    await waitFor(() => held.outcomes.size === RUNS.length, 'all five runs to complete');
    await held.worker.stop();
    await held.running;
  });

  it('a getStandings that rejects after the leases were renewed is reported; the next round checks again and sees a cancel', async () => {
    const { queue } = batchingQueue({ extendMany: true });
    let failing = true;
    let reads = 0;
    const held = await fiveHeldRuns(queue, undefined, (runs) => ({
      ...runs,
      getStandings: async (runIds) => {
        reads++;
        if (failing) throw new Error('the run store is down (test)');
        return runs.getStandings!(runIds);
      },
    }));
    await waitFor(() => reads >= 2, 'two failed reads');
    expect(held.errors.map((error) => String((error as Error).message))).toContain(
      'the run store is down (test)',
    );
    const running = await held.runs.get('r3');
    await held.runs.transition('r3', {
      from: ['running'],
      to: 'running',
      version: running!.version,
      set: { cancel: { reason: 'stop r3', requestedAt: Date.now() } },
    });
    failing = false;
    await waitFor(() => held.reasons.has('r3'), 'the cancel of r3 to be seen');
    expect([...held.reasons.keys()]).toEqual(['r3']);
    held.release.resolve();
    await held.worker.stop();
    await held.running;
  });
});
