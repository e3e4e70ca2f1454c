// The Claude Agent SDK runtime under a worker (runtimeTask on the memory queue): a follow-up in
// the same loopwork session continues the same Claude session from the checkpoint store, and a
// cancel of a running task ends it cancelled with its checkpoint kept.
import { runtimeTask } from 'loopwork';
import { claudeAgentRuntime, fakeAnthropicUpstream } from 'loopwork/claude-agent-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { memorySetup, waitFor } from '../../orchestration/helpers';

const PRICES = { 'claude-worker-test': { inputPerMTok: 3, outputPerMTok: 15 } };
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers) await close();
});

describe('claudeAgentRuntime under a worker', () => {
  it('a follow-up dispatch in the same session continues the Claude session', {
    timeout: 180_000,
  }, async () => {
    const upstream = await fakeAnthropicUpstream({ turn: (n) => ({ text: `answer ${n + 1}` }) });
    closers.push(() => upstream.close());
    const setup = memorySetup();
    const task = runtimeTask({
      type: 'claude',
      checkpoints: setup.checkpoints,
      runtime: claudeAgentRuntime({
        model: 'claude-worker-test',
        upstream: { baseURL: upstream.url },
      }),
      limits: { prices: PRICES, maxCostUsd: 1 },
    });
    const worker = setup.worker({ handlers: [task.handler] });
    await setup.dispatcher.dispatch(
      task.task,
      { prompt: 'first', sessionId: 's1' },
      { runId: 'r1', groupId: 's1' },
    );
    expect(await worker.runOnce()).toBe('completed');
    await setup.dispatcher.dispatch(
      task.task,
      { prompt: 'second', sessionId: 's1' },
      { runId: 'r2', groupId: 's1' },
    );
    expect(await worker.runOnce()).toBe('completed');
    const record = await setup.runs.get('r2');
    expect(record?.output).toBe('answer 2');
    const session = (await setup.checkpoints.load('session:s1'))?.state;
    expect(session?.messages).toEqual([
      { role: 'user', content: 'first' },
      { role: 'assistant', content: [{ type: 'text', text: 'answer 1' }] },
      { role: 'user', content: 'second' },
      { role: 'assistant', content: [{ type: 'text', text: 'answer 2' }] },
    ]);
    // The second call carried the first exchange.
    const sent = upstream.requests.at(-1)?.messages as Array<{ role: string }>;
    expect(sent.filter((m) => m.role === 'assistant')).toHaveLength(1);
  });

  it('cancel of a running task ends it cancelled, promptly', { timeout: 180_000 }, async () => {
    const upstream = await fakeAnthropicUpstream({
      turn: () => ({ text: 'slow', delayMs: 60_000 }),
    });
    closers.push(() => upstream.close());
    const setup = memorySetup();
    const task = runtimeTask({
      type: 'claude',
      checkpoints: setup.checkpoints,
      runtime: claudeAgentRuntime({
        model: 'claude-worker-test',
        upstream: { baseURL: upstream.url },
      }),
      limits: { prices: PRICES },
    });
    const worker = setup.worker({ handlers: [task.handler] });
    await setup.dispatcher.dispatch(task.task, { prompt: 'go' }, { runId: 'c1' });
    const running = worker.runOnce();
    await waitFor(() => upstream.requests.length > 0, 'the model call', 60_000);
    await setup.dispatcher.cancel('c1');
    await running;
    expect((await setup.runs.get('c1'))?.status).toBe('cancelled');
  });
});
