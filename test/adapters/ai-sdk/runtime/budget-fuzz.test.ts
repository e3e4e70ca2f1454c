// Hard budgets on the AI SDK ToolLoopAgent, beyond the conformance fuzz: every budget kind, a
// model that calls two tools per step and writes as much as it may (or a little), and one that
// reports no usage at all (counted at its worst case). No run may spend past any of its budgets.
import { type Budgets, defineTool, promptTokens, type RuntimeResult, totalTokens } from 'loopwork';
import { scriptedLanguageModel, toolLoopAgentRuntime } from 'loopwork/ai-sdk';
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

const echo = defineTool({
  name: 'echo',
  description: 'Echoes its text',
  input: z.object({ text: z.string() }),
  execute: ({ text }) => text.repeat(20),
});

describe('hard budgets on the AI SDK ToolLoopAgent (fuzz)', () => {
  it('no run passes any budget, whatever the model writes (80 runs)', async () => {
    const next = random(23);
    const failures: string[] = [];
    const statuses: Record<string, number> = {};
    const runs = 80;
    for (let i = 0; i < runs; i++) {
      const kind = i % 4;
      const budgets: Budgets = {
        ...(kind === 0 ? { maxInputTokens: 200 + Math.floor(next() * 3_000) } : {}),
        ...(kind === 1 ? { maxOutputTokens: 100 + Math.floor(next() * 2_000) } : {}),
        ...(kind === 2 ? { maxTotalTokens: 300 + Math.floor(next() * 4_000) } : {}),
        ...(kind === 3 ? { maxCostUsd: 0.5 + next() * 4 } : {}),
      };
      const model = await scriptedLanguageModel({
        turns: (_request, n) => ({
          text: 'thinking out loud '.repeat(1 + Math.floor(next() * 5)),
          toolCalls: [
            { name: 'echo', input: { text: `a${n}` }, id: `a${n}` },
            { name: 'echo', input: { text: `b${n}` }, id: `b${n}` },
          ],
          usage: { outputTokens: next() < 0.4 ? 10_000 : 1 + Math.floor(next() * 80) },
        }),
      });
      const runtime = toolLoopAgentRuntime({
        model,
        tools: [echo],
        minTokensPerCall: 8,
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
      `[ai-sdk budget fuzz] runs: ${runs}, overshoots: ${failures.length}, statuses: ${JSON.stringify(statuses)}`,
    );
    expect(failures).toEqual([]);
    // Runs end on a budget, or complete when an answer hit the per-call cap (4096) before any
    // budget; none fails.
    expect(Object.keys(statuses).sort()).toEqual(['budget_exceeded', 'completed']);
    expect(statuses.budget_exceeded).toBeGreaterThan(runs / 2);
  });

  it('a model that reports no usage is counted at its worst case and stopped in time (20 runs)', async () => {
    const { MockLanguageModelV3 } = await import('ai/test');
    const next = random(5);
    let overshot = 0;
    const statuses: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      const maxTotalTokens = 500 + Math.floor(next() * 5_000);
      const model = new MockLanguageModelV3({
        modelId: 'scripted',
        doGenerate: async () => ({
          content: [
            { type: 'tool-call', toolCallId: `c${i}`, toolName: 'echo', input: '{"text":"x"}' },
          ],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage: {
            inputTokens: {
              total: undefined,
              noCache: undefined,
              cacheRead: undefined,
              cacheWrite: undefined,
            },
            outputTokens: { total: undefined, text: undefined, reasoning: undefined },
          },
          warnings: [],
        }),
      });
      // No doStream: the runtime streams, so a generate-only model is streamed by simulation.
      const { simulateStreamingMiddleware, wrapLanguageModel } = await import('ai');
      const streaming = wrapLanguageModel({ model, middleware: simulateStreamingMiddleware() });
      const result = await toolLoopAgentRuntime({
        model: streaming,
        tools: [echo],
        minTokensPerCall: 8,
      }).run({
        runId: `silent-${i}`,
        input: { prompt: 'go' },
        limits: { maxTotalTokens, prices: PRICES },
        signal: new AbortController().signal,
        emit: () => {},
        checkpoint: async () => {},
      });
      statuses[result.status] = (statuses[result.status] ?? 0) + 1;
      if (totalTokens(result.usage) > maxTotalTokens) overshot++;
    }
    console.log(`[ai-sdk budget fuzz, no usage reported] runs: 20, overshoots: ${overshot}`);
    expect(overshot).toBe(0);
    expect(statuses).toEqual({ budget_exceeded: 20 });
  });
});
