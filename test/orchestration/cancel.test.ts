// Cancelling a run from another process (the dispatcher's `cancel`), in every state it can be in.
import { agentTask, defineTask, handleTask, JOB_EXIT_CODES, type JobOutcome } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deferred, memorySetup, sleep, stepScript, stepTool, typesOf, waitFor } from './helpers';

const job = defineTask({ type: 'cancellable', payload: z.object({}), maxAttempts: 3 });

describe('cancel', () => {
  it('a queued run ends cancelled at once and never starts; its message is dropped when claimed', async () => {
    const setup = memorySetup();
    let ran = 0;
    const worker = setup.worker({ handlers: [handleTask(job, async () => void ran++)] });
    await setup.dispatcher.dispatch(job, {}, { runId: 'r1' });
    expect(await setup.dispatcher.cancel('r1', 'the user closed the tab')).toEqual({
      runId: 'r1',
      outcome: 'cancelled',
      status: 'cancelled',
    });
    const run = await setup.runs.get('r1');
    expect(run).toMatchObject({
      status: 'cancelled',
      attempt: 0,
      error: { code: 'cancelled', message: 'the user closed the tab' },
    });
    expect(run?.finishedAt).toBeGreaterThanOrEqual(run!.queuedAt);
    expect((await setup.events.read('r1')).map((e) => e.data)).toEqual([
      { type: 'task-finished', runId: 'r1', status: 'cancelled', attempt: 0, error: run!.error },
    ]);
    expect(await worker.runOnce()).toBe('duplicate');
    expect(ran).toBe(0);
    expect(await setup.queue.claim([job.queue], { consumer: 't', leaseMs: 10 })).toEqual([]);
  });

  it('a running run has its signal aborted within one lease-renewal interval and ends cancelled', async () => {
    const setup = memorySetup();
    const inside = deferred();
    let reason: unknown;
    const worker = setup.worker({
      leaseMs: 90, // renewals (and cancel checks) every 30 ms
      handlers: [
        handleTask(job, async (_payload, { signal }) => {
          inside.resolve();
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          reason = signal.reason;
          throw signal.reason;
        }),
      ],
    });
    const cancelled: string[] = [];
    worker.on('cancelled', (run) => cancelled.push(run.runId));
    await setup.dispatcher.dispatch(job, {}, { runId: 'r1' });
    const outcome = worker.runOnce();
    await inside.promise;
    expect(await setup.dispatcher.cancel('r1', 'stop it')).toEqual({
      runId: 'r1',
      outcome: 'requested',
      status: 'running',
    });
    // Asked again while it stops: still just requested (idempotent).
    expect((await setup.dispatcher.cancel('r1', 'stop it twice')).outcome).toBe('requested');
    const ended: JobOutcome = await outcome;
    expect(ended).toBe('cancelled');
    expect(JOB_EXIT_CODES[ended]).toBe(6);
    expect((reason as Error).message).toBe('cancelled: stop it');
    expect(await setup.runs.get('r1')).toMatchObject({
      status: 'cancelled',
      attempt: 1,
      cancel: { reason: 'stop it' },
      error: { code: 'cancelled', message: 'stop it' },
    });
    expect(typesOf(await setup.events.read('r1'))).toEqual(['task-finished']);
    expect(cancelled).toEqual(['r1']);
    expect(setup.of('ack')).toHaveLength(1);
    // Once finished, cancelling says so and changes nothing.
    expect(await setup.dispatcher.cancel('r1')).toEqual({
      runId: 'r1',
      outcome: 'finished',
      status: 'cancelled',
    });
  });

  it('a running handler that ignores its signal is abandoned after abortGraceMs and the run ends cancelled', async () => {
    const setup = memorySetup();
    const inside = deferred();
    const worker = setup.worker({
      leaseMs: 90,
      abortGraceMs: 30,
      handlers: [
        handleTask(job, async () => {
          inside.resolve();
          await new Promise(() => {}); // deaf
        }),
      ],
    });
    await setup.dispatcher.dispatch(job, {}, { runId: 'r1' });
    const outcome = worker.runOnce();
    await inside.promise;
    await setup.dispatcher.cancel('r1', 'stop');
    expect(await outcome).toBe('cancelled');
    expect((await setup.runs.get('r1'))?.status).toBe('cancelled');
  });

  it('an agent run stops at its next step, its checkpoint kept, and ends cancelled', async () => {
    const setup = memorySetup();
    const executions = new Map<string, number>();
    const secondStep = deferred();
    const agent = agentTask({
      checkpoints: setup.checkpoints,
      agent: {
        // Each model call takes 25 ms: the cancel lands between steps.
        model: new ScriptedModel({
          turns: (request) => ({ ...stepScript(5)(request), delayMs: 25 }),
        }),
        tools: [
          stepTool(executions, async ({ idempotencyKey }) => {
            if (idempotencyKey.endsWith(':t2_0')) secondStep.resolve();
          }),
        ],
      },
    });
    const worker = setup.worker({ leaseMs: 90, handlers: [agent.handler] });
    await setup.dispatcher.dispatch(agent.task, { prompt: 'five steps' }, { runId: 'r1' });
    const outcome = worker.runOnce();
    await secondStep.promise;
    await setup.dispatcher.cancel('r1', 'enough');
    expect(await outcome).toBe('cancelled');
    expect(executions.size).toBeLessThan(5);
    const checkpoint = await setup.checkpoints.load('r1');
    expect(checkpoint?.state.messages.length).toBeGreaterThan(1);
    expect(typesOf(await setup.events.read('r1')).at(-1)).toBe('task-finished');
    expect(await setup.runs.get('r1')).toMatchObject({ status: 'cancelled' });
  });

  it('a run cancelled while its worker is dead ends cancelled on its next delivery, without running', async () => {
    const setup = memorySetup();
    let ran = 0;
    const inside = deferred();
    const doomed = setup.worker({
      leaseMs: 30,
      handlers: [
        handleTask(job, async () => {
          ran++;
          inside.resolve();
          await new Promise(() => {});
        }),
      ],
    });
    await setup.dispatcher.dispatch(job, {}, { runId: 'r1' });
    const outcome = doomed.runOnce();
    await inside.promise;
    doomed.abandon();
    expect(await outcome).toBe('interrupted');
    expect((await setup.dispatcher.cancel('r1', 'nobody needs it')).outcome).toBe('requested');
    const rescuer = setup.worker({ handlers: [handleTask(job, async () => void ran++)] });
    expect(await rescuer.runOnce({ waitMs: 1_000 })).toBe('cancelled');
    expect(ran).toBe(1);
    expect(await setup.runs.get('r1')).toMatchObject({
      status: 'cancelled',
      error: { code: 'cancelled', message: 'nobody needs it' },
    });
  });

  it('an unknown run says so; a completed run is left completed', async () => {
    const setup = memorySetup();
    expect(await setup.dispatcher.cancel('nope')).toEqual({ runId: 'nope', outcome: 'unknown' });
    const worker = setup.worker({ handlers: [handleTask(job, async () => 'done')] });
    await setup.dispatcher.dispatch(job, {}, { runId: 'r1' });
    expect(await worker.runOnce()).toBe('completed');
    expect(await setup.dispatcher.cancel('r1')).toEqual({
      runId: 'r1',
      outcome: 'finished',
      status: 'completed',
    });
    expect((await setup.runs.get('r1'))?.output).toBe('done');
  });

  it('many cancels racing a worker that starts the run: exactly one ending, one task-finished', async () => {
    for (let round = 0; round < 20; round++) {
      const setup = memorySetup();
      const worker = setup.worker({
        leaseMs: 60,
        handlers: [
          handleTask(job, async (_p, { signal }) => {
            await sleep(round % 3);
            if (signal.aborted) throw signal.reason;
            return 'ok';
          }),
        ],
      });
      await setup.dispatcher.dispatch(job, {}, { runId: 'r1' });
      const [outcome] = await Promise.all([
        worker.runOnce(),
        ...Array.from({ length: 3 }, () => setup.dispatcher.cancel('r1', 'race')),
      ]);
      await waitFor(async () => {
        const run = await setup.runs.get('r1');
        return run && (run.status === 'completed' || run.status === 'cancelled') ? run : undefined;
      }, 'the run to end');
      const finished = typesOf(await setup.events.read('r1')).filter((t) => t === 'task-finished');
      expect(finished, `round ${round}: ${outcome}`).toHaveLength(1);
    }
  });
});
