// Hard budgets for the real claude binary through budgetProxy: random budgets of every kind; the
// upstream (fakeAnthropicUpstream) keeps Claude Code calling (an allowed Bash echo), writes a
// little or as much as it may (cut at max_tokens), caches part of the prompt. What each run spent
// is measured by what the upstream BILLED, not by what loopwork counted: no run may pass a budget.
import { totalTokens } from 'loopwork';
import { fakeAnthropicUpstream } from 'loopwork/claude-agent-sdk';
import { afterAll, expect, it } from 'vitest';
import {
  ANTHROPIC_UPSTREAM_KEY,
  CLAUDE_MODEL,
  CLAUDE_PRICES,
  findClaude,
  proxiedClaude,
  removeClaudeDirs,
} from './claude-bin';
import { budgetsOf, overshoots, random, sumBilled } from './fuzz-helpers';
import { runOnce } from './run-helpers';

afterAll(removeClaudeDirs);

const RUNS = 10;
const claude = findClaude();

it(`no claude run through the budget proxy passes a budget, by what the upstream billed (${RUNS} runs)`, {
  timeout: 900_000,
}, async () => {
  if ('missing' in claude) throw new Error(`the claude binary cannot run here: ${claude.missing}`);
  const next = random(17);
  const failures: string[] = [];
  const statuses: Record<string, number> = {};
  let calls = 0;
  let overshot = 0;
  for (let i = 0; i < RUNS; i++) {
    const budgets = budgetsOf(i, next, {
      input: [40_000, 120_000],
      output: [100, 3_000],
      total: [40_000, 120_000],
      cost: [0.1, 0.4],
    });
    const upstream = await fakeAnthropicUpstream({
      apiKey: ANTHROPIC_UPSTREAM_KEY,
      turn: (n) => ({
        text: `Step ${n}.`,
        toolCalls: [
          {
            id: `toolu_${i}_${n}`,
            name: 'Bash',
            input: { command: `echo step${n}`, description: 'Echo' },
          },
        ],
        usage: {
          outputTokens: next() < 0.2 ? 40_000 : 1 + Math.floor(next() * 400),
          cacheReadTokens: Math.floor(next() * 2_000),
        },
      }),
    });
    try {
      const { result } = await runOnce(proxiedClaude(claude.path, upstream.url), {
        runId: `claude-fuzz-${i}`,
        limits: { prices: CLAUDE_PRICES, maxTurns: 40, ...budgets },
      });
      statuses[result.status] = (statuses[result.status] ?? 0) + 1;
      calls += upstream.requests.length;
      const billed = sumBilled(upstream.billed);
      const passed = overshoots(billed, budgets, CLAUDE_PRICES[CLAUDE_MODEL]);
      if (passed.length > 0) {
        overshot++;
        failures.push(
          `run ${i} ${JSON.stringify(budgets)} passed ${passed} billed ${JSON.stringify(billed)}`,
        );
      }
      // loopwork never counts less than was billed.
      if (totalTokens(result.usage) < totalTokens(billed))
        failures.push(
          `run ${i} counted ${totalTokens(result.usage)} < billed ${totalTokens(billed)}`,
        );
      if (result.status !== 'budget_exceeded' && result.status !== 'max_turns')
        failures.push(`run ${i} ended ${result.status}: ${result.error?.message}`);
    } finally {
      await upstream.close();
    }
  }
  console.log(
    `claude budget-proxy fuzz: ${RUNS} runs, ${calls} upstream calls, statuses ${JSON.stringify(statuses)}, overshoots ${overshot}`,
  );
  expect(failures).toEqual([]);
});
