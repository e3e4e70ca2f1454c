// The budget proxy under load, without Codex: the real `openai` client sends rounds of one to
// three concurrent calls (streamed or JSON, prompts of random size) until the proxy refuses one;
// the scripted upstream writes a little or as much as it may, caches part of the prompt, drops
// some streams. Overshoots are measured by what the upstream BILLED.
import { type Budgets, totalTokens } from 'loopwork';
import { createBudgetLedger } from 'loopwork/adapter-kit';
import { responsesBudgetProxy } from 'loopwork/process';
import OpenAI from 'openai';
import { expect, it } from 'vitest';
import { overshoots, random } from './fuzz-helpers';
import { startResponsesUpstream, type UpstreamReply } from './responses-upstream';

const PRICE = { inputPerMTok: 2, outputPerMTok: 8, cacheReadPerMTok: 0.5 };

const RUNS = 200;

it(`no run through the proxy is billed past a budget (${RUNS} runs, concurrent calls)`, {
  timeout: 600_000,
}, async () => {
  const next = random(7);
  const failures: string[] = [];
  let calls = 0;
  let refused = 0;
  for (let i = 0; i < RUNS; i++) {
    const kind = i % 4;
    const budgets: Budgets = {
      ...(kind === 0 ? { maxInputTokens: 500 + Math.floor(next() * 5_000) } : {}),
      ...(kind === 1 ? { maxOutputTokens: 300 + Math.floor(next() * 3_000) } : {}),
      ...(kind === 2 ? { maxTotalTokens: 1_000 + Math.floor(next() * 8_000) } : {}),
      ...(kind === 3 ? { maxCostUsd: 0.005 + next() * 0.05 } : {}),
    };
    const upstream = await startResponsesUpstream(
      (): UpstreamReply =>
        next() < 0.08
          ? { kind: 'cut' }
          : {
              kind: 'answer',
              text: 'ok',
              output: next() < 0.4 ? 50_000 : 1 + Math.floor(next() * 200),
              cachedShare: next() * 0.9,
              reasoningShare: next() * 0.5,
            },
    );
    const ledger = createBudgetLedger({
      ...budgets,
      prices: { 'gpt-test': PRICE },
      maxTurns: 500,
      minTokensPerCall: 16,
    });
    const proxy = await responsesBudgetProxy({
      ledger,
      upstream: { baseURL: upstream.url, apiKey: 'sk-fuzz' },
    });
    const client = new OpenAI({ apiKey: proxy.token, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
    const call = async () => {
      const input = 'x'.repeat(20 + Math.floor(next() * 3_000));
      calls++;
      if (next() < 0.5) {
        const stream = await client.responses.create({ model: 'gpt-test', input, stream: true });
        for await (const _ of stream);
      } else await client.responses.create({ model: 'gpt-test', input });
    };
    try {
      for (let round = 0; round < 200 && !proxy.stop; round++) {
        const width = 1 + Math.floor(next() * 3);
        const outcomes = await Promise.allSettled(Array.from({ length: width }, call));
        for (const outcome of outcomes)
          if (outcome.status === 'rejected' && outcome.reason instanceof OpenAI.BadRequestError)
            refused++;
      }
      if (!proxy.stop) failures.push(`run ${i} never refused a call`);
      const passed = overshoots(upstream.billed, budgets, PRICE);
      if (passed.length > 0)
        failures.push(
          `run ${i} passed ${passed} ${JSON.stringify(budgets)} billed ${JSON.stringify(upstream.billed)}`,
        );
      if (totalTokens(ledger.spent().usage) < totalTokens(upstream.billed))
        failures.push(`run ${i}: the ledger counted less than the upstream billed`);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  }
  console.log(
    `responses proxy fuzz: ${RUNS} runs, ${calls} calls, ${refused} refused, overshoots ${failures.filter((f) => f.includes('passed')).length}`,
  );
  expect(failures).toEqual([]);
});
