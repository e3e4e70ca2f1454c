import {
  emptyUsage,
  estimateInputTokens,
  type ModelPrice,
  promptTokens,
  type RunState,
  runAgent,
  type Spent,
} from 'loopwork';
import { budgetsToWarn, outputAllowance, turnLimitReached } from 'loopwork/adapter-kit';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { countingEcho, eventLog, scriptedPrice } from './helpers';

const spent = (usage: Partial<Spent['usage']> = {}, costUsd = 0): Spent => ({
  usage: { ...emptyUsage(), ...usage },
  costUsd,
});

describe('outputAllowance', () => {
  it('is the per-call cap when there are no budgets', () => {
    expect(outputAllowance({}, spent({ outputTokens: 10_000 }), 50_000, 4096, undefined)).toEqual({
      maxTokens: 4096,
    });
  });

  it('maxInputTokens: all or nothing on whether the estimated prompt fits', () => {
    const used = spent({ inputTokens: 50, cacheReadTokens: 30, cacheWriteTokens: 20 }); // 100 prompt tokens
    expect(outputAllowance({ maxInputTokens: 150 }, used, 50, 4096, undefined)).toEqual({
      maxTokens: 4096,
    });
    expect(outputAllowance({ maxInputTokens: 149 }, used, 50, 4096, undefined)).toEqual({
      maxTokens: 0,
      limitedBy: 'input_tokens',
    });
  });

  it('maxOutputTokens: what is left of the output budget, when below the cap', () => {
    expect(
      outputAllowance({ maxOutputTokens: 1000 }, spent({ outputTokens: 300 }), 99, 4096, undefined),
    ).toEqual({
      maxTokens: 700,
      limitedBy: 'output_tokens',
    });
    // The cap is smaller: the budget did not limit the call.
    expect(
      outputAllowance({ maxOutputTokens: 1000 }, spent({ outputTokens: 300 }), 99, 500, undefined),
    ).toEqual({
      maxTokens: 500,
    });
    // Equal to the cap: the cap, not the budget, is reported.
    expect(
      outputAllowance({ maxOutputTokens: 1000 }, spent({ outputTokens: 300 }), 99, 700, undefined),
    ).toEqual({
      maxTokens: 700,
    });
    expect(
      outputAllowance({ maxOutputTokens: 1000 }, spent({ outputTokens: 1200 }), 0, 700, undefined),
    ).toEqual({
      maxTokens: 0,
      limitedBy: 'output_tokens',
    });
  });

  it('maxTotalTokens: what is left after the spent total and the estimated prompt', () => {
    const used = spent({ inputTokens: 60, cacheReadTokens: 40, outputTokens: 300 }); // total 400
    expect(outputAllowance({ maxTotalTokens: 1000 }, used, 50, 4096, undefined)).toEqual({
      maxTokens: 550,
      limitedBy: 'total_tokens',
    });
    expect(outputAllowance({ maxTotalTokens: 1000 }, used, 700, 4096, undefined)).toEqual({
      maxTokens: 0,
      limitedBy: 'total_tokens',
    });
  });

  it('maxCostUsd: prices the prompt at the dearest input rate, cache prices included', () => {
    const price: ModelPrice = {
      inputPerMTok: 3,
      outputPerMTok: 15,
      cacheReadPerMTok: 0.3,
      cacheWritePerMTok: 3.75,
    };
    const allowance = outputAllowance({ maxCostUsd: 0.01 }, spent({}, 0.002), 1000, 4096, price);
    // 0.01 - 0.002 - 1000 × 3.75e-6 = 0.00425 → 283.3 output tokens at 15e-6.
    expect(allowance).toEqual({ maxTokens: 283, limitedBy: 'cost_usd' });
    const worstCase = (out: number) => 0.002 + 1000 * 3.75e-6 + out * 15e-6;
    expect(worstCase(allowance.maxTokens)).toBeLessThanOrEqual(0.01);
    expect(worstCase(allowance.maxTokens + 1)).toBeGreaterThan(0.01);
  });

  it('maxCostUsd: a cache-read price above the input price is the worst case', () => {
    const price: ModelPrice = { inputPerMTok: 1, outputPerMTok: 1, cacheReadPerMTok: 10 };
    // 1000 prompt tokens at $10/M = $0.01; $0.011 leaves $0.001 = 1000 output tokens (less ε).
    expect(outputAllowance({ maxCostUsd: 0.011 }, spent(), 1000, 4096, price)).toEqual({
      maxTokens: 999,
      limitedBy: 'cost_usd',
    });
    // At the plain input rate it would have been 10,000 tokens.
    expect(
      outputAllowance({ maxCostUsd: 0.011 }, spent(), 1000, 100_000, {
        inputPerMTok: 1,
        outputPerMTok: 1,
      }),
    ).toEqual({
      maxTokens: 9999,
      limitedBy: 'cost_usd',
    });
  });

  it('maxCostUsd is ignored without a price (the loop refuses that combination earlier)', () => {
    expect(outputAllowance({ maxCostUsd: 0.000001 }, spent(), 1000, 4096, undefined)).toEqual({
      maxTokens: 4096,
    });
  });

  it('the tightest budget wins and is named', () => {
    const price: ModelPrice = { inputPerMTok: 0, outputPerMTok: 1_000_000 }; // $1 per output token
    const budgets = { maxOutputTokens: 900, maxTotalTokens: 1000, maxCostUsd: 2000 };
    expect(outputAllowance(budgets, spent(), 50, 4096, price)).toEqual({
      maxTokens: 900,
      limitedBy: 'output_tokens',
    });
    expect(outputAllowance(budgets, spent(), 150, 4096, price)).toEqual({
      maxTokens: 850,
      limitedBy: 'total_tokens',
    });
    expect(outputAllowance({ ...budgets, maxCostUsd: 800 }, spent(), 150, 4096, price)).toEqual({
      maxTokens: 799,
      limitedBy: 'cost_usd',
    });
  });
});

