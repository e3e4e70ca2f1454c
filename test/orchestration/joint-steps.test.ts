// A queue's joint steps (Queue.jointWith) from the worker's and dispatcher's side, on the memory
// queue and run store: a queue that answers jointWith with something odd is refused when the
// worker or dispatcher is made, and one whose claimAndStart lies about the run it started is
// reported while the run still goes the safe way (its record read, its start written again).
import {
  createDispatcher,
  createMemoryQueue,
  createMemoryRunStore,
  createWorker,
  defineTask,
  handleTask,
  InvalidOptionError,
  type Queue,
} from 'loopwork';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { separateCallSteps } from '../helpers/joint-steps';

const task = defineTask({ type: 'joint', payload: z.object({ n: z.number() }), maxAttempts: 1 });
const handlers = [handleTask(task, async ({ n }) => n + 1)];

describe('joint steps, from the worker and dispatcher', () => {
  it('a jointWith that answers neither undefined nor the steps is refused when they are made', () => {
    const runs = createMemoryRunStore();
    for (const answer of [null, 42, {}, { transitionAndAck: () => undefined }]) {
      const queue: Queue = { ...createMemoryQueue(), jointWith: () => answer as never };
      expect(() => createWorker({ queue, runs, handlers }), String(answer)).toThrow(
        InvalidOptionError,
      );
      expect(() => createDispatcher({ queue, runs }), String(answer)).toThrow(
        /the memory queue's jointWith\(runs\) returned .* a bug in the queue adapter/,
      );
    }
  });

  it('a jointWith that throws anything fails creating the worker and dispatcher with an error that names it', () => {
    const odd = Object.assign(Object.create(null), { message: 'no prototype' });
    for (const [label, thrown] of [
      ['an Error', new Error('adapter exploded')],
      ['undefined', undefined],
      ['a null-prototype object', odd],
    ] as const) {
      const queue: Queue = {
        ...createMemoryQueue(),
        jointWith: () => {
          throw thrown;
        },
      };
      const runs = createMemoryRunStore();
      for (const make of [
        () => createWorker({ queue, runs, handlers }),
        () => createDispatcher({ queue, runs }),
      ]) {
        let caught: unknown;
        try {
          make();
        } catch (error) {
          caught = error;
        }
        expect(InvalidOptionError.isInstance(caught), label).toBe(true);
        expect((caught as Error).message).toMatch(
          /the memory queue's jointWith\(runs\) threw: .*a bug in the queue adapter/,
        );
      }
    }
  });

  it('a claimAndStart that answers another run’s record is reported; the run starts and completes the safe way', async () => {
    const memory = createMemoryQueue();
    const runs = createMemoryRunStore();
    const base = separateCallSteps(memory, runs);
    const queue: Queue = {
      ...memory,
      jointWith: () => ({
        ...base,
        async claimAndStart(queues, options) {
          const messages = await memory.claim(queues, options);
          const decoy = await runs.get('decoy');
          return messages.map((message) => ({ message, ...(decoy ? { started: decoy } : {}) }));
        },
      }),
    };
    const dispatcher = createDispatcher({ queue, runs });
    await dispatcher.dispatch(task, { n: 0 }, { runId: 'decoy' });
    const { runId } = await dispatcher.dispatch(task, { n: 41 });
    const reported: unknown[] = [];
    const worker = createWorker({ queue, runs, handlers, onError: (e) => reported.push(e) });
    expect(await worker.runOnce({ waitMs: 100 })).toBe('completed');
    expect(await worker.runOnce({ waitMs: 100 })).toBe('completed');
    expect(await runs.get(runId)).toMatchObject({ status: 'completed', output: 42, attempt: 1 });
    expect((await runs.get('decoy'))?.status).toBe('completed');
    expect(String(reported[0])).toMatch(
      /claimAndStart gave message .* the record of run "decoy" .* a bug in the queue adapter/,
    );
  });

  it('the memory queue offers no joint steps: the worker and dispatcher make the separate calls', async () => {
    const queue = createMemoryQueue();
    expect(queue.jointWith).toBeUndefined();
    const runs = createMemoryRunStore();
    const { runId } = await createDispatcher({ queue, runs }).dispatch(task, { n: 1 });
    expect(await createWorker({ queue, runs, handlers }).runOnce({ waitMs: 100 })).toBe(
      'completed',
    );
    expect((await runs.get(runId))?.output).toBe(2);
  });
});
