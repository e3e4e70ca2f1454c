// Hard budgets under the OpenAI Agents SDK, beyond the conformance fuzz: every budget kind, a
// model that makes parallel tool calls and writes as much as it may, resumes counted. No run may
// spend past any of its budgets. The counts are printed for the closing note.
import { type Budgets, defineTool, promptTokens, type RuntimeResult, totalTokens } from 'loopwork';
import { openAIAgentsRuntime, scriptedAgentsModel } from 'loopwork/openai-agents';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const PRICES = { scripted: { inputPerMTok: 1_000, outputPerMTok: 4_000 } };

function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 16_807) % 2_147_483_647;
    return state / 2_147_483_647;
  };
}

/** The budgets a result spent past (none is the point). */
function overshoots(result: RuntimeResult, budgets: Budgets): string[] {
  const passed: string[] = [];
  const { usage } = result;
  if (budgets.maxInputTokens !== undefined && promptTokens(usage) > budgets.maxInputTokens)
    passed.push('input');
  if (budgets.maxOutputTokens !== undefined && usage.outputTokens > budgets.maxOutputTokens)
    passed.push('output');
  if (budgets.maxTotalTokens !== undefined && totalTokens(usage) > budgets.maxTotalTokens)
    passed.push('total');
  if (budgets.maxCostUsd !== undefined && result.costUsd > budgets.maxCostUsd + 1e-9)
    passed.push('cost');
  return passed;
}

const note = defineTool({
  name: 'note',
  description: 'Takes a note',
  input: z.object({ text: z.string() }),
  execute: ({ text }) => `noted: ${text}`,
});

describe('hard budgets on the OpenAI Agents SDK (fuzz)', () => {
  it('no run passes any budget: every budget kind, parallel tool calls, outputs up to the cap (80 runs)', async () => {
    const next = random(23);
    const failures: string[] = [];
    const statuses: Record<string, number> = {};
    const runs = 80;
    for (let i = 0; i < runs; i++) {
      const kind = i % 4;
      const budgets: Budgets = {
        ...(kind === 0 ? { maxInputTokens: 200 + Math.floor(next() * 2_000) } : {}),
        ...(kind === 1 ? { maxOutputTokens: 100 + Math.floor(next() * 2_000) } : {}),
        ...(kind === 2 ? { maxTotalTokens: 300 + Math.floor(next() * 3_000) } : {}),
        ...(kind === 3 ? { maxCostUsd: 0.5 + next() * 4 } : {}),
      };
      const model = scriptedAgentsModel({
        turns: () => {
          const calls = 1 + Math.floor(next() * 3);
          return {
            text: next() < 0.3 ? 'thinking out loud' : '',
            toolCalls: Array.from({ length: calls }, (_, j) => ({
              name: 'note',
              input: { text: `n${j}` },
            })),
            // The model writes as much as it may, or a little.
            usage: { outputTokens: next() < 0.5 ? 10_000 : 1 + Math.floor(next() * 60) },
            delayMs: Math.floor(next() * 3),
          };
        },
      });
      const runtime = openAIAgentsRuntime({
        model,
        tools: [note],
        minTokensPerCall: 8,
        // Above the largest answer: every cut is a budget's, so every run ends on its budget.
        maxTokensPerCall: 50_000,
        maxTurns: 200,
      });
      const result = await runtime.run({
        runId: `fuzz-${i}`,
        input: { prompt: 'go' },
        limits: { ...budgets, prices: PRICES },
        signal: new AbortController().signal,
        emit: () => {},
        checkpoint: async () => {},
      });
      statuses[result.status] = (statuses[result.status] ?? 0) + 1;
      const passed = overshoots(result, budgets);
      if (passed.length > 0) failures.push(`run ${i}: ${passed.join(', ')}`);
    }
    console.log(
      `[openai-agents budget fuzz] runs: ${runs}, overshoots: ${failures.length}, statuses: ${JSON.stringify(statuses)}`,
    );
    expect(failures).toEqual([]);
    // Every run ends on one of its budgets, none by failing.
    expect(statuses).toEqual({ budget_exceeded: runs });
  });

  it('a resumed run counts what it spent before: the budget holds over both attempts', async () => {
    const next = random(5);
    let overshot = 0;
    for (let i = 0; i < 20; i++) {
      const budgets: Budgets = { maxCostUsd: 0.5 + next() * 2 };
      const model = scriptedAgentsModel({
        turns: () => ({
          toolCalls: [{ name: 'note', input: { text: 'x' } }],
          usage: { outputTokens: 1 + Math.floor(next() * 200) },
        }),
      });
      const runtime = openAIAgentsRuntime({ model, tools: [note], minTokensPerCall: 8 });
      const controller = new AbortController();
      const saved: Parameters<Parameters<typeof runtime.run>[0]['checkpoint']>[0][] = [];
      const options = {
        runId: `resume-${i}`,
        input: { prompt: 'go' },
        limits: { ...budgets, prices: PRICES },
        emit: () => {},
      };
      // The first attempt is cut short after its third checkpoint.
      await runtime.run({
        ...options,
        signal: controller.signal,
        checkpoint: async (state) => {
          saved.push(structuredClone(state));
          if (saved.length === 3) controller.abort(new Error('crash'));
        },
      });
      const last = saved.at(-1)!;
      const second = await runtime.run({
        ...options,
        signal: new AbortController().signal,
        checkpoint: async () => {},
        resumeFrom: { kind: 'attempt', state: last },
      });
      expect(second.status).toBe('budget_exceeded');
      expect(second.state.turns.length).toBeGreaterThanOrEqual(last.turns.length);
      overshot += overshoots(second, budgets).length;
    }
    expect(overshot).toBe(0);
  });
});
