// Hard budgets on a process task, beyond the conformance fuzz: every budget kind, on the scripted
// loopwork-ndjson agent process, which asks leave before each model call and is given the output
// cap the budgets allow (its model writes as much as it may, or a little). No run may spend past
// any of its budgets.
import { type Budgets, promptTokens, type RuntimeResult, totalTokens } from 'loopwork';
import { processRuntime } from 'loopwork/process';
import { afterAll, expect, it } from 'vitest';
import { PRICES, runOnce } from './run-helpers';
import { closeServers, SCRIPTED_AGENT, serveTurns } from './scenario-server';

afterAll(closeServers);

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

const RUNS = 24;

it(`no process task passes any budget (${RUNS} runs, every budget kind)`, {
  timeout: 600_000,
}, async () => {
  const next = random(23);
  const failures: string[] = [];
  const statuses: Record<string, number> = {};
  let turns = 0;
  for (let i = 0; i < RUNS; i++) {
    const kind = i % 4;
    const budgets: Budgets = {
      ...(kind === 0 ? { maxInputTokens: 100 + Math.floor(next() * 600) } : {}),
      ...(kind === 1 ? { maxOutputTokens: 100 + Math.floor(next() * 2_000) } : {}),
      ...(kind === 2 ? { maxTotalTokens: 300 + Math.floor(next() * 3_000) } : {}),
      ...(kind === 3 ? { maxCostUsd: 0.5 + next() * 4 } : {}),
    };
    const url = await serveTurns((n) => ({
      toolCalls: [{ name: 'step', input: { n }, id: `t${n}` }],
      usage: { outputTokens: next() < 0.5 ? 10_000 : 1 + Math.floor(next() * 60) },
    }));
    const runtime = processRuntime({
      command: process.execPath,
      args: [SCRIPTED_AGENT],
      env: { LOOPWORK_SCRIPT_URL: url },
      minTokensPerCall: 8,
      maxTurns: 60,
    });
    const { result } = await runOnce(runtime, {
      runId: `fuzz-${i}`,
      limits: { ...budgets, prices: PRICES },
    });
    statuses[result.status] = (statuses[result.status] ?? 0) + 1;
    turns += result.state.turns.length;
    const passed = overshoots(result, budgets);
    if (passed.length > 0) failures.push(`run ${i}: ${passed.join(', ')}`);
  }
  console.log(
    `process budget fuzz: ${RUNS} runs, ${turns} model calls, overshoots ${failures.length}, statuses ${JSON.stringify(statuses)}`,
  );
  expect(failures).toEqual([]);
  expect(statuses.budget_exceeded, 'budgets stopped the runs').toBe(RUNS);
});
