// The real `claude` binary (Claude Code 2.1.335, linux-x64) under processRuntime with
// `budgetProxy`, offline: the runtime starts the Anthropic Messages budget proxy per run and
// points Claude Code at it (ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY = the proxy's token); the proxy
// forwards to fakeAnthropicUpstream. Usage comes from the proxy's records (what the upstream
// billed), and calls that do not fit are refused before they reach the upstream.
import { InvalidOptionError } from 'loopwork';
import { type FakeAnthropicUpstream, fakeAnthropicUpstream } from 'loopwork/claude-agent-sdk';
import { type ProcessRuntimeSettings, processRuntime } from 'loopwork/process';
import type { ScriptedTurn } from 'loopwork/testing';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  ANTHROPIC_UPSTREAM_KEY,
  CLAUDE_MODEL,
  CLAUDE_PRICES,
  findClaude,
  proxiedClaude,
  removeClaudeDirs,
} from './claude-bin';
import { sumBilled } from './fuzz-helpers';
import { FIXTURES, runOnce } from './run-helpers';

vi.setConfig({ testTimeout: 180_000 });
afterAll(removeClaudeDirs);

const claude = findClaude();
const upstreams: FakeAnthropicUpstream[] = [];
afterAll(() => Promise.all(upstreams.map((upstream) => upstream.close())));

async function upstreamOf(turn: (n: number) => ScriptedTurn) {
  const upstream = await fakeAnthropicUpstream({ turn, apiKey: ANTHROPIC_UPSTREAM_KEY });
  upstreams.push(upstream);
  return upstream;
}

/** A Bash call Claude Code runs (allowed: `echo`), so it calls the model again. */
const echo = (n: number): ScriptedTurn => ({
  toolCalls: [
    {
      id: `toolu_echo${n}`,
      name: 'Bash',
      input: { command: `echo step${n}`, description: 'Echo' },
    },
  ],
});

describe('claude-stream-json budgetProxy settings', () => {
  const settings = (budgetProxy: unknown) =>
    ({ command: 'claude', format: 'claude-stream-json', budgetProxy }) as ProcessRuntimeSettings;
  it.each([
    [settings({ upstream: { baseURL: 'api.anthropic.com' } }), /https:\/\/api.anthropic.com/],
    [settings({ upstream: { authToken: '' } }), /budgetProxy.upstream.authToken/],
    [settings({ upstream: { apiKey: 7 } }), /ANTHROPIC_API_KEY/],
    [settings({ providerId: 'lw' }), /providerId names a Codex model provider/],
  ])('%# throws InvalidOptionError naming the option', (bad, message) => {
    expect(() => processRuntime(bad)).toThrow(InvalidOptionError);
    expect(() => processRuntime(bad)).toThrow(message);
  });
});

describe('claude-stream-json budgetProxy wiring (stand-in Claude Code)', () => {
  it('points the CLI at the proxy by its environment, keeps the worker credentials out, counts the proxy record', async () => {
    const upstream = await upstreamOf(() => ({ text: 'ok', usage: { outputTokens: 12 } }));
    const previous = process.env.ANTHROPIC_AUTH_TOKEN;
    process.env.ANTHROPIC_AUTH_TOKEN = 'worker-token-must-not-reach-the-cli';
    try {
      const runtime = processRuntime({
        command: `${FIXTURES}proxied-claude.mjs`,
        format: 'claude-stream-json',
        env: { CLAUDE_CODE_USE_BEDROCK: '1', ANTHROPIC_API_KEY: 'sk-ant-settings-key' },
        budgetProxy: { upstream: { baseURL: upstream.url, apiKey: ANTHROPIC_UPSTREAM_KEY } },
      });
      const { result } = await runOnce(runtime, {
        runId: 'claude-proxy-wiring',
        limits: { prices: CLAUDE_PRICES, maxOutputTokens: 1_000 },
      });
      expect(result.status, result.error?.message).toBe('completed');
      expect(result.output).toBe('status 200; sees: none');
      expect(upstream.requests[0]?.max_tokens).toBe(1_000);
      expect(result.state.turns).toHaveLength(1);
      expect(result.usage).toEqual(sumBilled(upstream.billed));
      expect(result.usage.outputTokens).toBe(12);
    } finally {
      if (previous === undefined) delete process.env.ANTHROPIC_AUTH_TOKEN;
      else process.env.ANTHROPIC_AUTH_TOKEN = previous;
    }
  });
});

