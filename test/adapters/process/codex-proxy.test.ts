// The real `codex` binary (0.171.0, linux-x64) under processRuntime with `budgetProxy`, offline:
// the runtime starts the Responses API budget proxy per run and points Codex at it (`-c
// model_provider=loopwork …`); the proxy forwards to a scripted loopback upstream. Usage comes
// from the proxy's records (what the upstream billed), calls that do not fit are refused before
// they reach the upstream, and upstream errors reach the run redacted.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { findCodex, GPT_PRICES, proxiedCodex, removeCodexHomes, UPSTREAM_KEY } from './codex-bin';
import { startResponsesUpstream, type UpstreamReply } from './responses-upstream';
import { runOnce } from './run-helpers';

vi.setConfig({ testTimeout: 180_000 });
afterAll(removeCodexHomes);

const codex = findCodex();
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers) await close();
});

/** A function Codex does not have: it answers with an error output and calls the model again. */
const probe = (n: number): UpstreamReply => ({
  kind: 'answer',
  toolCalls: [{ id: `call_${n}`, name: 'loopwork_probe', args: [`{"n":${n}}`] }],
  output: 25,
  cachedShare: 0.5,
  reasoningShare: 0.2,
});
const text = (value: string): UpstreamReply => ({ kind: 'answer', text: value, output: 9 });

async function upstreamOf(script: (n: number) => UpstreamReply) {
  const upstream = await startResponsesUpstream(script);
  closers.push(() => upstream.close());
  return upstream;
}

describe('codex-exec-json with budgetProxy, on the real codex binary', () => {
  if ('missing' in codex) {
    it(`cannot run: ${codex.missing}; responses-proxy.test.ts tests the proxy with the openai client instead`, () => {
      expect(codex.missing).toBeTruthy();
    });
    return;
  }

  it('every call goes through the proxy: clamped, keyed upstream, usage exactly what was billed', async () => {
    const upstream = await upstreamOf((n) => (n < 3 ? probe(n) : text('All done.')));
    const { result, events } = await runOnce(proxiedCodex(codex.path, upstream.url), {
      runId: 'codex-proxy-1',
      input: { prompt: 'probe twice' },
      limits: { prices: GPT_PRICES, maxOutputTokens: 5_000 },
    });
    expect(result.status, result.error?.message).toBe('completed');
    expect(result.output).toBe('All done.');
    expect(upstream.requests).toHaveLength(3);
    for (const request of upstream.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(request.body.model).toBe('gpt-5.5');
      expect(request.body.stream).toBe(true);
      expect(request.body.max_output_tokens).toBeGreaterThan(0);
      expect(request.body.max_output_tokens).toBeLessThanOrEqual(5_000);
    }
    // Turns are the proxy's records: one per upstream call, summing to what the upstream billed.
    expect(result.state.turns.map((turn) => turn.stopReason)).toEqual([
      'tool_use',
      'tool_use',
      'end_turn',
    ]);
    expect(result.usage).toEqual(upstream.billed);
    expect(result.usage.cacheReadTokens).toBeGreaterThan(0);
    expect(result.usage.reasoningTokens).toBe(10);
    const types = events.map((event) => event.type);
    expect(types.filter((type) => type === 'turn-started')).toHaveLength(3);
    expect(types.filter((type) => type === 'turn-finished')).toHaveLength(3);
    expect(result.state.runtime?.handle).toMatchObject({ threadId: expect.any(String) });
  });

  it('a first call that cannot fit is refused before the upstream: the run ends budget_exceeded', async () => {
    const upstream = await upstreamOf(() => text('never'));
    const { result } = await runOnce(proxiedCodex(codex.path, upstream.url), {
      runId: 'codex-proxy-2',
      limits: { prices: GPT_PRICES, maxInputTokens: 500 },
    });
    expect(result.status).toBe('budget_exceeded');
    expect(result.budget).toBe('input_tokens');
    expect(upstream.requests).toHaveLength(0);
    expect(result.state.turns).toHaveLength(0);
  });

  it('the turn cap is hard too: the third call is refused, the run ends max_turns', async () => {
    const upstream = await upstreamOf(probe);
    const { result } = await runOnce(proxiedCodex(codex.path, upstream.url), {
      runId: 'codex-proxy-3',
      limits: { prices: GPT_PRICES, maxTurns: 2 },
    });
    expect(result.status).toBe('max_turns');
    expect(upstream.requests).toHaveLength(2);
    expect(result.state.turns).toHaveLength(2);
    expect(result.usage).toEqual(upstream.billed);
  });

  it('an upstream error reaches the run failed, with the upstream key redacted', async () => {
    const upstream = await upstreamOf(() => ({
      kind: 'error',
      status: 400,
      body: {
        error: {
          message: `Invalid request for key ${UPSTREAM_KEY}`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      },
    }));
    const { result, checkpoints } = await runOnce(proxiedCodex(codex.path, upstream.url), {
      runId: 'codex-proxy-4',
      limits: { prices: GPT_PRICES },
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('[REDACTED]');
    expect(result.error?.message).not.toContain(UPSTREAM_KEY);
    expect(JSON.stringify(checkpoints)).not.toContain(UPSTREAM_KEY);
    expect(result.state.turns).toHaveLength(0);
  });

  it('a model without a price under maxCostUsd fails the run, naming it', async () => {
    const upstream = await upstreamOf(() => text('never'));
    const { result } = await runOnce(proxiedCodex(codex.path, upstream.url, 'lw-unpriced-model'), {
      runId: 'codex-proxy-5',
      limits: { maxCostUsd: 1, prices: {} },
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('lw-unpriced-model');
    expect(upstream.requests).toHaveLength(0);
  });

  it('cancel mid-request: codex stopped, the call in flight counted at its worst case', async () => {
    const upstream = await upstreamOf(() => ({ kind: 'hang' }));
    const controller = new AbortController();
    const running = runOnce(proxiedCodex(codex.path, upstream.url), {
      runId: 'codex-proxy-6',
      signal: controller.signal,
      limits: { prices: GPT_PRICES, maxOutputTokens: 2_000 },
    });
    for (let i = 0; i < 600 && upstream.requests.length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(upstream.requests).toHaveLength(1);
    controller.abort(new Error('cancelled'));
    const { result } = await running;
    expect(result.status).toBe('aborted');
    expect(result.state.turns).toHaveLength(1);
    expect(result.state.turns[0]?.usage.outputTokens).toBe(2_000);
    expect(upstream.requests[0]?.body.max_output_tokens).toBe(2_000);
  });

  it('a follow-up of the session is held to what earlier runs spent', async () => {
    const upstream = await upstreamOf(() => ({ kind: 'answer', text: 'first', output: 400 }));
    const runtime = proxiedCodex(codex.path, upstream.url);
    const limits = { prices: GPT_PRICES, maxOutputTokens: 600 };
    const first = await runOnce(runtime, { runId: 'codex-proxy-7', limits });
    expect(first.result.status, first.result.error?.message).toBe('completed');
    expect(first.result.usage.outputTokens).toBe(400);
    const next = await runOnce(runtime, {
      runId: 'codex-proxy-8',
      input: { prompt: 'and again' },
      limits,
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    // 200 output tokens are left, under the 256 a call needs at least: refused before upstream.
    expect(next.result.status).toBe('budget_exceeded');
    expect(next.result.budget).toBe('output_tokens');
    expect(upstream.requests).toHaveLength(1);
  });
});
