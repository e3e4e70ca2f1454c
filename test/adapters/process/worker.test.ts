// Process tasks under a real worker on the memory queue (processTask = runtimeTask + the process
// runtime): a session's follow-up resumes the agent from the handle the first run left; a cancel
// of a running task stops the agent's whole process group.
import { defineTool } from 'loopwork';
import { processTask } from 'loopwork/process';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { memorySetup } from '../../orchestration/helpers';
import { FIXTURES, gone, PRICES } from './run-helpers';
import { closeServers, SCRIPTED_AGENT, serveTurns } from './scenario-server';

vi.setConfig({ testTimeout: 120_000 });
afterAll(closeServers);

describe('processTask under a worker', () => {
  it('a session follow-up continues the agent from the handle its first run checkpointed', async () => {
    const setup = memorySetup();
    const executions: string[] = [];
    const step = defineTool({
      name: 'step',
      description: 'Does step n',
      input: z.object({ n: z.number() }),
      execute: ({ n }, { idempotencyKey }) => {
        executions.push(idempotencyKey);
        return `step ${n} done`;
      },
    });
    const url = await serveTurns((n) =>
      n === 0
        ? { toolCalls: [{ name: 'step', input: { n: 1 }, id: 't1' }] }
        : { text: `answer after ${n} calls` },
    );
    const agent = processTask({
      type: 'py-agent',
      checkpoints: setup.checkpoints,
      process: {
        command: process.execPath,
        args: [SCRIPTED_AGENT],
        env: { LOOPWORK_SCRIPT_URL: url },
        tools: [step],
      },
      limits: { prices: PRICES, maxCostUsd: 5 },
    });
    const worker = setup.worker({ handlers: [agent.handler] });
    await setup.dispatcher.dispatch(
      agent.task,
      { prompt: 'first', sessionId: 's1' },
      { runId: 'w1', groupId: 's1' },
    );
    expect(await worker.runOnce()).toBe('completed');
    await setup.dispatcher.dispatch(
      agent.task,
      { prompt: 'second', sessionId: 's1' },
      { runId: 'w2', groupId: 's1' },
    );
    expect(await worker.runOnce()).toBe('completed');
    expect((await setup.runs.get('w1'))?.output).toBe('answer after 1 calls');
    expect((await setup.runs.get('w2'))?.output).toBe('answer after 2 calls');
    expect(executions).toEqual(['w1:t1']);
    const session = (await setup.checkpoints.load('session:s1'))?.state;
    expect(session?.turns).toHaveLength(3);
    expect(session?.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
      'assistant',
    ]);
    const types = (await setup.events.read('w2')).map(
      (event) => (event.data as { type: string }).type,
    );
    expect(types).toEqual(
      expect.arrayContaining([
        'run-started',
        'turn-started',
        'text-delta',
        'turn-finished',
        'run-finished',
      ]),
    );
  });

  it('cancelling a running process task stops its whole process group', async () => {
    const setup = memorySetup();
    const agent = processTask({
      type: 'stubborn',
      checkpoints: setup.checkpoints,
      process: {
        command: process.execPath,
        args: [`${FIXTURES}stubborn.mjs`],
        interruptGraceMs: 200,
        terminateGraceMs: 200,
      },
    });
    const worker = setup.worker({ handlers: [agent.handler], leaseMs: 600 });
    await setup.dispatcher.dispatch(agent.task, { prompt: 'go' }, { runId: 'c1' });
    const ran = worker.runOnce();
    let pids: number[] = [];
    for (let i = 0; i < 300 && pids.length === 0; i++) {
      const said = (await setup.events.read('c1'))
        .map((event) => event.data as { type: string; text?: string })
        .find((data) => data.type === 'text-delta' && data.text?.startsWith('pids '));
      if (said?.text) pids = said.text.slice(5).split(' ').map(Number);
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(pids).toHaveLength(2);
    expect((await setup.dispatcher.cancel('c1', 'user asked')).outcome).toBe('requested');
    await ran;
    expect((await setup.runs.get('c1'))?.status).toBe('cancelled');
    for (let i = 0; i < 100 && !pids.every(gone); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    for (const pid of pids) expect(gone(pid), `pid ${pid} is gone`).toBe(true);
  });
});
