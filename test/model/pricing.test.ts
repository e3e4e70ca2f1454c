import {
  type AssistantMessage,
  addUsage,
  costOf,
  defaultPrices,
  emptyUsage,
  findPrice,
  type ModelPrice,
  promptTokens,
  textOf,
  toolCallsOf,
  totalTokens,
} from 'loopwork';
import { outputAllowance, ratesFor, worstCaseInputPerToken } from 'loopwork/adapter-kit';
import { describe, expect, it } from 'vitest';

const usage = {
  inputTokens: 1000,
  outputTokens: 200,
  cacheReadTokens: 5000,
  cacheWriteTokens: 300,
  reasoningTokens: 50,
};

describe('costOf', () => {
  it('prices each bucket at its own rate', () => {
    const price: ModelPrice = {
      inputPerMTok: 3,
      outputPerMTok: 15,
      cacheReadPerMTok: 0.3,
      cacheWritePerMTok: 3.75,
    };
    expect(costOf(usage, price)).toBeCloseTo(
      (1000 * 3 + 200 * 15 + 5000 * 0.3 + 300 * 3.75) / 1e6,
      15,
    );
  });

  it('cache buckets default to the input rate; reasoning is not billed twice', () => {
    expect(costOf(usage, { inputPerMTok: 2, outputPerMTok: 10 })).toBeCloseTo(
      ((1000 + 5000 + 300) * 2 + 200 * 10) / 1e6,
      15,
    );
    expect(
      costOf({ ...usage, reasoningTokens: 10_000 }, { inputPerMTok: 2, outputPerMTok: 10 }),
    ).toBe(costOf(usage, { inputPerMTok: 2, outputPerMTok: 10 }));
  });

  it('is zero for empty usage', () => {
    expect(costOf(emptyUsage(), { inputPerMTok: 3, outputPerMTok: 15 })).toBe(0);
  });
});

describe('worstCaseInputPerToken', () => {
  it('is the dearest of the input, cache-read and cache-write rates, per token', () => {
    expect(worstCaseInputPerToken({ inputPerMTok: 3, outputPerMTok: 15 })).toBe(3e-6);
    expect(
      worstCaseInputPerToken({
        inputPerMTok: 3,
        outputPerMTok: 15,
        cacheReadPerMTok: 0.3,
        cacheWritePerMTok: 3.75,
      }),
    ).toBe(3.75e-6);
    expect(
      worstCaseInputPerToken({ inputPerMTok: 1, outputPerMTok: 15, cacheReadPerMTok: 8 }),
    ).toBe(8e-6);
    expect(
      worstCaseInputPerToken({
        inputPerMTok: 5,
        outputPerMTok: 15,
        cacheReadPerMTok: 0,
        cacheWritePerMTok: 0,
      }),
    ).toBe(5e-6);
  });
});

describe('findPrice', () => {
  const table = {
    'claude-sonnet-4-5': { inputPerMTok: 3, outputPerMTok: 15 },
    claude: { inputPerMTok: 1, outputPerMTok: 1 },
    'claude-sonnet-4-5-20250929': { inputPerMTok: 9, outputPerMTok: 9 },
  };

  it('an exact key first, then the longest key that prefixes the id', () => {
    expect(findPrice(table, 'claude-sonnet-4-5-20250929')).toBe(
      table['claude-sonnet-4-5-20250929'],
    );
    expect(findPrice(table, 'claude-sonnet-4-5-20990101')).toBe(table['claude-sonnet-4-5']);
    expect(findPrice(table, 'claude-haiku')).toBe(table.claude);
    expect(findPrice(table, 'gpt-5')).toBeUndefined();
    expect(findPrice(table, 'clau')).toBeUndefined();
  });

  it('ships the vendor tables, and every shipped price is complete and plausible', () => {
    expect(findPrice(defaultPrices, 'claude-sonnet-5-5-20261001')).toBe(
      defaultPrices['claude-sonnet-5-5'],
    );
    expect(Object.keys(defaultPrices).length).toBeGreaterThan(4);
    for (const [model, price] of Object.entries(defaultPrices)) {
      expect(price.inputPerMTok, model).toBeGreaterThan(0);
      expect(price.outputPerMTok, model).toBeGreaterThanOrEqual(price.inputPerMTok);
      if (price.cacheReadPerMTok !== undefined)
        expect(price.cacheReadPerMTok, model).toBeLessThanOrEqual(price.inputPerMTok);
    }
  });
});

