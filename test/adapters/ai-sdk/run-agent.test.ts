/**
 * The adapter inside the agent loop, over real AI SDK providers against msw: retry-after
 * honored (asserted on the `model-retry` event, not wall time), an abort mid-stream ending the
 * run instead of retrying, and malformed tool arguments answered with an `invalid_input` tool
 * error the model corrects, on OpenAI and on Anthropic (where the raw text goes back as an object).
 */
import { type AgentEvent, defineTool, runAgent } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as claude from './wire/anthropic';
import { anthropic, openaiChat } from './wire/models';
import * as oa from './wire/openai-chat';
import { json, serve, sse, useMswServer } from './wire/server';

useMswServer();

describe('@ai-sdk/openai chat: through runAgent', () => {
  it('honors retry-after-ms: the model-retry event carries the server delay', async () => {
    const received = serve(
      oa.OPENAI_URL,
      json(oa.errors.rateLimit, 429, { 'retry-after-ms': '15' }),
      sse(oa.chunks({ text: ['Sunny.'] })),
    );
    const events: AgentEvent[] = [];
    const result = await runAgent({
      model: openaiChat(),
      prompt: 'Weather?',
      retry: { maxRetries: 2 },
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe('completed');
    expect(result.text).toBe('Sunny.');
    const retries = events.filter((event) => event.type === 'model-retry');
    expect(retries).toMatchObject([
      { type: 'model-retry', attempt: 1, delayMs: 15, error: { kind: 'rate_limit', status: 429 } },
    ]);
    expect(received.bodies).toHaveLength(2);
  });

  it('aborts mid-stream: the run ends aborted instead of retrying', async () => {
    const received = serve(oa.OPENAI_URL, sse(oa.textStart('It is '), 'hang'));
    const controller = new AbortController();
    const result = await runAgent({
      model: openaiChat(),
      prompt: 'Weather?',
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'text-delta') controller.abort(new Error('user left'));
      },
    });
    expect(result.status).toBe('aborted');
    expect(received.bodies).toHaveLength(1);
  });

  it('answers malformed tool arguments with an invalid_input tool error the model corrects', async () => {
    const received = serve(
      oa.OPENAI_URL,
      sse(
        oa.chunks({
          toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: ['{"city": Par'] }],
        }),
      ),
      sse(
        oa.chunks({
          toolCalls: [{ id: 'call_2', name: 'get_weather', arguments: ['{"city":"Paris"}'] }],
        }),
      ),
      sse(oa.chunks({ text: ['18°C in Paris.'] })),
    );
    const cities: string[] = [];
    const getWeather = defineTool({
      name: 'get_weather',
      description: 'Weather of a city',
      input: z.object({ city: z.string() }),
      execute: ({ city }) => {
        cities.push(city);
        return { celsius: 18 };
      },
    });
    const events: AgentEvent[] = [];
    const result = await runAgent({
      model: openaiChat(),
      prompt: 'Weather in Paris?',
      tools: [getWeather],
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe('completed');
    expect(result.text).toBe('18°C in Paris.');
    expect(cities).toEqual(['Paris']);
    expect(events.find((event) => event.type === 'tool-call-failed')).toMatchObject({
      toolCallId: 'call_1',
      reason: 'invalid_input',
    });
    const [assistant, tool] = received.bodies[1]!.messages.slice(-2);
    expect(assistant.tool_calls[0].function.arguments).toBe(
      JSON.stringify({ _raw: '{"city": Par' }),
    );
    expect(tool).toMatchObject({ role: 'tool', tool_call_id: 'call_1' });
    expect(tool.content).toMatch(/^Invalid input for tool "get_weather"/);
  });
});

describe('@ai-sdk/anthropic: malformed tool input through runAgent', () => {
  it('sends the raw text back as { _raw } with an is_error result, and the run recovers', async () => {
    const received = serve(
      claude.ANTHROPIC_URL,
      sse(
        claude.events({
          blocks: [
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', pieces: ['{"city": Par'] },
          ],
        }),
      ),
      sse(
        claude.events({
          blocks: [
            { type: 'tool_use', id: 'toolu_2', name: 'get_weather', pieces: ['{"city": "Paris"}'] },
          ],
        }),
      ),
      sse(claude.events({ blocks: [{ type: 'text', pieces: ['18°C in Paris.'] }] })),
    );
    const getWeather = defineTool({
      name: 'get_weather',
      description: 'Weather of a city',
      input: z.object({ city: z.string() }),
      execute: () => ({ celsius: 18 }),
    });
    const events: AgentEvent[] = [];
    const result = await runAgent({
      model: anthropic(),
      prompt: 'Weather in Paris?',
      tools: [getWeather],
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe('completed');
    expect(events.filter((event) => event.type === 'tool-call-failed')).toMatchObject([
      { toolCallId: 'toolu_1', reason: 'invalid_input' },
    ]);
    const [assistant, results] = received.bodies[1]!.messages.slice(-2);
    expect(assistant.content).toEqual([
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { _raw: '{"city": Par' } },
    ]);
    expect(results.content).toMatchObject([
      { type: 'tool_result', tool_use_id: 'toolu_1', is_error: true },
    ]);
  });
});
