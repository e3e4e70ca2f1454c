/**
 * Mapping logic through `MockLanguageModelV3` (from `ai/test`): the V3 call options the adapter
 * builds, and how V3 `doGenerate` results become loopwork responses (streams: mock-stream.test.ts).
 */

import { MockLanguageModelV3 } from 'ai/test';
import type { ModelRequest } from 'loopwork';
import { aiSdk } from 'loopwork/ai-sdk';
import { describe, expect, it } from 'vitest';
import { v3Result, v3Usage } from './mock';

const signal = () => new AbortController().signal;
const ask = (extra: Partial<ModelRequest> = {}): ModelRequest => ({
  messages: [{ role: 'user', content: 'Hi' }],
  maxOutputTokens: 100,
  ...extra,
});

describe('request mapping to LanguageModelV3 call options', () => {
  it('maps system, every message and part kind, tools, limits and provider options', async () => {
    const mock = new MockLanguageModelV3({ doGenerate: v3Result() });
    const providerOptions = {
      openai: { reasoningEffort: 'low' },
      anthropic: { sendReasoning: false },
    };
    const controller = new AbortController();
    await aiSdk(mock, { settings: { temperature: 0.2, seed: 7 } }).generate(
      {
        system: 'Be terse.',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' },
              { type: 'image', mediaType: 'image/jpeg', url: 'https://example.com/cat.jpg' },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Let me look.' },
              { type: 'tool-call', id: 'c1', name: 'look', input: { q: 'cat' } },
              { type: 'tool-call', id: 'c2', name: 'look', input: '{"q": cat' },
            ],
          },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 'c1',
                toolName: 'look',
                output: 'a cat',
                isError: false,
              },
              {
                type: 'tool-result',
                toolCallId: 'c2',
                toolName: 'look',
                output: 'bad input',
                isError: true,
              },
            ],
          },
        ],
        tools: [
          { name: 'look', description: 'Looks', inputSchema: { type: 'object', properties: {} } },
        ],
        maxOutputTokens: 321,
        stopSequences: ['END'],
        providerOptions,
      },
      { signal: controller.signal },
    );
    const call = mock.doGenerateCalls[0]!;
    expect(call.prompt).toEqual([
      { role: 'system', content: 'Be terse.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'file', mediaType: 'image/png', data: 'iVBORw0KGgo=' },
          { type: 'file', mediaType: 'image/jpeg', data: new URL('https://example.com/cat.jpg') },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'look', input: { q: 'cat' } },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'look', input: { _raw: '{"q": cat' } },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'look',
            output: { type: 'text', value: 'a cat' },
          },
          {
            type: 'tool-result',
            toolCallId: 'c2',
            toolName: 'look',
            output: { type: 'error-text', value: 'bad input' },
          },
        ],
      },
    ]);
    expect(call.tools).toEqual([
      {
        type: 'function',
        name: 'look',
        description: 'Looks',
        inputSchema: { type: 'object', properties: {} },
      },
    ]);
    expect(call.toolChoice).toEqual({ type: 'auto' });
    expect(call.maxOutputTokens).toBe(321);
    expect(call.stopSequences).toEqual(['END']);
    expect(call.providerOptions).toBe(providerOptions);
    expect(call.abortSignal).toBe(controller.signal);
    expect([call.temperature, call.seed]).toEqual([0.2, 7]);
  });

  it('sends no tools, tool choice or stop sequences when the request has none', async () => {
    const mock = new MockLanguageModelV3({ doGenerate: v3Result() });
    await aiSdk(mock).generate(ask({ stopSequences: [] }), { signal: signal() });
    const call = mock.doGenerateCalls[0]!;
    expect(call.prompt).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }]);
    expect(call).not.toHaveProperty('tools');
    expect(call).not.toHaveProperty('toolChoice');
    expect(call).not.toHaveProperty('stopSequences');
    expect(call).not.toHaveProperty('providerOptions');
  });
});