describe('turnLimitReached', () => {
  it('is reached once the number of turns taken equals the limit', () => {
    expect(turnLimitReached(0, 1)).toBe(false);
    expect(turnLimitReached(2, 3)).toBe(false);
    expect(turnLimitReached(3, 3)).toBe(true);
    expect(turnLimitReached(4, 3)).toBe(true);
  });
});

describe('budgetsToWarn', () => {
  const budgets = {
    maxInputTokens: 1000,
    maxOutputTokens: 100,
    maxTotalTokens: 5000,
    maxCostUsd: 1,
  };

  it('lists each budget whose use reached the threshold', () => {
    const used = spent({ inputTokens: 500, cacheReadTokens: 300, outputTokens: 79 }, 0.9);
    expect(budgetsToWarn(budgets, used, 0.8, new Set())).toEqual([
      { budget: 'input_tokens', used: 800, limit: 1000 },
      { budget: 'cost_usd', used: 0.9, limit: 1 },
    ]);
  });

  it('skips budgets already warned about and budgets not set', () => {
    const used = spent({ inputTokens: 900, outputTokens: 100 }, 5);
    expect(budgetsToWarn({ maxOutputTokens: 100 }, used, 0.8, new Set())).toEqual([
      { budget: 'output_tokens', used: 100, limit: 100 },
    ]);
    expect(
      budgetsToWarn(budgets, used, 0.8, new Set(['input_tokens', 'cost_usd', 'output_tokens'])),
    ).toEqual([]);
    expect(budgetsToWarn(budgets, used, 1, new Set())).toEqual([
      { budget: 'output_tokens', used: 100, limit: 100 },
      { budget: 'cost_usd', used: 5, limit: 1 },
    ]);
  });
});

