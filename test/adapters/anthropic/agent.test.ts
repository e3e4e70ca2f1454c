// The adapter inside the agent loop: retry-after honored, malformed tool input corrected by the
// model, thinking blocks sent back on the next turn (more in thinking.test.ts), abort mid-stream.
import { type AgentEvent, defineTool, runAgent } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  answer,
  brokenSseResponse,
  errorResponse,
  message,
  openingEvents,
  sseError,
  sseResponse,
  streamEventsFor,
  text,
  thinking,
  toolUse,
} from './fixtures';
import { useAnthropicServer } from './server';

const { respond, received, model } = useAnthropicServer();

function events() {
  const log: AgentEvent[] = [];
  return { log, onEvent: (event: AgentEvent) => log.push(event) };
}
const retries = (log: AgentEvent[]) =>
  log.filter(
    (event): event is Extract<AgentEvent, { type: 'model-retry' }> => event.type === 'model-retry',
  );

const calls: string[] = [];
const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather of a city',
  input: z.object({ city: z.string() }),
  execute: ({ city }) => {
    calls.push(city);
    return { celsius: 18 };
  },
});
const done = (body: Record<string, unknown>) => answer(body, message({ content: [text('18°C.')] }));

describe('anthropic adapter in runAgent', () => {
  it('honors retry-after-ms: the model-retry event carries the server-given delay', async () => {
    respond(
      () =>
        errorResponse(429, 'rate_limit_error', 'Rate limited.', {
          'retry-after-ms': '5',
          'retry-after': '30',
        }),
      done,
    );
    const { log, onEvent } = events();
    const result = await runAgent({ model: model(), prompt: 'Weather?', onEvent });
    expect(result.status).toBe('completed');
    expect(result.text).toBe('18°C.');
    expect(received).toHaveLength(2);
    expect(received.map((r) => r.body.stream)).toEqual([true, true]);
    expect(retries(log)).toEqual([
      expect.objectContaining({
        attempt: 1,
        delayMs: 5,
        error: expect.objectContaining({ kind: 'rate_limit', status: 429 }),
      }),
    ]);
  });

  it('retries an overloaded_error that arrives inside the stream', async () => {
    respond(
      () => sseResponse([...openingEvents('Hel'), sseError('overloaded_error', 'Overloaded')]),
      done,
    );
    const { log, onEvent } = events();
    const result = await runAgent({
      model: model(),
      prompt: 'Weather?',
      onEvent,
      retry: { minDelayMs: 1, maxDelayMs: 2 },
    });
    expect(result.status).toBe('completed');
    expect(retries(log).map((event) => event.error.kind)).toEqual(['overloaded']);
  });

  it('malformed tool arguments come back to the model as an invalid_input tool error it corrects', async () => {
    calls.length = 0;
    const malformed = streamEventsFor(
      message({
        content: [toolUse('toolu_bad', 'get_weather', { city: 'Paris' })],
        stop_reason: 'tool_use',
      }),
    );
    for (const event of malformed) {
      const delta = event.data.delta as { type?: string; partial_json?: string } | undefined;
      if (delta?.type === 'input_json_delta')
        delta.partial_json = delta.partial_json!.replace('"}', '');
    }
    respond(
      () => sseResponse(malformed),
      (body) =>
        answer(
          body,
          message({
            content: [toolUse('toolu_ok', 'get_weather', { city: 'Paris' })],
            stop_reason: 'tool_use',
          }),
        ),
      done,
    );
    const { log, onEvent } = events();
    const result = await runAgent({
      model: model(),
      prompt: 'Weather in Paris?',
      tools: [getWeather],
      onEvent,
    });

    expect(result.status).toBe('completed');
    expect(calls).toEqual(['Paris']);
    expect(log.find((event) => event.type === 'tool-call-failed')).toMatchObject({
      reason: 'invalid_input',
    });
    const second = received[1]?.body.messages as Array<{ role: string; content: unknown[] }>;
    expect(second[1]).toEqual({
      role: 'assistant',
      content: [
        {
          type: 'tool_use',
          id: 'toolu_bad',
          name: 'get_weather',
          input: { _raw: '{"city":"Paris' },
        },
      ],
    });
    expect(second[2]).toEqual({
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: 'toolu_bad',
          content: expect.stringContaining('Invalid input for tool "get_weather"'),
          is_error: true,
        },
      ],
    });
  });

  it('echoes a tool-calling turn with its signed thinking block on the next request', async () => {
    const first = message({
      content: [
        thinking('The user wants Paris weather.', 'EqQBCkYIARgCKkBsignature=='),
        toolUse('toolu_t1', 'get_weather', { city: 'Paris' }),
      ],
      stop_reason: 'tool_use',
    });
    respond((body) => answer(body, first), done);
    const result = await runAgent({
      model: model(),
      prompt: 'Weather in Paris?',
      tools: [getWeather],
    });
    expect(result.status).toBe('completed');
    const second = received[1]?.body.messages as Array<{ role: string; content: unknown[] }>;
    expect(second[1]).toEqual({
      role: 'assistant',
      content: [
        {
          type: 'thinking',
          thinking: 'The user wants Paris weather.',
          signature: 'EqQBCkYIARgCKkBsignature==',
        },
        {
          type: 'tool_use',
          id: 'toolu_t1',
          name: 'get_weather',
          input: { city: 'Paris' },
        },
      ],
    });
  });

  it('an abort mid-stream ends the run as aborted, without a retry', async () => {
    // A word is shown once it is complete (streamed text is redacted across pieces): 'Hi ' of 'Hi Hi '.
    respond((_body, request) => brokenSseResponse(openingEvents('Hi Hi '), 'hang', request));
    const controller = new AbortController();
    const result = await runAgent({
      model: model(),
      prompt: 'Weather?',
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'text-delta') controller.abort();
      },
    });
    expect(result.status).toBe('aborted');
    expect(received).toHaveLength(1);
    expect(received[0]?.signal.aborted).toBe(true);
  });
});
