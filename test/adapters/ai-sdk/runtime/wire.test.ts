// The AI SDK runtime over a real provider package: @ai-sdk/openai (Chat Completions) against
// msw serving the OpenAI wire format. The clamp reaches the HTTP request (max_tokens), tool
// results go back as the API expects them, and a provider error ends the run as a ModelError
// with the API key nowhere in it.
import { defineTool } from 'loopwork';
import { toolLoopAgentRuntime } from 'loopwork/ai-sdk';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPENAI_KEY, openaiChatLanguageModel } from '../wire/models';
import * as oa from '../wire/openai-chat';
import { json, serve, sse, useMswServer } from '../wire/server';
import { runOnce } from './helpers';

useMswServer();

const PRICES = { [oa.OPENAI_MODEL]: { inputPerMTok: 2, outputPerMTok: 8 } };

const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather for a city',
  input: z.object({ city: z.string() }),
  execute: ({ city }) => `${city}: sunny, 18°C`,
});

describe('toolLoopAgentRuntime over @ai-sdk/openai (msw)', () => {
  it('sends every call with the output cap the ledger allows, and the tool result back', async () => {
    const received = serve(
      oa.OPENAI_URL,
      sse(
        oa.chunks({
          toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: ['{"city":', '"Paris"}'] }],
          usage: { prompt: 60, completion: 20 },
        }),
      ),
      sse(oa.chunks({ text: ['Sunny ', 'in Paris.'], usage: { prompt: 90, completion: 5 } })),
    );
    const runtime = toolLoopAgentRuntime({
      model: openaiChatLanguageModel(),
      tools: [getWeather],
      instructions: 'Be brief.',
    });
    const { result, events } = await runOnce(runtime, {
      runId: 'w1',
      input: { prompt: 'Weather in Paris?' },
      limits: { prices: PRICES, maxCostUsd: 0.02 },
    });
    expect(result.status).toBe('completed');
    expect(result.output).toBe('Sunny in Paris.');
    const caps = events.flatMap((e) => (e.type === 'turn-started' ? [e.maxOutputTokens] : []));
    expect(received.bodies.map((body) => body.max_tokens)).toEqual(caps);
    // $0.02 at $8/MTok out leaves under 2,500 output tokens: the cap is the budget's, not 4096.
    expect(caps[0]).toBeLessThan(2_500);
    expect(received.bodies[0]?.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(received.bodies[1]?.messages.at(-1)).toEqual({
      role: 'tool',
      tool_call_id: 'call_1',
      content: 'Paris: sunny, 18°C',
    });
    expect(result.usage).toMatchObject({ inputTokens: 150, outputTokens: 25 });
    expect(result.costUsd).toBeCloseTo((150 * 2 + 25 * 8) / 1_000_000, 12);
  });

  it('a 401 ends the run failed with a non-retryable ModelError that does not carry the key', async () => {
    serve(oa.OPENAI_URL, json(oa.errors.auth, 401));
    const runtime = toolLoopAgentRuntime({ model: openaiChatLanguageModel() });
    const { result, checkpoints } = await runOnce(runtime, { runId: 'w2' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ name: 'ModelError', kind: 'auth', retryable: false });
    const saved = JSON.stringify([result.error?.message, result.state, checkpoints]);
    expect(saved).not.toContain(OPENAI_KEY);
  });
});
