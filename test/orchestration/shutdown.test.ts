import { agentTask, defineTask, handleTask, stopOnSignals } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  deferred,
  expectedTranscript,
  isStatus,
  memorySetup,
  stepScript,
  stepTool,
  typesOf,
  waitForRecord,
} from './helpers';

const quick = defineTask({ type: 'quick', payload: z.object({}) });

describe('graceful stop', () => {
  it('stops claiming, lets tasks finish within the grace period, interrupts and releases the rest; another worker resumes them from the checkpoint', async () => {
    const setup = memorySetup();
    const executions = new Map<string, number>();
    const modelCalls: Record<string, number> = {};
    const stepThreeStarted = deferred();
    let stepThreeAbortReason: unknown;
    // On w1, step 3 runs until it is told to stop; on w2 every step is quick.
    const agent = agentTask({
      checkpoints: setup.checkpoints,
      agent: (_payload, { workerId }) => ({
        model: new ScriptedModel({
          turns: (request) => {
            modelCalls[workerId] = (modelCalls[workerId] ?? 0) + 1;
            return stepScript(4)(request);
          },
        }),
        tools: [
          stepTool(executions, async ({ idempotencyKey, signal }) => {
            if (workerId !== 'w1' || !idempotencyKey.endsWith(':t3_0')) return;
            stepThreeStarted.resolve();
            await new Promise((resolve) => signal.addEventListener('abort', resolve));
            stepThreeAbortReason = signal.reason;
          }),
        ],
      }),
    });
    const quickGate = deferred();
    const quickStarted = deferred();
    const quickRan: Array<[worker: string, runId: string]> = [];
    const quickHandler = handleTask(quick, async (_payload, { runId, workerId }) => {
      quickRan.push([workerId, runId]);
      if (runId === 'q1') {
        quickStarted.resolve();
        await quickGate.promise;
      }
    });
    const handlers = [agent.handler, quickHandler];

    const w1 = setup.worker({ id: 'w1', handlers, concurrency: 2 });
    const w1Running = w1.run();
    await setup.dispatcher.dispatch(agent.task, { prompt: 'do four steps' }, { runId: 'a1' });
    await setup.dispatcher.dispatch(quick, {}, { runId: 'q1' });
    await Promise.all([stepThreeStarted.promise, quickStarted.promise]);

    const stopped = w1.stop({ graceMs: 300 });
    // Dispatched after the stop began: the stopping worker must not take it.
    await setup.dispatcher.dispatch(quick, {}, { runId: 'q2' });
    quickGate.resolve(); // q1 finishes within the grace period
    await stopped;
    await w1Running;

    expect(await setup.runs.get('q1')).toMatchObject({ status: 'completed', workerId: 'w1' });
    expect((await setup.events.read('q1')).at(-1)?.data).toMatchObject({
      type: 'task-finished',
      status: 'completed',
    });
    expect(quickRan).toEqual([['w1', 'q1']]);
    expect((await setup.runs.get('q2'))?.status).toBe('queued');
    // a1 was still running when the grace period ended: interrupted, released, queued again.
    expect((stepThreeAbortReason as Error | undefined)?.message).toMatch(/aborted/);
    // Handed back unfinished by a shutdown: the attempt it used is given back (maxAttempts + 1).
    expect(await setup.runs.get('a1')).toMatchObject({
      status: 'queued',
      attempt: 1,
      maxAttempts: 4,
    });
    const released = setup.of('release');
    expect(released).toHaveLength(1);
    expect(released[0]?.delayMs).toBeUndefined();
    expect(typesOf(await setup.events.read('a1'))).not.toContain('task-finished');
    expect(await setup.heartbeats.get('worker:w1')).toBeUndefined();

    const w2 = setup.worker({ id: 'w2', handlers, concurrency: 2 });
    const w2Running = w2.run();
    await waitForRecord(setup.runs, 'a1', isStatus('completed'));
    await waitForRecord(setup.runs, 'q2', isStatus('completed'));
    await w2.stop();
    await w2Running;

    expect((await setup.runs.get('a1'))?.workerId).toBe('w2');
    expect(quickRan).toEqual([
      ['w1', 'q1'],
      ['w2', 'q2'],
    ]);
    // Resumed from the checkpoint: steps 1, 2 and 4 ran once; only the interrupted step 3 again.
    expect(Object.fromEntries(executions)).toEqual({
      'a1:t1_0': 1,
      'a1:t2_0': 1,
      'a1:t3_0': 2,
      'a1:t4_0': 1,
    });
    // No model call repeated: w1 made turns 1–3, w2 turn 4 and the answer.
    expect(modelCalls).toEqual({ w1: 3, w2: 2 });
    const stored = await setup.checkpoints.load('a1');
    expect(stored?.state.status).toBe('completed');
    expect(stored?.state.messages).toEqual(expectedTranscript('do four steps', 4));
    const events = await setup.events.read('a1');
    const starts = events.filter((e) => (e.data as { type: string }).type === 'run-started');
    expect(starts.map((e) => (e.data as { resumed: boolean }).resumed)).toEqual([false, true]);
    expect(events.at(-1)?.data).toEqual({
      type: 'task-finished',
      runId: 'a1',
      status: 'completed',
      attempt: 2,
    });
    expect(setup.errors).toEqual([]);
  });

  it('resolves stop() at once when nothing is running, and run() ends', async () => {
    const setup = memorySetup();
    const worker = setup.worker({
      handlers: [handleTask(quick, async () => {})],
      pollWaitMs: 5_000,
    });
    const running = worker.run();
    await worker.stop({ graceMs: 60_000 });
    await running; // the pending 5 s claim was cut short by the stop
    expect(worker.stats().running).toBe(0);
  });
});

describe('stopOnSignals', () => {
  let remove: (() => void) | undefined;
  afterEach(() => remove?.());

  it('stops the worker gracefully on SIGTERM; the returned function removes the handlers', async () => {
    const setup = memorySetup();
    const before = {
      SIGTERM: process.listenerCount('SIGTERM'),
      SIGINT: process.listenerCount('SIGINT'),
    };
    const started = deferred();
    const gate = deferred();
    const ran: string[] = [];
    const worker = setup.worker({
      shutdownGraceMs: 5_000,
      handlers: [
        handleTask(quick, async (_payload, { runId, signal }) => {
          ran.push(runId);
          started.resolve();
          await gate.promise;
          if (signal.aborted) throw new Error('interrupted although within the grace period');
        }),
      ],
    });
    remove = stopOnSignals(worker);
    expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM + 1);
    expect(process.listenerCount('SIGINT')).toBe(before.SIGINT + 1);

    const running = worker.run();
    await setup.dispatcher.dispatch(quick, {}, { runId: 'in-flight' });
    await started.promise;
    process.emit('SIGTERM');
    await setup.dispatcher.dispatch(quick, {}, { runId: 'after-signal' });
    gate.resolve();
    await running;

    expect(ran).toEqual(['in-flight']);
    expect((await setup.runs.get('in-flight'))?.status).toBe('completed');
    expect((await setup.runs.get('after-signal'))?.status).toBe('queued');

    remove();
    remove = undefined;
    expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM);
    expect(process.listenerCount('SIGINT')).toBe(before.SIGINT);
  });
});
