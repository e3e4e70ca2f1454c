import type { ModelRequest } from 'loopwork';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { chatChunks, chatCompletion, chatSse } from './chat-wire';
import { makeModel, route, sseResponse, useServer } from './server';

const server = useServer();
const request: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 64 };
const signal = () => new AbortController().signal;

describe('openai chat specifics', () => {
  it('reports the response id, model and raw finish reason as provider metadata', async () => {
    route(server, 'chat', [() => HttpResponse.json(chatCompletion({ text: ['Hi.'] }))]);
    const response = await makeModel('chat').generate(request, { signal: signal() });
    expect(response.providerMetadata).toEqual({
      id: 'chatcmpl-BwkwXxA0yAyLKZelloERJWtxKor9z',
      model: 'gpt-4.1-2025-04-14',
      finishReason: 'stop',
    });
  });

  it('counts a forced tool call that ends with `stop` as tool use', async () => {
    const answer = {
      toolCalls: [{ id: 'call_1', name: 'get_weather', args: ['{"city":"Paris"}'] }],
      finish: 'stop' as const,
    };
    route(server, 'chat', [() => HttpResponse.json(chatCompletion(answer))]);
    const response = await makeModel('chat').generate(request, { signal: signal() });
    expect(response.stopReason).toBe('tool_use');
  });

  it('passes a refusal on as text, streamed or not', async () => {
    const completion = chatCompletion({ text: ['x'] });
    const refused = { content: null, refusal: "I'm sorry, I can't help with that." };
    Object.assign(completion.choices[0]!.message, refused);
    const chunks = chatChunks({ text: [] });
    chunks.splice(1, 0, {
      ...(chunks[0] as object),
      choices: [
        { index: 0, delta: { refusal: "I'm sorry, " }, logprobs: null, finish_reason: null },
      ],
    });
    chunks.splice(2, 0, {
      ...(chunks[0] as object),
      choices: [
        {
          index: 0,
          delta: { refusal: "I can't help with that." },
          logprobs: null,
          finish_reason: null,
        },
      ],
    });
    route(server, 'chat', [
      () => HttpResponse.json(completion),
      () => sseResponse(chatSse(chunks)),
    ]);
    const model = makeModel('chat');
    const generated = await model.generate(request, { signal: signal() });
    expect(generated.message.content).toEqual([
      { type: 'text', text: "I'm sorry, I can't help with that." },
    ]);
    const parts = [];
    for await (const part of model.stream(request, { signal: signal() })) parts.push(part);
    expect(parts.filter((part) => part.type === 'text-delta')).toHaveLength(2);
    expect(parts.at(-1)).toEqual({ type: 'finish', response: generated });
  });

  it('keeps two streamed calls that a loosely compatible server numbered with the same index', async () => {
    const chunks = chatChunks({
      toolCalls: [
        { id: 'call_a', name: 'get_weather', args: ['{"city":', '"Paris"}'] },
        { id: 'call_b', name: 'get_weather', args: ['{"city":"Oslo"}'] },
      ],
    });
    // Every tool-call delta says index 0: only the new id tells the second call apart.
    const json = chatSse(chunks).map((frame) => frame.replaceAll('"index":1', '"index":0'));
    route(server, 'chat', [() => sseResponse(json)]);
    const parts = [];
    for await (const part of makeModel('chat').stream(request, { signal: signal() })) {
      parts.push(part);
    }
    const finish = parts.at(-1);
    expect(finish?.type === 'finish' && finish.response.message.content).toEqual([
      { type: 'tool-call', id: 'call_a', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool-call', id: 'call_b', name: 'get_weather', input: { city: 'Oslo' } },
    ]);
  });
});
