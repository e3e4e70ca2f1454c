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
        attempt: 0,
        maxAttempts: 3,
        version: 1,
        payload: { n: 1 },
        queuedAt: old,
        updatedAt: old,
      };
      await setup.runs.create(record);
    }
    const dispatcher: Dispatcher = {
      ...setup.dispatcher,
      enqueueRun: async (task, record) => {
        if (record.runId === 'bad') throw new Error('queue refused the message');
        return setup.dispatcher.enqueueRun(task, record);
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
    expect(report.requeued).toEqual(['good']);
    expect(String(errors[0])).toContain('queue refused the message');
  });
});

describe('agent task outcomes', () => {
  it('an agent that stopped at a limit ends the run with that status, its output, usage and cost', async () => {
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
    expect(await setup.worker({ handlers: [agent.handler] }).runOnce()).toBe('max_turns');
    const run = await setup.runs.get(runId);
    expect(run).toMatchObject({ status: 'max_turns', output: '' });
    expect(run?.usage?.outputTokens).toBeGreaterThan(0);
    expect(run?.error).toBeUndefined();
    const last = (await setup.events.read(runId)).at(-1)?.data;
    expect(last).toEqual({ type: 'task-finished', runId, status: 'max_turns', attempt: 1 });
  });

  it('an agent stopped by its cost budget ends budget_exceeded, naming the budget', async () => {
    const setup = memorySetup();
    const agent = agentTask({
      checkpoints: setup.checkpoints,
      agent: {
        model: new ScriptedModel({ turns: stepScript(5) }),
        tools: [stepTool(new Map())],
        // $1 per thousand tokens either way: a few turns spend the cent.
        prices: { scripted: { inputPerMTok: 1_000, outputPerMTok: 1_000 } },
        maxTokensPerCall: 300,
        minTokensPerCall: 10,
        maxCostUsd: 0.01,
      },
    });
    const { runId } = await setup.dispatcher.dispatch(agent.task, { prompt: 'go' });
    expect(await setup.worker({ handlers: [agent.handler] }).runOnce()).toBe('budget_exceeded');
    const run = await setup.runs.get(runId);
    expect(run).toMatchObject({ status: 'budget_exceeded', budget: 'cost_usd' });
    expect((await setup.events.read(runId)).at(-1)?.data).toEqual({
      type: 'task-finished',
      runId,
      status: 'budget_exceeded',
      attempt: 1,
      budget: 'cost_usd',
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
    expect((await setup.runs.get(runId))?.error).toMatchObject({ code: 'model_error' });
    expect((await setup.runs.get(runId))?.error?.message).toContain('invalid api key');
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
