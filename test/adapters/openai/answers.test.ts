import type { ModelRequest, ModelStreamPart } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { APIS, makeModel, serveAnswers, useServer } from './server';
import type { Answer } from './wire';

const server = useServer();
const request: ModelRequest = {
  messages: [{ role: 'user', content: 'Weather in Paris and Tokyo?' }],
  tools: [
    {
      name: 'get_weather',
      description: 'Current weather of a city',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  ],
  maxOutputTokens: 256,
};
const signal = () => new AbortController().signal;

async function collect(parts: AsyncIterable<ModelStreamPart>): Promise<ModelStreamPart[]> {
  const all: ModelStreamPart[] = [];
  for await (const part of parts) all.push(part);
  return all;
}

const parallel: Answer = {
  text: ['Let me check ', 'both.'],
  toolCalls: [
    { id: 'call_Paris1', name: 'get_weather', args: ['{"ci', 'ty":"Par', 'is"}'] },
    { id: 'call_Tokyo2', name: 'get_weather', args: ['{"city":', '"Tokyo"}'] },
  ],
  usage: { input: 2006, cached: 1920, output: 300, reasoning: 64 },
};

describe.each(APIS)('openai %s answers', (api) => {
  it('maps text, parallel tool calls, stop reason and usage', async () => {
    serveAnswers(server, api, parallel);
    const response = await makeModel(api).generate(request, { signal: signal() });
    expect(response.message).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Let me check both.' },
        { type: 'tool-call', id: 'call_Paris1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool-call', id: 'call_Tokyo2', name: 'get_weather', input: { city: 'Tokyo' } },
      ],
    });
    expect(response.stopReason).toBe('tool_use');
    // 2006 prompt tokens of which 1920 cached: the buckets are disjoint.
    expect(response.usage).toEqual({
      inputTokens: 86,
      cacheReadTokens: 1920,
      cacheWriteTokens: 0,
      outputTokens: 300,
      reasoningTokens: 64,
    });
  });

  it('streams deltas in order and finishes with exactly what generate returns', async () => {
    serveAnswers(server, api, parallel, parallel);
    const model = makeModel(api);
    const generated = await model.generate(request, { signal: signal() });
    const parts = await collect(model.stream(request, { signal: signal() }));
    expect(
      parts
        .filter((part) => part.type !== 'tool-call-delta' && part.type !== 'text-delta')
        .map((part) => part.type),
    ).toEqual([
      'tool-call-start',
      ...(api === 'responses'
        ? ['tool-call', 'tool-call-start', 'tool-call']
        : ['tool-call-start', 'tool-call', 'tool-call']),
      'finish',
    ]);
    const deltas = (id: string) =>
      parts.flatMap((part) =>
        part.type === 'tool-call-delta' && part.id === id ? [part.inputTextDelta] : [],
      );
    expect(deltas('call_Paris1')).toEqual(['{"ci', 'ty":"Par', 'is"}']);
    expect(deltas('call_Tokyo2')).toEqual(['{"city":', '"Tokyo"}']);
    expect(parts.flatMap((part) => (part.type === 'text-delta' ? [part.text] : []))).toEqual([
      'Let me check ',
      'both.',
    ]);
    expect(parts.at(-1)).toEqual({ type: 'finish', response: generated });
  });

  it.each([
    ['length', 'max_tokens'],
    ['content_filter', 'content_filter'],
  ] as const)('normalizes finish %s to %s, streamed or not', async (finish, stopReason) => {
    const answer: Answer = { text: ['Half an ', 'answ'], finish };
    serveAnswers(server, api, answer, answer);
    const model = makeModel(api);
    const generated = await model.generate(request, { signal: signal() });
    expect(generated.stopReason).toBe(stopReason);
    const parts = await collect(model.stream(request, { signal: signal() }));
    expect(parts.at(-1)).toEqual({ type: 'finish', response: generated });
  });

  it('keeps malformed tool arguments as the raw text instead of crashing', async () => {
    const broken: Answer = {
      toolCalls: [{ id: 'call_bad', name: 'get_weather', args: ['{"city": "Par', 'is"'] }],
    };
    serveAnswers(server, api, broken, broken);
    const model = makeModel(api);
    const generated = await model.generate(request, { signal: signal() });
    expect(generated.message.content).toEqual([
      { type: 'tool-call', id: 'call_bad', name: 'get_weather', input: '{"city": "Paris"' },
    ]);
    const parts = await collect(model.stream(request, { signal: signal() }));
    expect(parts.filter((part) => part.type === 'tool-call')).toEqual([
      { type: 'tool-call', toolCall: generated.message.content[0] },
    ]);
    expect(parts.at(-1)).toEqual({ type: 'finish', response: generated });
  });

  it('reads cache writes (GPT-5.6 and later) into their own bucket', async () => {
    serveAnswers(server, api, {
      text: ['ok'],
      usage: { input: 2600, cached: 2000, cacheWrite: 400, output: 9 },
    });
    const { usage } = await makeModel(api).generate(request, { signal: signal() });
    expect(usage).toEqual({
      inputTokens: 200,
      cacheReadTokens: 2000,
      cacheWriteTokens: 400,
      outputTokens: 9,
      reasoningTokens: 0,
    });
  });

  it('treats empty arguments as an empty input', async () => {
    serveAnswers(server, api, { toolCalls: [{ id: 'call_none', name: 'now', args: [''] }] });
    const response = await makeModel(api).generate(request, { signal: signal() });
    expect(response.message.content).toEqual([
      { type: 'tool-call', id: 'call_none', name: 'now', input: {} },
    ]);
  });
});
