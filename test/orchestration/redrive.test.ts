// Dispatcher.redrive: a dead letter's work gets another run, once, and nothing is lost on the way.
import {
  createDispatcher,
  createMemoryQueue,
  createMemoryRunStore,
  defineTask,
  handleTask,
  type Instrumentation,
  InvalidOptionError,
  type Queue,
} from 'loopwork';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memorySetup, rejectionOf } from './helpers';

const QUEUE = 'redrive-q';
const greet = defineTask({
  type: 'greet',
  payload: z.object({ name: z.string() }),
  queue: QUEUE,
  maxAttempts: 2,
});
/** Shares greet's queue: a worker that only knows it dead-letters greet's messages (unknown task). */
const other = defineTask({ type: 'other', payload: z.object({}), queue: QUEUE });

/** A greet run dead-lettered as an unknown task, by a worker deployed without its handler. */
async function deadLetteredRun(setup: ReturnType<typeof memorySetup>, runId = 'r1') {
  await setup.dispatcher.dispatch(
    greet,
    { name: 'Ada' },
    { runId, groupId: 'conversation-7', priority: 'high' },
  );
  const stale = setup.worker({ handlers: [handleTask(other, async () => 'other')] });
  expect(await stale.runOnce({ waitMs: 0 })).toBe('dead_lettered');
  const letters = await setup.queue.deadLetters(QUEUE);
  expect(letters).toHaveLength(1);
  return letters[0] as NonNullable<(typeof letters)[0]>;
}

const greeter = (setup: ReturnType<typeof memorySetup>) =>
  setup.worker({ handlers: [handleTask(greet, async ({ name }) => `hello ${name}`)] });

