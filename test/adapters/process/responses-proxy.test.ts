// responsesBudgetProxy on its own, driven by the real `openai` client against a scripted
// loopback Responses API upstream: auth, clamping with the body otherwise intact, usage (cached
// and reasoning tokens) from streamed and JSON answers, a refused call, upstream errors relayed
// with the key redacted, a cut stream counted at its worst case.
import type { TurnRecord } from 'loopwork';
import { createBudgetLedger } from 'loopwork/adapter-kit';
import { responsesBudgetProxy } from 'loopwork/process';
import OpenAI from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type ResponsesUpstream,
  startResponsesUpstream,
  type UpstreamReply,
} from './responses-upstream';

vi.setConfig({ testTimeout: 60_000 });

const UPSTREAM_KEY = 'sk-proj-upstreamSECRETkey0123456789abcdefABCDEF';
const PRICES = { 'gpt-test': { inputPerMTok: 1, outputPerMTok: 10, cacheReadPerMTok: 0.1 } };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setUp(
  script: (n: number, body: Record<string, unknown>) => UpstreamReply,
  limits: Parameters<typeof createBudgetLedger>[0] = {},
) {
  const upstream: ResponsesUpstream = await startResponsesUpstream(script);
  const ledger = createBudgetLedger({ prices: PRICES, ...limits });
  const turns: TurnRecord[] = [];
  const stops: string[] = [];
  const proxy = await responsesBudgetProxy({
    ledger,
    upstream: { baseURL: upstream.url, apiKey: UPSTREAM_KEY, headers: { 'openai-project': 'p1' } },
    onTurn: (record) => turns.push(record),
    onStop: (stop) => stops.push(stop.message),
  });
  closers.push(
    () => proxy.close(),
    () => upstream.close(),
  );
  const client = new OpenAI({ apiKey: proxy.token, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  return { upstream, ledger, proxy, client, turns, stops };
}

const answer = (
  extra: Partial<Extract<UpstreamReply, { kind: 'answer' }>> = {},
): UpstreamReply => ({
  kind: 'answer',
  text: 'hello',
  output: 40,
  cachedShare: 0.5,
  reasoningShare: 0.25,
  ...extra,
});

describe('responsesBudgetProxy', () => {
  it('refuses a client without its token (401, Responses error body)', async () => {
    const { proxy, upstream } = await setUp(() => answer());
    const client = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
    const error = await client.responses
      .create({ model: 'gpt-test', input: 'hi' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
    expect(upstream.requests).toHaveLength(0);
  });

  it('streams through: max_output_tokens clamped, the body otherwise intact, usage recorded exactly', async () => {
    const { upstream, client, turns, ledger } = await setUp(() => answer(), {
      maxOutputTokens: 500,
    });
    const stream = await client.responses.create({
      model: 'gpt-test',
      instructions: 'be brief',
      input: [{ role: 'user', content: 'hi' }],
      stream: true,
      store: false,
      max_output_tokens: 9_000,
      metadata: { task: 't1' },
    });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(text).toBe('hello');
    expect(types.at(-1)).toBe('response.completed');
    const sent = upstream.requests[0];
    expect(sent?.body).toMatchObject({
      model: 'gpt-test',
      instructions: 'be brief',
      input: [{ role: 'user', content: 'hi' }],
      stream: true,
      store: false,
      metadata: { task: 't1' },
      max_output_tokens: 500,
    });
    expect(sent?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(sent?.headers['openai-project']).toBe('p1');
    expect(turns).toHaveLength(1);
    expect(turns[0]?.usage).toEqual(upstream.billed);
    expect(turns[0]?.usage.cacheReadTokens).toBeGreaterThan(0);
    expect(turns[0]?.usage.reasoningTokens).toBe(10);
    expect(turns[0]?.stopReason).toBe('end_turn');
    expect(ledger.spent().usage).toEqual(upstream.billed);
  });

  it('a JSON answer: usage and stop reason (a function call → tool_use)', async () => {
    const { upstream, client, turns } = await setUp(() =>
      answer({ text: undefined, toolCalls: [{ id: 'call_1', name: 'f', args: ['{}'] }] }),
    );
    const response = await client.responses.create({ model: 'gpt-test', input: 'hi' });
    expect(response.output[0]?.type).toBe('function_call');
    expect(turns[0]?.stopReason).toBe('tool_use');
    expect(turns[0]?.usage).toEqual(upstream.billed);
    expect(typeof upstream.requests[0]?.body.max_output_tokens).toBe('number');
  });

  it('a call that cannot fit is refused with a non-retryable 400 and never reaches upstream', async () => {
    const { upstream, client, proxy, stops } = await setUp(() => answer(), { maxInputTokens: 5 });
    const error = await client.responses
      .create({ model: 'gpt-test', input: 'a prompt longer than five tokens, surely' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.code).toBe('budget_exceeded');
    expect(apiError.type).toBe('invalid_request_error');
    expect(apiError.message).toContain('input_tokens');
    expect(proxy.stop?.status).toBe('budget_exceeded');
    expect(proxy.stop?.budget).toBe('input_tokens');
    expect(stops).toHaveLength(1);
    expect(upstream.requests).toHaveLength(0);
  });

  it('the turn cap refuses the next call with code max_turns', async () => {
    const { client, proxy, turns } = await setUp(() => answer(), { maxTurns: 1 });
    await client.responses.create({ model: 'gpt-test', input: 'one' });
    const error = await client.responses
      .create({ model: 'gpt-test', input: 'two' })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('max_turns');
    expect(proxy.stop?.status).toBe('max_turns');
    expect(turns).toHaveLength(1);
  });

  it('an upstream error is relayed with its status and the upstream key redacted; nothing counted', async () => {
    const { client, turns, ledger } = await setUp(() => ({
      kind: 'error',
      status: 401,
      body: {
        error: {
          message: `Incorrect API key provided: ${UPSTREAM_KEY}.`,
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      },
    }));
    const error = await client.responses
      .create({ model: 'gpt-test', input: 'hi' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.message).not.toContain(UPSTREAM_KEY);
    expect(apiError.message).toContain('[REDACTED]');
    expect(apiError.requestID).toBe('req_1');
    expect(turns).toHaveLength(0);
    expect(ledger.spent().usage.inputTokens).toBe(0);
  });

  it('an unreachable upstream is a 502 server_error; a stream cut after it started counts its worst case', async () => {
    const { client, turns, proxy } = await setUp(() => ({ kind: 'cut' }), { maxOutputTokens: 300 });
    const stream = await client.responses.create({ model: 'gpt-test', input: 'hi', stream: true });
    const failed = await (async () => {
      for await (const _ of stream);
    })().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect(turns).toHaveLength(1);
    expect(turns[0]?.usage.outputTokens).toBe(300);
    await proxy.close();

    // A port nobody listens on: the connection is refused, the request never sent.
    const gone = await startResponsesUpstream(() => answer());
    await gone.close();
    const ledger = createBudgetLedger({ prices: PRICES });
    const dead = await responsesBudgetProxy({
      ledger,
      upstream: { baseURL: gone.url, apiKey: UPSTREAM_KEY },
    });
    closers.push(() => dead.close());
    const deadClient = new OpenAI({ apiKey: dead.token, baseURL: `${dead.url}/v1`, maxRetries: 0 });
    const error = await deadClient.responses
      .create({ model: 'gpt-test', input: 'hi' })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(ledger.turns()).toHaveLength(0);
  });

  it('refuses previous_response_id (its prompt cannot be estimated) and unknown paths', async () => {
    const { client, proxy, upstream } = await setUp(() => answer());
    const error = await client.responses
      .create({ model: 'gpt-test', input: 'hi', previous_response_id: 'resp_1' })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((error as Error).message).toContain('previous_response_id');
    const models = await fetch(`${proxy.url}/v1/models`, {
      headers: { authorization: `Bearer ${proxy.token}` },
    });
    expect(models.status).toBe(404);
    expect(upstream.requests).toHaveLength(0);
  });

  it('after shutdown every request is refused', async () => {
    const { client, proxy } = await setUp(() => answer());
    proxy.shutdown();
    const error = await client.responses
      .create({ model: 'gpt-test', input: 'hi' })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('run_ended');
  });

  it('a model without a price under maxCostUsd is a failure, not a stop', async () => {
    const { client, proxy } = await setUp(() => answer(), { maxCostUsd: 1 });
    const error = await client.responses
      .create({ model: 'gpt-unpriced-x', input: 'hi' })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect(proxy.failure?.message).toContain('gpt-unpriced-x');
    expect(proxy.stop).toBeUndefined();
  });
});
