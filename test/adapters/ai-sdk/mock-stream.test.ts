/**
 * Stream mapping through `MockLanguageModelV3` (from `ai/test`): V3 stream parts become
 * loopwork stream parts, and the final `finish` equals what `generate` returns.
 */
import { MockLanguageModelV3 } from 'ai/test';
import { type ModelRequest, type ModelStreamPart, textOf, toolCallsOf } from 'loopwork';
import { aiSdk } from 'loopwork/ai-sdk';
import { describe, expect, it } from 'vitest';
import { type V3StreamPart, v3Result, v3Stream, v3Usage } from './mock';

const signal = () => new AbortController().signal;
const ask: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 100 };

async function collect(iterable: AsyncIterable<ModelStreamPart>) {
  const parts: ModelStreamPart[] = [];
  for await (const part of iterable) parts.push(part);
  return parts;
}

describe('stream mapping', () => {
  const finish: V3StreamPart = {
    type: 'finish',
    finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
    usage: v3Usage(),
  };

  it('maps text and tool input parts, and finishes with what generate returns', async () => {
    const parts: V3StreamPart[] = [
      { type: 'stream-start', warnings: [] },
      { type: 'response-metadata', id: 'resp_1', modelId: 'mock-model-2025' },
      { type: 'reasoning-start', id: 'r' },
      { type: 'reasoning-delta', id: 'r', delta: 'hmm' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: '' },
      { type: 'text-delta', id: 't', delta: 'Check' },
      { type: 'text-delta', id: 't', delta: 'ing.' },
      { type: 'text-end', id: 't' },
      { type: 'tool-input-start', id: 'c1', toolName: 'look' },
      { type: 'tool-input-delta', id: 'c1', delta: '{"q":' },
      { type: 'tool-input-delta', id: 'c1', delta: '"cat"}' },
      { type: 'tool-input-end', id: 'c1' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'look', input: '{"q":"cat"}' },
      { type: 'tool-call', toolCallId: 'c2', toolName: 'look', input: '{"q":"dog"}' },
      { type: 'tool-input-start', id: 'ws', toolName: 'web_search', providerExecuted: true },
      {
        type: 'tool-call',
        toolCallId: 'ws',
        toolName: 'web_search',
        input: '{}',
        providerExecuted: true,
      },
      { type: 'raw', rawValue: {} },
      finish,
    ];
    const mock = new MockLanguageModelV3({
      doStream: v3Stream(parts),
      doGenerate: v3Result({
        content: [
          { type: 'reasoning', text: 'hmm' },
          { type: 'text', text: 'Checking.' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'look', input: '{"q":"cat"}' },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'look', input: '{"q":"dog"}' },
          {
            type: 'tool-call',
            toolCallId: 'ws',
            toolName: 'web_search',
            input: '{}',
            providerExecuted: true,
          },
        ],
        finishReason: finish.finishReason,
      }),
    });
    const model = aiSdk(mock);
    const streamed = await collect(model.stream!(ask, { signal: signal() }));
    const cat = { type: 'tool-call', id: 'c1', name: 'look', input: { q: 'cat' } } as const;
    const dog = { type: 'tool-call', id: 'c2', name: 'look', input: { q: 'dog' } } as const;
    expect(streamed.slice(0, -1)).toEqual([
      { type: 'text-delta', text: 'Check' },
      { type: 'text-delta', text: 'ing.' },
      { type: 'tool-call-start', id: 'c1', name: 'look' },
      { type: 'tool-call-delta', id: 'c1', inputTextDelta: '{"q":' },
      { type: 'tool-call-delta', id: 'c1', inputTextDelta: '"cat"}' },
      { type: 'tool-call', toolCall: cat },
      // A provider that sends the call whole gets its start and one delta synthesized.
      { type: 'tool-call-start', id: 'c2', name: 'look' },
      { type: 'tool-call-delta', id: 'c2', inputTextDelta: '{"q":"dog"}' },
      { type: 'tool-call', toolCall: dog },
    ]);
    const last = streamed.at(-1);
    expect(last?.type).toBe('finish');
    const generated = await model.generate(ask, { signal: signal() });
    expect(last).toEqual({ type: 'finish', response: generated });
    expect(textOf(generated.message)).toBe('Checking.');
    expect(toolCallsOf(generated.message)).toEqual([cat, dog]);
  });

  it('keeps malformed streamed tool input as its raw text', async () => {
    const mock = new MockLanguageModelV3({
      doStream: v3Stream([
        { type: 'tool-input-start', id: 'c1', toolName: 'look' },
        { type: 'tool-input-delta', id: 'c1', delta: '{"q": ca' },
        { type: 'tool-call', toolCallId: 'c1', toolName: 'look', input: '{"q": ca' },
        finish,
      ]),
    });
    const parts = await collect(aiSdk(mock).stream!(ask, { signal: signal() }));
    expect(parts.at(-2)).toEqual({
      type: 'tool-call',
      toolCall: { type: 'tool-call', id: 'c1', name: 'look', input: '{"q": ca' },
    });
  });

  it('keeps two complete calls that share an id (the loop renames the second)', async () => {
    const mock = new MockLanguageModelV3({
      doStream: v3Stream([
        { type: 'tool-call', toolCallId: 'call_0', toolName: 'look', input: '{"q":"cat"}' },
        { type: 'tool-call', toolCallId: 'call_0', toolName: 'look', input: '{"q":"dog"}' },
        finish,
      ]),
    });
    const parts = await collect(aiSdk(mock).stream!(ask, { signal: signal() }));
    const last = parts.at(-1);
    expect(last?.type === 'finish' && toolCallsOf(last.response.message)).toEqual([
      { type: 'tool-call', id: 'call_0', name: 'look', input: { q: 'cat' } },
      { type: 'tool-call', id: 'call_0', name: 'look', input: { q: 'dog' } },
    ]);
  });
});
