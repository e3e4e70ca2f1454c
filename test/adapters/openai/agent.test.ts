import { type AgentEvent, defineTool, type ModelRequest, runAgent } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  APIS,
  answerFor,
  errorResponse,
  framesOf,
  makeModel,
  route,
  sseResponse,
  useServer,
} from './server';
import { errorBody } from './wire';

const server = useServer();

const getWeather = defineTool({
  name: 'get_weather',
  description: 'Weather of a city',
  input: z.object({ city: z.string() }),
  execute: ({ city }) => ({ city, celsius: 18 }),
});

describe.each(APIS)('openai %s through runAgent', (api) => {
  it('honors retry-after-ms from a 429 before retrying', async () => {
    const { bodies } = route(server, api, [
      () =>
        errorResponse(
          429,
          errorBody('Rate limit reached for requests', 'requests', 'rate_limit_exceeded'),
          { 'retry-after-ms': '25' },
        ),
      (body) => answerFor(api, { text: ['Done.'] }, body),
    ]);
    const events: AgentEvent[] = [];
    const result = await runAgent({
      model: makeModel(api),
      prompt: 'Hi',
      retry: { maxRetries: 2 },
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe('completed');
    expect(events.filter((event) => event.type === 'model-retry')).toEqual([
      expect.objectContaining({
        attempt: 1,
        delayMs: 25,
        error: expect.objectContaining({ kind: 'rate_limit', status: 429 }),
      }),
    ]);
    expect(bodies).toHaveLength(2);
  });

  it('does not retry an exhausted quota', async () => {
    const { bodies } = route(server, api, [
      () =>
        errorResponse(
          429,
          errorBody(
            'You exceeded your current quota, please check your plan and billing details.',
            'insufficient_quota',
            'insufficient_quota',
          ),
          { 'retry-after': '1' },
        ),
    ]);
    const result = await runAgent({
      model: makeModel(api),
      prompt: 'Hi',
      retry: { maxRetries: 3 },
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('insufficient_quota');
    expect(bodies).toHaveLength(1);
  });

  it('turns malformed tool arguments into an invalid_input error the model corrects', async () => {
    const { bodies } = route(server, api, [
      (body) =>
        answerFor(
          api,
          { toolCalls: [{ id: 'call_bad', name: 'get_weather', args: ['{"city": "Par'] }] },
          body,
        ),
      (body) =>
        answerFor(
          api,
          { toolCalls: [{ id: 'call_good', name: 'get_weather', args: ['{"city":"Paris"}'] }] },
          body,
        ),
      (body) => answerFor(api, { text: ['It is 18°C in Paris.'] }, body),
    ]);
    const events: AgentEvent[] = [];
    const result = await runAgent({
      model: makeModel(api),
      prompt: 'Weather in Paris?',
      tools: [getWeather],
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe('completed');
    expect(result.text).toBe('It is 18°C in Paris.');
    const failed = events.find((event) => event.type === 'tool-call-failed');
    expect(failed).toMatchObject({ toolCallId: 'call_bad', reason: 'invalid_input' });
    // The second request carries the model's raw text back, and the error it can act on.
    const sent = JSON.stringify(bodies[1]);
    expect(sent).toContain(JSON.stringify('{"city": "Par'));
    expect(sent).toContain('Invalid input for tool \\"get_weather\\"');
    expect(events.filter((event) => event.type === 'tool-call-finished')).toHaveLength(1);
  });

  it('stops a run aborted mid-stream', async () => {
    // A word is shown once it is complete (streamed text is redacted across pieces): 'Hello '.
    const frames = framesOf(api, { text: ['Hello ', 'world'] });
    const first = frames.findIndex((frame) => frame.includes('"Hello "'));
    route(server, api, [() => sseResponse(frames.slice(0, first + 1), 'hang')]);
    const controller = new AbortController();
    const result = await runAgent({
      model: makeModel(api),
      prompt: 'Hi',
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'text-delta') controller.abort();
      },
    });
    expect(result.status).toBe('aborted');
    expect(result.turns).toHaveLength(0);
  });
});

describe.each(APIS)('openai %s abort', (api) => {
  const request: ModelRequest = {
    messages: [{ role: 'user', content: 'Hi' }],
    maxOutputTokens: 64,
  };

  it('rejects mid-stream with the abort reason, not a retryable ModelError', async () => {
    const frames = framesOf(api, { text: ['Hello', ' world'] });
    const first = frames.findIndex((frame) => frame.includes('"Hello"'));
    route(server, api, [() => sseResponse(frames.slice(0, first + 1), 'hang')]);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const seen: string[] = [];
    const outcome = (async () => {
      for await (const part of makeModel(api).stream(request, { signal: controller.signal })) {
        seen.push(part.type);
        if (part.type === 'text-delta') controller.abort(reason);
      }
    })();
    await expect(outcome).rejects.toBe(reason);
    expect(seen).toEqual(['text-delta']);
  });

  it('rejects a pending request with the abort reason', async () => {
    route(server, api, [() => new Promise<Response>(() => {})]);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const pending = makeModel(api).generate(request, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 5);
    await expect(pending).rejects.toBe(reason);
  });

  it('rejects at once when the signal is already aborted, without a request', async () => {
    const reason = new Error('too late');
    await expect(
      makeModel(api).generate(request, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });
});
