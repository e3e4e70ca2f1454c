// Hard budgets under LangGraph, beyond the conformance fuzz: every budget kind, and a graph that
// calls the model three times in parallel per step (calls in flight are held at their worst
// case). No run may spend past any of its budgets.
import { HumanMessage } from '@langchain/core/messages';
import { MessagesAnnotation, StateGraph } from '@langchain/langgraph';
import { type Budgets, promptTokens, type RuntimeResult, totalTokens } from 'loopwork';
import { langGraphRuntime, scriptedChatModel } from 'loopwork/langgraph';
import { describe, expect, it } from 'vitest';

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

describe('hard budgets on LangGraph (fuzz)', () => {
  it('no run of a graph with three parallel model calls per step passes any budget (60 runs)', async () => {
    const next = random(11);
    const failures: string[] = [];
    const statuses: Record<string, number> = {};
    for (let i = 0; i < 60; i++) {
      const kind = i % 4;
      const budgets: Budgets = {
        ...(kind === 0 ? { maxInputTokens: 200 + Math.floor(next() * 2_000) } : {}),
        ...(kind === 1 ? { maxOutputTokens: 100 + Math.floor(next() * 2_000) } : {}),
        ...(kind === 2 ? { maxTotalTokens: 300 + Math.floor(next() * 3_000) } : {}),
        ...(kind === 3 ? { maxCostUsd: 0.5 + next() * 4 } : {}),
      };
      const model = await scriptedChatModel({
        turns: () => ({
          text: 'thinking out loud',
          usage: { outputTokens: next() < 0.5 ? 10_000 : 1 + Math.floor(next() * 60) },
          delayMs: Math.floor(next() * 3),
        }),
      });
      const runtime = langGraphRuntime({
        model,
        minTokensPerCall: 8,
        maxTurns: 60,
        graph: ({ model }) =>
          new StateGraph(MessagesAnnotation)
            .addNode('fan', async (state) => {
              const answers = await Promise.all([1, 2, 3].map(() => model.invoke(state.messages)));
              return { messages: [...answers, new HumanMessage('more')] };
            })
            .addEdge('__start__', 'fan')
            .addEdge('fan', 'fan')
            .compile(),
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
    expect(failures).toEqual([]);
    // Every run ends on one of its budgets, none by failing.
    expect(statuses).toEqual({ budget_exceeded: 60 });
  });
});
