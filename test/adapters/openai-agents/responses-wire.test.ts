// The runtime on the SDK's real OpenAI model (OpenAIResponsesModel through OpenAIProvider and the
// `openai` client), against the Responses API's streamed wire format served by msw: the budget's
// output cap reaches the request as max_output_tokens, a function call runs a loopwork tool, and
// the usage of the response (cached prompt tokens included) is what loopwork records and prices.
import { Agent, OpenAIProvider } from '@openai/agents';
import { defineTool } from 'loopwork';
import { openAIAgentsRuntime } from 'loopwork/openai-agents';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { mswSafeFetch } from '../../helpers/msw-fetch';
import { API_KEY, BASE_URL, serveAnswers, useServer } from '../openai/server';

const server = useServer();
const PRICES = { 'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8, cacheReadPerMTok: 0.5 } };

describe('openAIAgentsRuntime on OpenAIResponsesModel (Responses API wire format)', () => {
  it('sends the clamped cap as max_output_tokens, runs the function call, records the response usage', async () => {
    const { bodies } = serveAnswers(
      server,
      'responses',
      {
        toolCalls: [{ id: 'call_w1', name: 'weather', args: ['{"city":', '"Paris"}'] }],
        usage: { input: 120, output: 20 },
      },
      { text: ['Sunny ', 'in Paris.'], usage: { input: 180, output: 6, cached: 100 } },
    );
    const weather = defineTool({
      name: 'weather',
      description: 'Weather in a city',
      input: z.object({ city: z.string() }),
      execute: ({ city }) => `sunny in ${city}`,
    });
    const client = new OpenAI({ apiKey: API_KEY, baseURL: BASE_URL, fetch: mswSafeFetch });
    const runtime = openAIAgentsRuntime({
      createAgent: ({ tools }) =>
        new Agent({ name: 'weather', instructions: 'Be brief.', model: 'gpt-4.1', tools }),
      modelProvider: new OpenAIProvider({ openAIClient: client, useResponses: true }),
      tools: [weather],
      maxTokensPerCall: 700,
    });
    const texts: string[] = [];
    const result = await runtime.run({
      runId: 'wire-1',
      input: { prompt: 'Weather in Paris?' },
      limits: { prices: PRICES, maxOutputTokens: 1_000 },
      signal: new AbortController().signal,
      emit: (event) => {
        if (event.type === 'text-delta') texts.push(event.text);
      },
      checkpoint: async () => {},
    });
    expect(result.status).toBe('completed');
    expect(result.output).toBe('Sunny in Paris.');
    expect(texts).toEqual(['Sunny ', 'in Paris.']);
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toMatchObject({ model: 'gpt-4.1', stream: true, max_output_tokens: 700 });
    expect(bodies[0].tools.map((t: { name: string }) => t.name)).toEqual(['weather']);
    // Still the per-call cap: the output budget has 1000 - 20 left.
    expect(bodies[1].max_output_tokens).toBe(700);
    expect(bodies[1].input).toContainEqual(
      expect.objectContaining({ type: 'function_call_output', call_id: 'call_w1' }),
    );
    expect(result.state.turns.map((t) => t.usage)).toEqual([
      {
        inputTokens: 120,
        outputTokens: 20,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
      },
      {
        inputTokens: 80,
        outputTokens: 6,
        cacheReadTokens: 100,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
      },
    ]);
    expect(result.costUsd).toBeCloseTo((200 * 2 + 100 * 0.5 + 26 * 8) / 1e6, 12);
  });

  it('the cap shrinks with the budget left', async () => {
    const { bodies } = serveAnswers(
      server,
      'responses',
      {
        toolCalls: [{ id: 'call_a', name: 'ping', args: ['{}'] }],
        usage: { input: 50, output: 300 },
      },
      { text: ['pong'], usage: { input: 60, output: 2 } },
    );
    const ping = defineTool({
      name: 'ping',
      description: 'Pings',
      input: z.object({}),
      execute: () => 'pong',
    });
    const client = new OpenAI({ apiKey: API_KEY, baseURL: BASE_URL, fetch: mswSafeFetch });
    const result = await openAIAgentsRuntime({
      model: 'gpt-4.1',
      modelProvider: new OpenAIProvider({ openAIClient: client, useResponses: true }),
      tools: [ping],
      maxTokensPerCall: 4_000,
      minTokensPerCall: 16,
    }).run({
      runId: 'wire-2',
      input: { prompt: 'ping' },
      limits: { prices: PRICES, maxOutputTokens: 1_000 },
      signal: new AbortController().signal,
      emit: () => {},
      checkpoint: async () => {},
    });
    expect(result.status).toBe('completed');
    expect(bodies.map((b) => b.max_output_tokens)).toEqual([1_000, 700]);
  });
});