describe('response mapping', () => {
  it('keeps text and client tool calls, drops reasoning, sources and provider-executed tools', async () => {
    const mock = new MockLanguageModelV3({
      provider: 'mock.chat',
      modelId: 'mock-model',
      doGenerate: v3Result({
        content: [
          { type: 'reasoning', text: 'thinking…' },
          { type: 'text', text: 'Checking.' },
          {
            type: 'tool-call',
            toolCallId: 'ws',
            toolName: 'web_search',
            input: '{}',
            providerExecuted: true,
          },
          { type: 'source', sourceType: 'url', id: 's1', url: 'https://example.com' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'look', input: '{"q":"cat"}' },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'look', input: '{"q": cat' },
          { type: 'tool-call', toolCallId: 'c3', toolName: 'ping', input: '' },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
      }),
    });
    const model = aiSdk(mock);
    expect([model.provider, model.modelId]).toEqual(['mock.chat', 'mock-model']);
    const response = await model.generate(ask(), { signal: signal() });
    expect(response.message.content).toEqual([
      { type: 'text', text: 'Checking.' },
      { type: 'tool-call', id: 'c1', name: 'look', input: { q: 'cat' } },
      { type: 'tool-call', id: 'c2', name: 'look', input: '{"q": cat' },
      { type: 'tool-call', id: 'c3', name: 'ping', input: {} },
    ]);
    expect(response.stopReason).toBe('tool_use');
    expect(response.providerMetadata).toMatchObject({
      responseId: 'resp_1',
      responseModelId: 'mock-model-2025',
      rawFinishReason: 'tool_calls',
    });
  });

  it.each([
    [{ unified: 'stop', raw: 'end_turn' }, false, 'end_turn'],
    [{ unified: 'stop', raw: 'stop_sequence' }, false, 'stop_sequence'],
    [{ unified: 'stop', raw: 'stop' }, true, 'tool_use'],
    [{ unified: 'length', raw: 'max_tokens' }, false, 'max_tokens'],
    [{ unified: 'content-filter', raw: 'refusal' }, false, 'content_filter'],
    [{ unified: 'tool-calls', raw: 'tool_use' }, true, 'tool_use'],
    [{ unified: 'error', raw: undefined }, false, 'other'],
    [{ unified: 'other', raw: 'pause_turn' }, false, 'other'],
  ] as const)('finish reason %j (tool calls: %s) → %s', async (finishReason, tools, expected) => {
    const content = tools
      ? [{ type: 'tool-call' as const, toolCallId: 'c', toolName: 't', input: '{}' }]
      : [{ type: 'text' as const, text: 'x' }];
    const mock = new MockLanguageModelV3({ doGenerate: v3Result({ content, finishReason }) });
    const { stopReason } = await aiSdk(mock).generate(ask(), { signal: signal() });
    expect(stopReason).toBe(expected);
  });

  it('normalizes usage into disjoint buckets, deriving uncached input when noCache is missing', async () => {
    const usage = v3Usage(
      { total: 175, noCache: undefined, cacheRead: 50, cacheWrite: 25 },
      { total: 30, text: 20, reasoning: 10 },
    );
    const mock = new MockLanguageModelV3({ doGenerate: v3Result({ usage }) });
    expect((await aiSdk(mock).generate(ask(), { signal: signal() })).usage).toEqual({
      inputTokens: 100,
      cacheReadTokens: 50,
      cacheWriteTokens: 25,
      outputTokens: 30,
      reasoningTokens: 10,
    });
    const sparse = v3Usage(
      { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
      { total: undefined, text: 4, reasoning: 3 },
    );
    const other = new MockLanguageModelV3({ doGenerate: v3Result({ usage: sparse }) });
    expect((await aiSdk(other).generate(ask(), { signal: signal() })).usage).toEqual({
      inputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 7,
      reasoningTokens: 3,
    });
  });
});