describe('the clamp sent to the model', () => {
  it('each request’s maxOutputTokens is what the output budget leaves, and the run stops when less than minTokensPerCall is left', async () => {
    const model = new ScriptedModel({
      turns: [
        { toolCalls: [{ name: 'echo', input: { text: '1' } }], usage: { outputTokens: 700 } },
        { toolCalls: [{ name: 'echo', input: { text: '2' } }], usage: { outputTokens: 500 } },
        { toolCalls: [{ name: 'echo', input: { text: '3' } }], usage: { outputTokens: 300 } },
        { text: 'never asked' },
      ],
    });
    const log = eventLog();
    const result = await runAgent({
      model,
      prompt: 'go',
      tools: [countingEcho().tool],
      maxTokensPerCall: 1000,
      maxOutputTokens: 1500,
      onEvent: log.onEvent,
    });
    expect(model.requests.map((r) => r.maxOutputTokens)).toEqual([1000, 800, 300]);
    expect(log.ofType('turn-started').map((e) => e.maxOutputTokens)).toEqual([1000, 800, 300]);
    expect(result.status).toBe('budget_exceeded');
    expect(result.budget).toBe('output_tokens');
    expect(result.usage.outputTokens).toBe(1500);
  });

  it('minTokensPerCall decides whether a small remainder is worth a call', async () => {
    const script = () =>
      new ScriptedModel({
        turns: [
          { toolCalls: [{ name: 'echo', input: { text: '1' } }], usage: { outputTokens: 500 } },
          { text: 'ok', usage: { outputTokens: 10 } },
        ],
      });
    const tools = [countingEcho().tool];
    const strict = script();
    const stopped = await runAgent({
      model: strict,
      prompt: 'go',
      tools,
      maxOutputTokens: 1000,
      minTokensPerCall: 501,
    });
    expect(stopped.status).toBe('budget_exceeded');
    expect(strict.requests).toHaveLength(1);

    const lenient = script();
    const done = await runAgent({
      model: lenient,
      prompt: 'go',
      tools,
      maxOutputTokens: 1000,
      minTokensPerCall: 500,
    });
    expect(done.status).toBe('completed');
    expect(lenient.requests.map((r) => r.maxOutputTokens)).toEqual([1000, 500]);
  });

  it('a per-call cap below minTokensPerCall is still a valid call size', async () => {
    const model = new ScriptedModel({ turns: [{ text: 'ok' }] });
    const result = await runAgent({ model, prompt: 'go', maxTokensPerCall: 100 });
    expect(result.status).toBe('completed');
    expect(model.requests[0]?.maxOutputTokens).toBe(100);
  });

  it('total and input budgets use the prompt estimate (here a fixed one)', async () => {
    const total = new ScriptedModel({ turns: [{ text: 'ok' }] });
    await runAgent({
      model: total,
      prompt: 'go',
      maxTotalTokens: 1000,
      estimateInputTokens: () => 100,
    });
    expect(total.requests[0]?.maxOutputTokens).toBe(900);

    const fits = new ScriptedModel({ turns: [{ text: 'ok' }] });
    expect(
      (
        await runAgent({
          model: fits,
          prompt: 'go',
          maxInputTokens: 100,
          estimateInputTokens: () => 100,
        })
      ).status,
    ).toBe('completed');
    expect(fits.requests[0]?.maxOutputTokens).toBe(4096);

    const tooBig = new ScriptedModel({ turns: [{ text: 'ok' }] });
    const result = await runAgent({
      model: tooBig,
      prompt: 'go',
      maxInputTokens: 99,
      estimateInputTokens: () => 100,
    });
    expect(result).toMatchObject({ status: 'budget_exceeded', budget: 'input_tokens' });
    expect(tooBig.requests).toHaveLength(0);
  });

  it('the cost budget clamps with the worst-case input rate', async () => {
    // $1 per plain input token, $2 per cache-write token, $1 per output token.
    const prices = scriptedPrice(1_000_000, 1_000_000, { cacheWritePerMTok: 2_000_000 });
    const model = new ScriptedModel({ turns: [{ text: 'ok' }] });
    await runAgent({
      model,
      prompt: 'go',
      maxCostUsd: 500,
      prices,
      estimateInputTokens: () => 100,
    });
    // 500 - 100 × $2 = $300 → 299 tokens (a hair of float slack is kept back).
    expect(model.requests[0]?.maxOutputTokens).toBe(299);
  });

  it('an answer cut off by a budget ends the run as budget_exceeded', async () => {
    const model = new ScriptedModel({
      turns: [{ text: 'x'.repeat(8000), usage: { outputTokens: 2000 } }],
    });
    const result = await runAgent({ model, prompt: 'write a lot', maxOutputTokens: 800 });
    expect(result.status).toBe('budget_exceeded');
    expect(result.budget).toBe('output_tokens');
    expect(result.turns[0]?.stopReason).toBe('max_tokens');
    expect(result.usage.outputTokens).toBe(800);
    expect(result.text).toBe('x'.repeat(3200));
  });

  it('an answer cut off by the per-call cap (no budget) ends the run as completed', async () => {
    // Debatable but deliberate: the budgets did not stop it, the model just hit its cap.
    const model = new ScriptedModel({ turns: [{ text: 'y'.repeat(400) }] });
    const result = await runAgent({ model, prompt: 'write', maxTokensPerCall: 10 });
    expect(result.status).toBe('completed');
    expect(result.turns[0]?.stopReason).toBe('max_tokens');
    expect(result.budget).toBeUndefined();
  });
});

