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
  worstCaseInputPerToken,
} from 'loopwork';
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