describe('claude-stream-json with budgetProxy, on the real claude binary', () => {
  if ('missing' in claude) {
    it(`cannot run: ${claude.missing}; claude-agent-sdk/budget-proxy.test.ts tests the proxy instead`, () => {
      expect(claude.missing).toBeTruthy();
    });
    return;
  }

  it('every call goes through the proxy: clamped, keyed upstream, usage exactly what was billed', async () => {
    const upstream = await upstreamOf((n) =>
      n < 2 ? { ...echo(n), usage: { cacheReadTokens: 40 } } : { text: 'All done.' },
    );
    const { result, events } = await runOnce(
      // The worker's own credentials must not reach Claude Code.
      proxiedClaude(claude.path, upstream.url, {
        ANTHROPIC_AUTH_TOKEN: 'worker-token-must-not-reach-the-cli',
      }),
      {
        runId: 'claude-proxy-1',
        input: { prompt: 'echo twice' },
        limits: { prices: CLAUDE_PRICES, maxOutputTokens: 5_000 },
      },
    );
    expect(result.status, result.error?.message).toBe('completed');
    expect(result.output).toBe('All done.');
    expect(upstream.requests).toHaveLength(3);
    for (const request of upstream.requests) {
      expect(request.model).toBe(CLAUDE_MODEL);
      expect(request.max_tokens).toBeGreaterThan(0);
      expect(request.max_tokens).toBeLessThanOrEqual(5_000);
    }
    // Turns are the proxy's records: one per upstream call, summing to what the upstream billed.
    expect(result.state.turns.map((turn) => turn.stopReason)).toEqual([
      'tool_use',
      'tool_use',
      'end_turn',
    ]);
    expect(result.usage).toEqual(sumBilled(upstream.billed));
    expect(result.usage.cacheReadTokens).toBe(80);
    const types = events.map((event) => event.type);
    expect(types.filter((type) => type === 'turn-started')).toHaveLength(3);
    expect(types.filter((type) => type === 'turn-finished')).toHaveLength(3);
    expect(types.filter((type) => type === 'tool-call-finished')).toHaveLength(2);
    expect(result.state.runtime?.handle).toMatchObject({ sessionId: expect.any(String) });
  });

  it('a first call that cannot fit is refused before the upstream: the run ends budget_exceeded', async () => {
    const upstream = await upstreamOf(() => ({ text: 'never' }));
    const { result } = await runOnce(proxiedClaude(claude.path, upstream.url), {
      runId: 'claude-proxy-2',
      limits: { prices: CLAUDE_PRICES, maxInputTokens: 200 },
    });
    expect(result.status).toBe('budget_exceeded');
    expect(result.budget).toBe('input_tokens');
    expect(upstream.requests).toHaveLength(0);
    expect(result.state.turns).toHaveLength(0);
  });

  it('the turn cap is hard too: the third call is refused, the run ends max_turns', async () => {
    const upstream = await upstreamOf(echo);
    const { result } = await runOnce(proxiedClaude(claude.path, upstream.url), {
      runId: 'claude-proxy-3',
      limits: { prices: CLAUDE_PRICES, maxTurns: 2 },
    });
    expect(result.status).toBe('max_turns');
    expect(upstream.requests).toHaveLength(2);
    expect(result.state.turns).toHaveLength(2);
    expect(result.usage).toEqual(sumBilled(upstream.billed));
  });
});
