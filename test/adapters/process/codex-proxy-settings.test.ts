// budgetProxy settings and wiring without the real binary: bad settings throw
// InvalidOptionError naming the option; a stand-in Codex (fixtures/proxied-codex.mjs) shows the
// provider overrides it is given, that it cannot see the worker's OPENAI_API_KEY, and that the
// run's usage is the proxy's record, not the total the CLI prints.
import { InvalidOptionError } from 'loopwork';
import {
  type ProcessRuntimeSettings,
  processRuntime,
  responsesBudgetProxy,
} from 'loopwork/process';
import { afterAll, describe, expect, it } from 'vitest';
import { GPT_PRICES, UPSTREAM_KEY } from './codex-bin';
import { startResponsesUpstream } from './responses-upstream';
import { FIXTURES, runOnce } from './run-helpers';

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers) await close();
});

const codexSettings = (budgetProxy: unknown, format = 'codex-exec-json') =>
  ({ command: 'codex', format, budgetProxy }) as ProcessRuntimeSettings;

describe('budgetProxy settings', () => {
  it.each([
    [codexSettings({}, 'loopwork-ndjson'), /budgetProxy serves Codex/],
    [codexSettings({ upstream: { authToken: 'gw' } }), /authToken is for Claude Code/],
    [codexSettings('on'), /budgetProxy must be an object/],
    [codexSettings({ upstream: 'https://x' }), /budgetProxy.upstream must be an object/],
    [codexSettings({ upstream: { baseURL: 'api.openai.com' } }), /budgetProxy.upstream.baseURL/],
    [codexSettings({ upstream: { apiKey: '' } }), /budgetProxy.upstream.apiKey/],
    [codexSettings({ upstream: { fetch: 'yes' } }), /budgetProxy.upstream.fetch/],
    [codexSettings({ providerId: 'my provider' }), /budgetProxy.providerId/],
    [codexSettings({ estimateInputTokens: 3 }), /budgetProxy.estimateInputTokens/],
  ])('%# throws InvalidOptionError naming the option', (settings, message) => {
    expect(() => processRuntime(settings)).toThrow(InvalidOptionError);
    expect(() => processRuntime(settings)).toThrow(message);
  });

  it('responsesBudgetProxy refuses a base URL that is not http(s)', async () => {
    const { createBudgetLedger } = await import('loopwork/adapter-kit');
    await expect(
      responsesBudgetProxy({ ledger: createBudgetLedger(), upstream: { baseURL: 'file:///x' } }),
    ).rejects.toThrow(InvalidOptionError);
  });
});

describe('budgetProxy wiring (stand-in Codex)', () => {
  it('points the CLI at the proxy by -c overrides, hides the vendor key, counts the proxy record', async () => {
    const upstream = await startResponsesUpstream(() => ({
      kind: 'answer',
      text: 'ok',
      output: 12,
      cachedShare: 0.25,
    }));
    closers.push(() => upstream.close());
    const previous = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-worker-key-must-not-reach-the-cli-000000';
    try {
      const runtime = processRuntime({
        command: `${FIXTURES}proxied-codex.mjs`,
        format: 'codex-exec-json',
        budgetProxy: {
          upstream: { baseURL: upstream.url, apiKey: UPSTREAM_KEY },
          providerId: 'lw_test',
        },
      });
      const { result, events } = await runOnce(runtime, {
        runId: 'proxy-wiring-1',
        limits: { prices: GPT_PRICES, maxTotalTokens: 100_000 },
      });
      expect(result.status, result.error?.message).toBe('completed');
      expect(result.output).toBe('provider lw_test; sees OPENAI_API_KEY: false');
      expect(upstream.requests[0]?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(result.state.turns).toHaveLength(1);
      expect(result.usage).toEqual(upstream.billed);
      expect(result.usage.outputTokens).toBe(12);
      expect(events.filter((event) => event.type === 'turn-finished')).toHaveLength(1);
    } finally {
      if (previous === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = previous;
    }
  });
});