describe('usage helpers', () => {
  it('emptyUsage, addUsage, promptTokens, totalTokens', () => {
    expect(emptyUsage()).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
    expect(emptyUsage()).not.toBe(emptyUsage());
    const twice = addUsage(usage, usage);
    expect(twice).toEqual({
      inputTokens: 2000,
      outputTokens: 400,
      cacheReadTokens: 10_000,
      cacheWriteTokens: 600,
      reasoningTokens: 100,
    });
    expect(usage.inputTokens).toBe(1000); // inputs untouched
    expect(promptTokens(usage)).toBe(6300);
    expect(totalTokens(usage)).toBe(6500);
  });
});

describe('message helpers', () => {
  const message: AssistantMessage = {
    role: 'assistant',
    content: [
      { type: 'text', text: 'First, ' },
      { type: 'tool-call', id: 'a', name: 'x', input: {} },
      { type: 'text', text: 'then.' },
      { type: 'tool-call', id: 'b', name: 'y', input: { q: 1 } },
    ],
  };

  it('textOf joins the text parts; toolCallsOf lists the calls in order', () => {
    expect(textOf(message)).toBe('First, then.');
    expect(toolCallsOf(message).map((c) => c.id)).toEqual(['a', 'b']);
    expect(textOf({ role: 'assistant', content: [] })).toBe('');
    expect(toolCallsOf({ role: 'assistant', content: [{ type: 'text', text: 'x' }] })).toEqual([]);
  });
});

describe('long-prompt rates', () => {
  const price: ModelPrice = {
    inputPerMTok: 1,
    outputPerMTok: 4,
    longPrompt: [
      { abovePromptTokens: 1000, inputPerMTok: 2, outputPerMTok: 6 },
      { abovePromptTokens: 5000, inputPerMTok: 5, outputPerMTok: 10 },
    ],
  };

  it('the highest threshold the prompt passes applies to the whole call', () => {
    expect(ratesFor(price, 1000).inputPerMTok).toBe(1);
    expect(ratesFor(price, 1001).inputPerMTok).toBe(2);
    expect(ratesFor(price, 9000).outputPerMTok).toBe(10);
    const usage = { ...emptyUsage(), inputTokens: 600, cacheReadTokens: 600, outputTokens: 100 };
    // 1,200 prompt tokens: the second band for every token, cache reads at its input rate.
    expect(costOf(usage, price)).toBeCloseTo((1200 * 2 + 100 * 6) / 1e6, 12);
  });

  it('the budget clamp prices the next call at the band its estimated prompt falls in', () => {
    const spent = { usage: emptyUsage(), costUsd: 0 };
    // 2,000 prompt tokens at $2/M = $0.004; $0.01 leaves $0.006 for output at $6/M = 1,000 tokens.
    const allowance = outputAllowance({ maxCostUsd: 0.01 }, spent, 2000, 100_000, price);
    expect(allowance).toEqual({ maxTokens: 999, limitedBy: 'cost_usd' });
  });

  it('OpenAI entries bill prompts over 272K at 2x input and 1.5x output', () => {
    const gpt = findPrice(defaultPrices, 'gpt-5.4') as ModelPrice;
    expect(ratesFor(gpt, 272_001).inputPerMTok).toBe(gpt.inputPerMTok * 2);
    expect(ratesFor(gpt, 272_001).outputPerMTok).toBe(gpt.outputPerMTok * 1.5);
  });
});
