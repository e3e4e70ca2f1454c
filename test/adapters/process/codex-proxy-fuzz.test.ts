// Hard budgets for the real codex binary through budgetProxy: random budgets of every kind; the
// scripted upstream keeps Codex calling (a function it does not have), writes a little or as much
// as it may (cut at max_output_tokens, then `incomplete`), caches part of the prompt, sometimes
// drops the stream. What each run spent is measured by what the upstream BILLED, not by what
// loopwork counted: no run may pass any budget.
import { totalTokens } from 'loopwork';
import { afterAll, expect, it } from 'vitest';
import { findCodex, GPT_PRICES, proxiedCodex, removeCodexHomes } from './codex-bin';
import { budgetsOf, overshoots, random } from './fuzz-helpers';
import { startResponsesUpstream, type UpstreamReply } from './responses-upstream';
import { runOnce } from './run-helpers';

afterAll(removeCodexHomes);

const RUNS = 16;
const codex = findCodex();

it(`no codex run through the budget proxy passes a budget, by what the upstream billed (${RUNS} runs)`, {
  timeout: 900_000,
}, async () => {
  if ('missing' in codex) throw new Error(`the codex binary cannot run here: ${codex.missing}`);
  const next = random(11);
  const failures: string[] = [];
  const statuses: Record<string, number> = {};
  let calls = 0;
  for (let i = 0; i < RUNS; i++) {
    const budgets = budgetsOf(i, next, {
      input: [15_000, 50_000],
      output: [50, 400],
      total: [15_000, 50_000],
      cost: [0.015, 0.06],
    });
    const upstream = await startResponsesUpstream((n): UpstreamReply => {
      if (next() < 0.1) return { kind: 'cut' };
      return {
        kind: 'answer',
        toolCalls: [{ id: `call_${n}`, name: 'loopwork_probe', args: [`{"n":${n}}`] }],
        output: next() < 0.2 ? 10_000 : 1 + Math.floor(next() * 60),
        cachedShare: next() * 0.8,
        reasoningShare: next() * 0.5,
      };
    });
    try {
      const { result } = await runOnce(proxiedCodex(codex.path, upstream.url), {
        runId: `codex-fuzz-${i}`,
        limits: { prices: GPT_PRICES, maxTurns: 40, ...budgets },
      });
      statuses[result.status] = (statuses[result.status] ?? 0) + 1;
      calls += upstream.requests.length;
      const passed = overshoots(upstream.billed, budgets, GPT_PRICES['gpt-5.5']);
      if (passed.length > 0)
        failures.push(
          `run ${i} ${JSON.stringify(budgets)} billed ${JSON.stringify(upstream.billed)}`,
        );
      // loopwork never counts less than was billed (a dropped stream is counted at its worst case).
      if (totalTokens(result.usage) < totalTokens(upstream.billed))
        failures.push(`run ${i} counted ${totalTokens(result.usage)} < billed`);
      if (result.status !== 'budget_exceeded')
        failures.push(`run ${i} ended ${result.status}: ${result.error?.message}`);
    } finally {
      await upstream.close();
    }
  }
  console.log(
    `codex budget-proxy fuzz: ${RUNS} runs, ${calls} upstream calls, statuses ${JSON.stringify(statuses)}, overshoots ${failures.filter((f) => f.includes('billed {')).length}`,
  );
  expect(failures).toEqual([]);
});
