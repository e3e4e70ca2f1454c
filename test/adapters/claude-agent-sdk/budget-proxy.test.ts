// The budget proxy on its own, through the real @anthropic-ai/sdk client (what Claude Code embeds)
// against the fake upstream: streaming and JSON answers pass through with their usage recorded,
// max_tokens and thinking are clamped, a call that cannot fit is refused in the API's error format
// and is not retried, the upstream's key never reaches the client, errors are redacted.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { createBudgetLedger } from 'loopwork/adapter-kit';
import { budgetProxy, fakeAnthropicUpstream } from 'loopwork/claude-agent-sdk';
import { afterEach, describe, expect, it } from 'vitest';

const PRICES = { 'claude-sonnet-4-5': { inputPerMTok: 3, outputPerMTok: 15 } };
const KEY = 'sk-ant-api03-upstream-secret-key-0123456789';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setup(
  options: { maxCostUsd?: number; maxTurns?: number; outputTokens?: number } = {},
) {
  const upstream = await fakeAnthropicUpstream({
    apiKey: KEY,
    turn: () => ({ text: 'hello there', usage: { outputTokens: options.outputTokens ?? 5 } }),
  });
  const ledger = createBudgetLedger({ prices: PRICES, ...options });
  const turns: number[] = [];
  const proxy = await budgetProxy({
    ledger,
    upstream: { baseURL: upstream.url, apiKey: KEY },
    onTurn: (record) => turns.push(record.turn),
  });
  closers.push(
    () => upstream.close(),
    () => proxy.close(),
  );
  const client = new Anthropic({ apiKey: proxy.token, baseURL: proxy.url, maxRetries: 2 });
  return { upstream, ledger, proxy, client, turns };
}

const request = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1_000,
  messages: [{ role: 'user' as const, content: 'hi' }],
};

describe('budgetProxy', () => {
  it('streams an answer through, recording its usage from message_start and message_delta', async () => {
    const { client, ledger, upstream, turns } = await setup();
    const stream = client.messages.stream(request);
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    const message = await stream.finalMessage();
    expect(texts.join('')).toBe('hello there');
    expect(message.usage.output_tokens).toBe(5);
    expect(ledger.spent().usage.outputTokens).toBe(5);
    expect(ledger.spent().usage.inputTokens).toBe(upstream.billed[0]?.usage.inputTokens);
    expect(turns).toEqual([1]);
    expect(upstream.requests[0]?.max_tokens).toBe(1_000);
  });

  it('passes a JSON (non-streaming) answer through and records it', async () => {
    const { client, ledger } = await setup();
    const message = await client.messages.create(request);
    expect(message.content).toEqual([{ type: 'text', text: 'hello there' }]);
    expect(ledger.turns()).toHaveLength(1);
    expect(ledger.spent().costUsd).toBeGreaterThan(0);
  });

  it('clamps max_tokens to what the budget allows, and lowers or drops thinking to fit', async () => {
    const { client, upstream } = await setup({ maxCostUsd: 0.02, outputTokens: 50_000 });
    await client.messages.create({
      ...request,
      thinking: { type: 'enabled', budget_tokens: 31_999 },
    });
    const sent = upstream.requests[0] as {
      max_tokens: number;
      thinking: { type: string; budget_tokens?: number };
    };
    expect(sent.max_tokens).toBeLessThan(32_000);
    expect(sent.max_tokens * (15 / 1e6)).toBeLessThanOrEqual(0.02);
    if (sent.thinking.type === 'enabled')
      expect(sent.thinking.budget_tokens).toBeLessThan(sent.max_tokens);
    else expect(sent.thinking).toEqual({ type: 'disabled' });
  });

  it('refuses a call that cannot fit with a non-retryable invalid_request_error, and says why', async () => {
    const { client, proxy, upstream } = await setup({ maxTurns: 1 });
    await client.messages.create(request);
    const error = await client.messages.create(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('maxTurns') },
    });
    expect(proxy.stop?.status).toBe('max_turns');
    // Refused before it left: the upstream saw one request, the SDK did not retry.
    expect(upstream.requests).toHaveLength(1);
  });

  it('answers a client without the proxy token with 401, and unknown paths with 404', async () => {
    const { proxy, upstream } = await setup();
    const other = new Anthropic({ apiKey: 'sk-wrong', baseURL: proxy.url, maxRetries: 0 });
    await expect(other.messages.create(request)).rejects.toBeInstanceOf(
      Anthropic.AuthenticationError,
    );
    const response = await fetch(`${proxy.url}/v1/models`, {
      headers: { 'x-api-key': proxy.token },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error' },
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it('never shows the upstream key: the client authenticates with the proxy token, errors are redacted', async () => {
    // An upstream that echoes the key it was sent into its error message.
    const echo = createServer((req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          type: 'error',
          error: { type: 'invalid_request_error', message: `bad key ${req.headers['x-api-key']}` },
        }),
      );
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => echo.close(() => resolve())));
    const ledger = createBudgetLedger({ prices: PRICES });
    const proxy = await budgetProxy({
      ledger,
      upstream: {
        baseURL: `http://127.0.0.1:${(echo.address() as AddressInfo).port}`,
        apiKey: KEY,
      },
    });
    closers.push(() => proxy.close());
    const client = new Anthropic({ apiKey: proxy.token, baseURL: proxy.url, maxRetries: 0 });
    const error = await client.messages.create(request).catch((e: unknown) => e);
    expect(String((error as Error).message)).not.toContain(KEY);
    expect(String((error as Error).message)).toContain('[REDACTED]');
    expect(proxy.token).not.toContain(KEY);
    // A refused upstream call costs nothing and holds nothing.
    expect(ledger.turns()).toHaveLength(0);
  });

  it('an unreachable upstream is a retryable api_error; its calls hold nothing afterwards', async () => {
    const ledger = createBudgetLedger({ prices: PRICES, maxTurns: 5 });
    const proxy = await budgetProxy({
      ledger,
      upstream: { baseURL: 'http://127.0.0.1:1', apiKey: KEY },
    });
    closers.push(() => proxy.close());
    const client = new Anthropic({ apiKey: proxy.token, baseURL: proxy.url, maxRetries: 0 });
    const error = await client.messages.create(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect(ledger.turns()).toHaveLength(0);
    // The failed call's hold is released: all five turns are still allowed.
    for (let i = 0; i < 5; i++)
      ledger.release(ledger.allow({ modelId: 'claude-sonnet-4-5', estimatedInputTokens: 10 }));
  });

  it('after shutdown every call is refused, and a call cut mid-stream is recorded at its worst case', async () => {
    const upstream = await fakeAnthropicUpstream({
      turn: () => ({ text: 'slow', delayMs: 60_000 }),
    });
    const ledger = createBudgetLedger({ prices: PRICES, maxCostUsd: 10 });
    const proxy = await budgetProxy({ ledger, upstream: { baseURL: upstream.url, apiKey: KEY } });
    closers.push(
      () => upstream.close(),
      () => proxy.close(),
    );
    const client = new Anthropic({ apiKey: proxy.token, baseURL: proxy.url, maxRetries: 0 });
    const pending = client.messages
      .create({ ...request, max_tokens: 1_000 })
      .catch((e: unknown) => e);
    await expect.poll(() => upstream.requests.length).toBe(1);
    proxy.shutdown('run aborted');
    expect(await pending).toBeInstanceOf(Error);
    expect(ledger.spent().usage.outputTokens).toBe(1_000);
    const refused = await client.messages.create(request).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect(upstream.requests).toHaveLength(1);
  });
});