describe('Dispatcher.redrive', () => {
  it('runs a dead-lettered run’s work as a new linked run and removes the letter', async () => {
    const setup = memorySetup();
    const letter = await deadLetteredRun(setup);
    expect((await setup.runs.get('r1'))?.error?.code).toBe('unknown_task');

    const result = await setup.dispatcher.redrive(letter);
    expect(result).toMatchObject({ letterId: letter.id, outcome: 'redriven', fromRunId: 'r1' });
    const runId = result.runId as string;
    expect(runId).not.toBe('r1');
    expect(await setup.queue.deadLetters(QUEUE)).toEqual([]);
    expect(await setup.runs.get(runId)).toMatchObject({
      status: 'queued',
      taskType: 'greet',
      payload: { name: 'Ada' },
      groupId: 'conversation-7',
      priority: 'high',
      attempt: 0,
      maxAttempts: 2,
      redrivenFrom: 'r1',
    });

    expect(await greeter(setup).runOnce({ waitMs: 0 })).toBe('completed');
    expect(await setup.runs.get(runId)).toMatchObject({ status: 'completed', output: 'hello Ada' });
    // The old run keeps how it ended: a final status never changes.
    expect((await setup.runs.get('r1'))?.status).toBe('dead_lettered');
  });

  it('creates one run when a redrive is repeated after stopping before the letter was removed', async () => {
    const setup = memorySetup();
    const letter = await deadLetteredRun(setup);
    const remove = setup.queue.removeDeadLetter?.bind(setup.queue);
    if (!remove) throw new Error('the memory queue has removeDeadLetter');
    // The process dies (here: the queue fails) after the new run is queued, before the removal.
    const failing: Queue = {
      ...setup.queue,
      removeDeadLetter: async () => {
        throw new Error('connection lost');
      },
    };
    const crashed = createDispatcher({ queue: failing, runs: setup.runs });
    expect(String(await rejectionOf(() => crashed.redrive(letter)))).toMatch(/connection lost/);
    expect(await setup.queue.deadLetters(QUEUE)).toHaveLength(1);

    const again = await setup.dispatcher.redrive(letter);
    const first = await setup.runs.list({ taskType: 'greet' });
    expect(first.runs.map((run) => run.runId).sort()).toEqual([again.runId, 'r1'].sort());
    expect(await setup.queue.deadLetters(QUEUE)).toEqual([]);
    // One message for the new run: one completes, then the queue is empty.
    const worker = greeter(setup);
    expect(await worker.runOnce({ waitMs: 0 })).toBe('completed');
    expect(await worker.runOnce({ waitMs: 0 })).toBe('idle');
    // A third redrive of the same (now removed) letter does no harm either.
    expect((await setup.dispatcher.redrive(letter)).runId).toBe(again.runId);
    expect(await worker.runOnce({ waitMs: 0 })).toBe('idle');
  });

  it('enqueues the same run again when its letter left the queue without ending it', async () => {
    const setup = memorySetup();
    await setup.dispatcher.dispatch(greet, { name: 'Lin' }, { runId: 'open' });
    // As an SQS redrive policy does: the message moves to the dead letters, the run stays queued.
    const [message] = await setup.queue.claim([QUEUE], { consumer: 'policy', leaseMs: 60_000 });
    if (!message) throw new Error('the dispatched message is claimable');
    await setup.queue.deadLetter(message, 'maxReceiveCount reached');
    const [letter] = await setup.queue.deadLetters(QUEUE);
    if (!letter) throw new Error('one dead letter');

    expect(await setup.dispatcher.redrive(letter)).toEqual({
      letterId: letter.id,
      outcome: 'requeued',
      runId: 'open',
      fromRunId: 'open',
    });
    expect(await setup.queue.deadLetters(QUEUE)).toEqual([]);
    expect(await greeter(setup).runOnce({ waitMs: 0 })).toBe('completed');
    expect(await setup.runs.get('open')).toMatchObject({ status: 'completed', attempt: 1 });
  });

  it('makes a run from the letter alone when the dead-lettered run’s record is gone', async () => {
    const queue = createMemoryQueue();
    const runs = createMemoryRunStore();
    const dispatcher = createDispatcher({ queue, runs });
    const body = JSON.stringify({ v: 2, type: 'greet', runId: 'expired', payload: { name: 'Bo' } });
    await queue.enqueue(QUEUE, body);
    const [message] = await queue.claim([QUEUE], { consumer: 'c', leaseMs: 60_000 });
    if (!message) throw new Error('claimable');
    await queue.deadLetter(message, 'worker_lost');
    const [letter] = await queue.deadLetters(QUEUE);
    if (!letter) throw new Error('one dead letter');

    const result = await dispatcher.redrive(letter);
    expect(result.outcome).toBe('redriven');
    expect(await runs.get(result.runId as string)).toMatchObject({
      status: 'queued',
      taskType: 'greet',
      payload: { name: 'Bo' },
      maxAttempts: 3,
      redrivenFrom: 'expired',
    });
    const [next] = await queue.claim([QUEUE], { consumer: 'c', leaseMs: 60_000 });
    expect(JSON.parse(next?.body ?? '{}')).toMatchObject({ type: 'greet', runId: result.runId });
  });

  it('skips, and keeps, a letter that is no task message or a leftover of a run that ended otherwise', async () => {
    const setup = memorySetup();
    await setup.queue.enqueue(QUEUE, '{not json');
    const worker = greeter(setup);
    expect(await worker.runOnce({ waitMs: 0 })).toBe('dead_lettered');
    await setup.dispatcher.dispatch(greet, { name: 'Cy' }, { runId: 'done' });
    // A second copy of a message whose run completes meanwhile, dead-lettered by hand.
    await setup.queue.enqueue(QUEUE, JSON.stringify({ v: 2, type: 'greet', runId: 'done' }));
    expect(await worker.runOnce({ waitMs: 0 })).toBe('completed');
    const [copy] = await setup.queue.claim([QUEUE], { consumer: 'c', leaseMs: 60_000 });
    if (!copy) throw new Error('the copy is claimable');
    await setup.queue.deadLetter(copy, 'operator');
    const [junk, leftover] = await setup.queue.deadLetters(QUEUE);
    if (!(junk && leftover)) throw new Error('two letters');

    const skipped = await setup.dispatcher.redrive(junk);
    expect(skipped).toMatchObject({ outcome: 'skipped', letterId: junk.id });
    expect(skipped.reason).toMatch(/not a loopwork task message \(body is not JSON/);
    expect(await setup.dispatcher.redrive(leftover)).toMatchObject({
      outcome: 'skipped',
      fromRunId: 'done',
      reason: 'run done already ended completed; the letter is a leftover copy of its message',
    });
    expect((await setup.queue.deadLetters(QUEUE)).map((letter) => letter.id)).toEqual([
      junk.id,
      leftover.id,
    ]);
    expect((await setup.runs.list({})).runs).toHaveLength(1);
  });

  it('refuses a queue that cannot remove dead letters before writing anything', async () => {
    const setup = memorySetup();
    const letter = await deadLetteredRun(setup);
    const { removeDeadLetter: _, ...withoutRemove } = setup.queue;
    const dispatcher = createDispatcher({ queue: withoutRemove, runs: setup.runs });
    const error = await rejectionOf(() => dispatcher.redrive(letter));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(String(error)).toMatch(/memory queue cannot remove dead letters/);
    expect((await setup.runs.list({})).runs).toHaveLength(1);
    expect(await setup.queue.deadLetters(QUEUE)).toHaveLength(1);
  });

  it('names the field of a letter that is not one', async () => {
    const { dispatcher } = memorySetup();
    for (const [letter, pattern] of [
      [null, /got null/],
      [{ id: '', queue: QUEUE, body: '{}' }, /field "id" must be a non-empty string, got ""/],
      [{ id: '1', queue: 7, body: '{}' }, /field "queue" must be a non-empty string, got 7/],
      [{ id: '1', queue: QUEUE }, /field "body" must be a string, got undefined/],
    ] as const) {
      const error = await rejectionOf(() => dispatcher.redrive(letter as never));
      expect(InvalidOptionError.isInstance(error)).toBe(true);
      expect(String(error)).toMatch(pattern);
    }
  });

  it('carries the trace context of its enqueue, as a dispatch does', async () => {
    const setup = memorySetup();
    const letter = await deadLetteredRun(setup);
    const seen: unknown[] = [];
    const instrumentation: Instrumentation = {
      specificationVersion: 'loopwork.instrumentation.v1',
      async dispatch(info, send) {
        seen.push(info);
        await send({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
      },
    };
    const dispatcher = createDispatcher({ queue: setup.queue, runs: setup.runs, instrumentation });
    const { runId } = await dispatcher.redrive(letter);
    expect(seen).toEqual([{ runId, taskType: 'greet', queue: QUEUE }]);
    const [message] = await setup.queue.claim([QUEUE], { consumer: 'c', leaseMs: 60_000 });
    expect(JSON.parse(message?.body ?? '{}')).toMatchObject({
      runId,
      trace: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
  });
});
