// A crash between a loopwork tool's end and Claude Code's write of its result: the result is only
// in the checkpoint's toolResults. On resume the runtime puts it into the session transcript, so
// Claude Code continues the turn as if nothing had happened: the history equals an uninterrupted
// run's, and the tool ran once.
import { defineTool, type RunState } from 'loopwork';
import { claudeAgentRuntime, fakeAnthropicUpstream } from 'loopwork/claude-agent-sdk';
import { expect, it } from 'vitest';
import { z } from 'zod';

const PRICES = { 'claude-resume-test': { inputPerMTok: 3, outputPerMTok: 15 } };

it('a result checkpointed only in toolResults goes back into the transcript: history intact, no tool call repeated', {
  timeout: 180_000,
}, async () => {
  const upstream = await fakeAnthropicUpstream({
    turn: (n) =>
      n < 3
        ? { toolCalls: [{ name: 'step', id: `t${n + 1}`, input: { n: n + 1 } }], delayMs: 200 }
        : { text: 'all steps done' },
  });
  const executions = new Map<string, number>();
  const step = defineTool({
    name: 'step',
    description: 'Does step n',
    input: z.object({ n: z.number() }),
    execute: async ({ n }, { idempotencyKey }) => {
      executions.set(idempotencyKey, (executions.get(idempotencyKey) ?? 0) + 1);
      return `step ${n} done`;
    },
  });
  const runtime = claudeAgentRuntime({
    model: 'claude-resume-test',
    tools: [step],
    upstream: { baseURL: upstream.url },
  });
  const controller = new AbortController();
  let saved: RunState | undefined;
  const first = await runtime.run({
    runId: 'resume-2',
    input: { prompt: 'go' },
    limits: { prices: PRICES },
    signal: controller.signal,
    emit: () => {},
    // "Crash" at the first checkpoint holding a result that the transcript does not hold yet.
    checkpoint: async (state) => {
      if (controller.signal.aborted || state.toolResults.length === 0) return;
      saved = structuredClone(state);
      controller.abort(new Error('crash'));
    },
  });
  expect(first.status).toBe('aborted');
  expect(saved?.toolResults.map((r) => r.toolCallId)).toEqual(['t1']);
  expect(saved?.messages.some((m) => m.role === 'tool')).toBe(false);

  const second = await runtime.run({
    runId: 'resume-2',
    input: {},
    limits: { prices: PRICES },
    signal: new AbortController().signal,
    emit: () => {},
    checkpoint: async () => {},
    resumeFrom: { kind: 'attempt', state: saved! },
  });
  expect(second.status).toBe('completed');
  expect(second.output).toBe('all steps done');
  expect(second.state.messages.map((m) => m.role)).toEqual([
    'user',
    'assistant',
    'tool',
    'assistant',
    'tool',
    'assistant',
    'tool',
    'assistant',
  ]);
  expect(second.state.messages[2]).toMatchObject({
    role: 'tool',
    content: [{ toolCallId: 't1', output: 'step 1 done' }],
  });
  expect(Object.fromEntries(executions)).toEqual({
    'resume-2:t1': 1,
    'resume-2:t2': 1,
    'resume-2:t3': 1,
  });
  await upstream.close();
});
