// Hard budgets for the Claude Agent SDK, measured by what the upstream billed (the fake upstream's
// own account of every answer it sent), not by loopwork's ledger: with the budget proxy no run
// passes any of its budgets. Against it, the SDK's own `maxBudgetUsd` (checked after each turn)
// is run on the same kind of script, and its overshoots are counted: they are why the proxy exists.
import {
  type Budgets,
  costOf,
  defineTool,
  findPrice,
  promptTokens,
  type RuntimeResult,
  totalTokens,
  type Usage,
} from 'loopwork';
import { claudeAgentRuntime, fakeAnthropicUpstream } from 'loopwork/claude-agent-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const MODEL = 'claude-sonnet-4-5';
const PRICES = { [MODEL]: { inputPerMTok: 3, outputPerMTok: 15 } };
const RUNS = 16;

function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 16_807) % 2_147_483_647;
    return state / 2_147_483_647;
  };
}

const step = defineTool({
  name: 'step',
  description: 'Does step n',
  input: z.object({ n: z.number() }),
  execute: async ({ n }) => `step ${n} done`,
});

/** What the upstream billed since `from`: usage and cost at PRICES. */
function billedSince(billed: Array<{ usage: Usage }>, from: number) {
  const usage: Usage = {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
  for (const { usage: u } of billed.slice(from)) {
    usage.inputTokens += u.inputTokens;
    usage.outputTokens += u.outputTokens;
  }
  return { usage, costUsd: costOf(usage, findPrice(PRICES, MODEL)!) };
}

function passed(spent: { usage: Usage; costUsd: number }, budgets: Budgets): string[] {
  const out: string[] = [];
  if (budgets.maxInputTokens !== undefined && promptTokens(spent.usage) > budgets.maxInputTokens)
    out.push('input');
  if (budgets.maxOutputTokens !== undefined && spent.usage.outputTokens > budgets.maxOutputTokens)
    out.push('output');
  if (budgets.maxTotalTokens !== undefined && totalTokens(spent.usage) > budgets.maxTotalTokens)
    out.push('total');
  if (budgets.maxCostUsd !== undefined && spent.costUsd > budgets.maxCostUsd + 1e-9)
    out.push('cost');
  return out;
}

const next = random(23);
// Steps forever; each answer is long (up to 20k tokens, as much as it may) or short.
const upstream = await fakeAnthropicUpstream({
  turn: (n) => ({
    toolCalls: [{ name: 'step', id: `t${n + 1}`, input: { n: n + 1 } }],
    usage: { outputTokens: next() < 0.5 ? 20_000 : 1 + Math.floor(next() * 400) },
  }),
});
afterAll(() => upstream.close());

const run = (
  runtime: ReturnType<typeof claudeAgentRuntime>,
  runId: string,
  budgets: Budgets,
): Promise<RuntimeResult> =>
  runtime.run({
    runId,
    input: { prompt: 'go' },
    limits: { ...budgets, prices: PRICES, maxTurns: 30 },
    signal: new AbortController().signal,
    emit: () => {},
    checkpoint: async () => {},
  });

describe('hard budgets on the Claude Agent SDK (fuzz)', () => {
  it(`with the budget proxy, no run passes any budget by what the upstream billed (${RUNS} runs)`, {
    timeout: 600_000,
  }, async () => {
    const runtime = claudeAgentRuntime({
      model: MODEL,
      tools: [step],
      upstream: { baseURL: upstream.url },
    });
    const failures: string[] = [];
    const statuses: Record<string, number> = {};
    for (let i = 0; i < RUNS; i++) {
      const kind = i % 4;
      const budgets: Budgets = {
        ...(kind === 0 ? { maxInputTokens: 2_000 + Math.floor(next() * 8_000) } : {}),
        ...(kind === 1 ? { maxOutputTokens: 100 + Math.floor(next() * 30_000) } : {}),
        ...(kind === 2 ? { maxTotalTokens: 2_000 + Math.floor(next() * 30_000) } : {}),
        ...(kind === 3 ? { maxCostUsd: 0.01 + next() * 0.4 } : {}),
      };
      const from = upstream.billed.length;
      const result = await run(runtime, `fuzz-${i}`, budgets);
      statuses[result.status] = (statuses[result.status] ?? 0) + 1;
      const billed = billedSince(upstream.billed, from);
      const over = passed(billed, budgets);
      if (over.length > 0)
        failures.push(`run ${i} (${JSON.stringify(budgets)}): ${over.join(', ')}`);
      // The ledger's account matches the upstream's.
      expect(result.usage.outputTokens).toBe(billed.usage.outputTokens);
    }
    console.log(
      `claude-agent-sdk budget fuzz (proxy): runs ${RUNS}, overshoots ${failures.length}, statuses ${JSON.stringify(statuses)}`,
    );
    expect(failures).toEqual([]);
    expect(statuses).toEqual({ budget_exceeded: RUNS });
  });

  it('for contrast, the SDK’s own maxBudgetUsd alone (checked after each turn) spends past it', {
    timeout: 600_000,
  }, async () => {
    const runs = 6;
    let overshoots = 0;
    for (let i = 0; i < runs; i++) {
      const maxCostUsd = 0.05 + next() * 0.3;
      const runtime = claudeAgentRuntime({
        model: MODEL,
        tools: [step],
        upstream: { baseURL: upstream.url },
        options: { maxBudgetUsd: maxCostUsd },
      });
      const from = upstream.billed.length;
      await run(runtime, `sdk-budget-${i}`, {});
      if (billedSince(upstream.billed, from).costUsd > maxCostUsd) overshoots++;
    }
    console.log(
      `claude-agent-sdk budget fuzz (SDK maxBudgetUsd alone): runs ${runs}, overshoots ${overshoots}`,
    );
    expect(overshoots).toBeGreaterThan(0);
  });
});
