// The budget ledger: the agent loop's clamp for runtimes that make their model calls themselves.
import { BudgetStop, emptyUsage, InvalidOptionError, type Usage } from 'loopwork';
import { createBudgetLedger, outputAllowance } from 'loopwork/adapter-kit';
import { describe, expect, it } from 'vitest';

const price = { scripted: { inputPerMTok: 1_000, outputPerMTok: 2_000 } }; // $0.001 / $0.002 a token
const usage = (inputTokens: number, outputTokens: number): Usage => ({
  ...emptyUsage(),
  inputTokens,
  outputTokens,
});

describe('createBudgetLedger', () => {
  it('clamps a call exactly as the agent loop does', () => {
    const ledger = createBudgetLedger({ maxCostUsd: 1, prices: price, maxTokensPerCall: 4096 });
    const ticket = ledger.allow({ modelId: 'scripted', estimatedInputTokens: 100 });
    const loop = outputAllowance(
      { maxCostUsd: 1 },
      { usage: emptyUsage(), costUsd: 0 },
      100,
      4096,
      {
        inputPerMTok: 1_000,
        outputPerMTok: 2_000,
      },
    );
    expect(ticket.maxOutputTokens).toBe(loop.maxTokens);
    expect(ticket.limitedBy).toBe('cost_usd');
  });

  it('counts calls in flight at their worst case, so parallel calls cannot pass the budget together', () => {
    const ledger = createBudgetLedger({ maxOutputTokens: 1_000, minTokensPerCall: 100 });
    const first = ledger.allow({ modelId: 'm', estimatedInputTokens: 10 });
    expect(first.maxOutputTokens).toBe(1_000);
    // While the first may still use all 1,000, nothing is left for a second.
    expect(() => ledger.allow({ modelId: 'm', estimatedInputTokens: 10 })).toThrow(BudgetStop);
    ledger.record(first, usage(10, 300));
    const second = ledger.allow({ modelId: 'm', estimatedInputTokens: 10 });
    expect(second.maxOutputTokens).toBe(700);
    ledger.release(second); // failed without usage
    expect(ledger.allow({ modelId: 'm', estimatedInputTokens: 10 }).maxOutputTokens).toBe(700);
  });

  it('stops at maxTurns, counting earlier turns and calls in flight', () => {
    const earlier = [
      { turn: 1, modelId: 'm', usage: usage(1, 1), costUsd: 0, stopReason: 'end_turn' as const },
    ];
    const ledger = createBudgetLedger({ maxTurns: 2, turns: earlier });
    ledger.allow({ modelId: 'm', estimatedInputTokens: 1 });
    const stop = (() => {
      try {
        ledger.allow({ modelId: 'm', estimatedInputTokens: 1 });
      } catch (error) {
        return error;
      }
    })();
    expect(BudgetStop.isInstance(stop)).toBe(true);
    expect(stop).toMatchObject({ status: 'max_turns', code: 'budget_exceeded' });
  });

  it('records usage and cost per call, and totals them with earlier turns', () => {
    const ledger = createBudgetLedger({ prices: price });
    const ticket = ledger.allow({ modelId: 'scripted', estimatedInputTokens: 50 });
    const record = ledger.record(ticket, usage(40, 10), 'end_turn');
    expect(record).toEqual({
      turn: 1,
      modelId: 'scripted',
      usage: usage(40, 10),
      costUsd: 40 * 0.001 + 10 * 0.002,
      stopReason: 'end_turn',
    });
    expect(ledger.spent()).toEqual({ usage: usage(40, 10), costUsd: record.costUsd });
    expect(ledger.turns()).toHaveLength(1);
  });

  it('refuses a cost budget for a model without a price, naming it', () => {
    const ledger = createBudgetLedger({ maxCostUsd: 1 });
    expect(() => ledger.allow({ modelId: 'mystery-model', estimatedInputTokens: 1 })).toThrow(
      InvalidOptionError,
    );
  });

  it('fuzz: random parallel calls that use at most what they were allowed never pass a budget', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    let overshoots = 0;
    let stops = 0;
    for (let run = 0; run < 500; run++) {
      const maxCostUsd = 0.05 + random() * 2;
      const maxTotalTokens = 500 + Math.floor(random() * 5_000);
      const ledger = createBudgetLedger({
        maxCostUsd,
        maxTotalTokens,
        prices: price,
        minTokensPerCall: 1,
      });
      const inFlight: Array<{ ticket: ReturnType<typeof ledger.allow>; estimate: number }> = [];
      for (let step = 0; step < 40; step++) {
        if (inFlight.length > 0 && random() < 0.5) {
          const { ticket, estimate } = inFlight.splice(
            Math.floor(random() * inFlight.length),
            1,
          )[0]!;
          // A call uses at most its estimate of input and its allowed output.
          ledger.record(
            ticket,
            usage(
              Math.floor(random() * estimate),
              Math.floor(random() * (ticket.maxOutputTokens + 1)),
            ),
          );
          continue;
        }
        const estimate = 1 + Math.floor(random() * 300);
        try {
          inFlight.push({
            ticket: ledger.allow({ modelId: 'scripted', estimatedInputTokens: estimate }),
            estimate,
          });
        } catch (error) {
          if (!BudgetStop.isInstance(error)) throw error;
          stops++;
        }
      }
      for (const { ticket } of inFlight) ledger.record(ticket, usage(0, ticket.maxOutputTokens));
      const spent = ledger.spent();
      const tokens = spent.usage.inputTokens + spent.usage.outputTokens;
      if (spent.costUsd > maxCostUsd + 1e-9 || tokens > maxTotalTokens) overshoots++;
    }
    expect(stops, 'budgets were reached').toBeGreaterThan(100);
    expect(overshoots).toBe(0);
  });
});
