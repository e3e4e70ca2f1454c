// The Anthropic price table: lookups by model id and snapshot, and costs of Anthropic usage.
import { costOf, findPrice } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { anthropicPrices } from '../../../src/model/prices/anthropic';

describe('anthropicPrices', () => {
  it('prices dated snapshots by their model, the newer generation not by its shorter prefix', () => {
    expect(findPrice(anthropicPrices, 'claude-opus-5-5-20261015')).toBe(
      anthropicPrices['claude-opus-5-5'],
    );
    expect(findPrice(anthropicPrices, 'claude-opus-5-20260724')).toBe(
      anthropicPrices['claude-opus-5'],
    );
    expect(findPrice(anthropicPrices, 'claude-sonnet-5-5')).toBe(
      anthropicPrices['claude-sonnet-5-5'],
    );
    expect(findPrice(anthropicPrices, 'claude-haiku-4-5')).toBeUndefined();
  });

  it('costs Opus 5.5 usage bucket by bucket (input, cache read, 5m cache write, output)', () => {
    const usage = {
      inputTokens: 1_000_000,
      cacheReadTokens: 1_000_000,
      cacheWriteTokens: 1_000_000,
      outputTokens: 1_000_000,
      reasoningTokens: 0,
    };
    expect(costOf(usage, anthropicPrices['claude-opus-5-5']!)).toBeCloseTo(4 + 0.2 + 5 + 20, 10);
  });

  it('has input and output prices for every entry, and no cache price below zero', () => {
    for (const [model, price] of Object.entries(anthropicPrices)) {
      expect(price.inputPerMTok, model).toBeGreaterThan(0);
      expect(price.outputPerMTok, model).toBeGreaterThan(price.inputPerMTok);
      expect(price.cacheReadPerMTok ?? 0, model).toBeGreaterThanOrEqual(0);
      expect(price.cacheWritePerMTok ?? price.inputPerMTok, model).toBeGreaterThanOrEqual(
        price.inputPerMTok,
      );
    }
  });
});
