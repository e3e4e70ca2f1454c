import { costOf, findPrice } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { openaiPrices } from '../../../src/model/prices/openai';

describe('openaiPrices', () => {
  it('holds sane figures: cache reads below input, cache writes at or above it', () => {
    for (const [model, price] of Object.entries(openaiPrices)) {
      expect(price.inputPerMTok, model).toBeGreaterThan(0);
      expect(price.outputPerMTok, model).toBeGreaterThan(price.inputPerMTok);
      expect(price.cacheReadPerMTok ?? price.inputPerMTok, model).toBeLessThanOrEqual(
        price.inputPerMTok,
      );
      expect(price.cacheWritePerMTok ?? price.inputPerMTok, model).toBeGreaterThanOrEqual(
        price.inputPerMTok,
      );
    }
  });

  it('prices dated snapshots by their model, and every listed sibling by its own entry', () => {
    expect(findPrice(openaiPrices, 'gpt-6.1-sol-2026-09-29')).toBe(openaiPrices['gpt-6.1-sol']);
    for (const model of Object.keys(openaiPrices)) {
      expect(findPrice(openaiPrices, `${model}-2026-01-01`)).toBe(openaiPrices[model]);
    }
    expect(findPrice(openaiPrices, 'gpt-5.5-pro')).toBe(openaiPrices['gpt-5.5-pro']);
    expect(findPrice(openaiPrices, 'gpt-6.2-sol')).toBeUndefined();
  });

  it('costs normalized OpenAI usage bucket by bucket', () => {
    // gpt-6.1-sol: 200 plain input at $2, 2000 cache reads at $0.10, 400 writes at $2.50, 300 out at $10.
    const usage = {
      inputTokens: 200,
      cacheReadTokens: 2000,
      cacheWriteTokens: 400,
      outputTokens: 300,
      reasoningTokens: 100,
    };
    expect(costOf(usage, openaiPrices['gpt-6.1-sol']!)).toBeCloseTo(
      (200 * 2 + 2000 * 0.1 + 400 * 2.5 + 300 * 10) / 1e6,
      12,
    );
  });
});