describe('estimateInputTokens', () => {
  const encoder = new TextEncoder();
  const guess = (value: unknown) => Math.ceil(encoder.encode(JSON.stringify(value)).length / 3);
  const state = (turns: RunState['turns'] = []): RunState => ({
    schemaVersion: 1,
    runId: 'r',
    status: 'running',
    messages: [],
    turns,
    toolResults: [],
    suspensions: [],
  });

  it('guesses the whole first request at 3 bytes per token plus 16 per message', () => {
    const request = {
      system: 'Be brief. ✓',
      messages: [{ role: 'user' as const, content: 'Héllo, how are you?' }],
      tools: [{ name: 't', description: 'd', inputSchema: { type: 'object' } }],
      maxOutputTokens: 100,
    };
    expect(estimateInputTokens(request, state())).toBe(
      guess(request.system) + guess(request.tools) + guess('Héllo, how are you?') + 16,
    );
  });

  it('after a call, starts from the counted prompt and output, adding a guess for newer messages', () => {
    const usage = { ...emptyUsage(), inputTokens: 900, cacheReadTokens: 100, outputTokens: 50 };
    const toolMessage = {
      role: 'tool' as const,
      content: [
        {
          type: 'tool-result' as const,
          toolCallId: 'c',
          toolName: 't',
          output: 'sunny',
          isError: false,
        },
      ],
    };
    const request = {
      messages: [
        { role: 'user' as const, content: 'weather?' },
        {
          role: 'assistant' as const,
          content: [{ type: 'tool-call' as const, id: 'c', name: 't', input: {} }],
        },
        toolMessage,
      ],
      maxOutputTokens: 100,
    };
    const previous = state([{ turn: 1, modelId: 'm', usage, costUsd: 0, stopReason: 'tool_use' }]);
    expect(estimateInputTokens(request, previous)).toBe(
      1000 + 50 + 16 + guess(toolMessage.content) + 16,
    );
  });

  it('errs high against the scripted model’s own count on a real run', async () => {
    const model = new ScriptedModel({
      turns: [
        {
          text: 'Looking it up.',
          toolCalls: [{ name: 'echo', input: { text: 'a fairly long input string' } }],
        },
        { text: 'Done with that.' },
      ],
    });
    const log = eventLog();
    const result = await runAgent({
      model,
      prompt: 'Please echo something',
      system: 'You echo.',
      tools: [countingEcho().tool],
      onEvent: log.onEvent,
    });
    const estimates = log.ofType('turn-started').map((e) => e.estimatedInputTokens);
    const actual = result.turns.map((t) => promptTokens(t.usage));
    expect(estimates).toHaveLength(2);
    for (const [i, estimate] of estimates.entries())
      expect(estimate).toBeGreaterThanOrEqual(actual[i]!);
  });
});
