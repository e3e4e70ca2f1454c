// Edge cases of dispatch, recovery and agent outcomes that must not strand or waste a run.
import {
  agentTask,
  createWatchdog,
  type Dispatcher,
  defineTask,
  handleTask,
  InvalidOptionError,
  type Queue,
  type RunRecord,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memorySetup, rejectionOf, stepScript, stepTool } from './helpers';

const job = defineTask({ type: 'edge-job', payload: z.object({ n: z.number() }) });

describe('dispatch', () => {
  it('refuses an option the queue cannot honour before anything is recorded', async () => {
    const setup = memorySetup();
    const limited: Queue = {
      ...setup.queue,
      capabilities: { priority: false, delay: false, dedupe: false, groups: false },
    };
    const { createDispatcher } = await import('loopwork');
    const dispatcher = createDispatcher({ queue: limited, runs: setup.runs });
    for (const [options, option] of [
      [{ groupId: 'g' }, 'groupId'],
      [{ delayMs: 1000 }, 'delayMs'],
      [{ priority: 'high' as const }, 'priority'],
    ] as const) {
      const error = await rejectionOf(() =>
        dispatcher.dispatch(job, { n: 1 }, { runId: `r-${option}`, ...options }),
      );
      expect(InvalidOptionError.isInstance(error)).toBe(true);
      expect(error.message).toContain(`${option} is not supported by the memory queue`);
      expect(await setup.runs.get(`r-${option}`)).toBeUndefined();
    }
    // 'normal' is what every dispatch passes, so it is always accepted.
    expect(await dispatcher.dispatch(job, { n: 1 }, { priority: 'normal' })).toMatchObject({
      deduplicated: false,
    });
  });
});

describe('watchdog', () => {
  it('one run it cannot recover does not stop the pass over the others', async () => {
    const setup = memorySetup();
    const old = Date.now() - 60_000;
    for (const runId of ['bad', 'good']) {
      const record: RunRecord = {
        runId,
        taskType: job.type,
        status: 'queued',
        attempt: 1,
        payload: { n: 1 },
        createdAt: old,
        updatedAt: old,
      };
      await setup.runs.create(record);
    }
    const dispatcher: Dispatcher = {
      ...setup.dispatcher,
      redispatch: async (task, record) => {
        if (record.runId === 'bad') throw new Error('queue refused the message');
        return setup.dispatcher.redispatch(task, record);
      },
    };
    const errors: unknown[] = [];
    const watchdog = createWatchdog({
      ...setup,
      dispatcher,
      tasks: [job],
      queuedTimeoutMs: 1_000,
      onError: (e) => errors.push(e),
    });
    const report = await watchdog.check();
    expect(report.redispatched).toEqual(['good']);
    expect(String(errors[0])).toContain('queue refused the message');
  });
});

describe('agent task outcomes', () => {
  it('an agent that stopped at a limit completes the task and says why on the run record', async () => {
    const setup = memorySetup();
    const executions = new Map<string, number>();
    const agent = agentTask({
      checkpoints: setup.checkpoints,
      agent: {
        model: new ScriptedModel({ turns: stepScript(5) }),
        tools: [stepTool(executions)],
        maxTurns: 2,
      },
    });
    const { runId } = await setup.dispatcher.dispatch(agent.task, { prompt: 'go' });
    expect(await setup.worker({ handlers: [agent.handler] }).runOnce()).toBe('completed');
    expect(await setup.runs.get(runId)).toMatchObject({
      status: 'completed',
      reason: 'agent stopped: max_turns',
    });
    const last = (await setup.events.read(runId)).at(-1)?.data;
    expect(last).toMatchObject({
      type: 'task-finished',
      status: 'completed',
      reason: 'agent stopped: max_turns',
    });
  });

  it('a model error that waiting cannot fix fails the task at once instead of retrying it', async () => {
    const setup = memorySetup();
    const model = new ScriptedModel({
      turns: () => ({ error: { kind: 'auth', message: 'invalid api key', status: 401 } }),
    });
    const agent = agentTask({ checkpoints: setup.checkpoints, maxAttempts: 3, agent: { model } });
    const { runId } = await setup.dispatcher.dispatch(agent.task, { prompt: 'go' });
    expect(await setup.worker({ handlers: [agent.handler] }).runOnce()).toBe('failed');
    expect(model.requests).toHaveLength(1);
    expect((await setup.runs.get(runId))?.reason).toContain('invalid api key');
  });

  it('a plain handler error is still retried up to maxAttempts', async () => {
    const setup = memorySetup();
    let calls = 0;
    const flaky = handleTask(job, async () => {
      calls += 1;
      throw new Error('temporary');
    });
    await setup.dispatcher.dispatch(job, { n: 1 });
    expect(await setup.worker({ handlers: [flaky] }).runOnce()).toBe('retrying');
    expect(calls).toBe(1);
  });
});
