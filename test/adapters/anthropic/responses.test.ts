// What the adapter makes of Anthropic's answers (non-streaming): content, stop reasons, usage.

import type { ModelRequest, StopReason } from 'loopwork';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { message, text, thinking, toolUse } from './fixtures';
import { useAnthropicServer } from './server';

const { respond, model } = useAnthropicServer();
const request: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 256 };
const call = { signal: new AbortController().signal };
const generate = async (body: Record<string, unknown>) => {
  respond(() => HttpResponse.json(body));
  return model().generate(request, call);
};

describe('anthropic responses', () => {
  it('maps thinking, text and parallel tool calls in order; thinking is a reasoning part with its signature', async () => {
    const response = await generate(
      message({
        content: [
          thinking('Two cities, two calls.', 'EqQBCkYIARgCKkB'),
          text('Checking both.'),
          toolUse('toolu_01A', 'get_weather', { city: 'Paris' }),
          toolUse('toolu_01B', 'get_weather', { city: 'Tokyo', units: { temp: 'C' } }),
        ],
        stop_reason: 'tool_use',
      }),
    );
    expect(response.message).toEqual({
      role: 'assistant',
      content: [
        {
          type: 'reasoning',
          text: 'Two cities, two calls.',
          providerMetadata: { anthropic: { signature: 'EqQBCkYIARgCKkB' } },
        },
        { type: 'text', text: 'Checking both.' },
        { type: 'tool-call', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
        {
          type: 'tool-call',
          id: 'toolu_01B',
          name: 'get_weather',
          input: { city: 'Tokyo', units: { temp: 'C' } },
        },
      ],
    });
    expect(response.stopReason).toBe('tool_use');
    expect(response.providerMetadata).toEqual({
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      model: 'claude-sonnet-5-5',
      stopReason: 'tool_use',
      stopSequence: null,
    });
  });

  const stopReasons: Array<[string, StopReason]> = [
    ['end_turn', 'end_turn'],
    ['tool_use', 'tool_use'],
    ['max_tokens', 'max_tokens'],
    ['stop_sequence', 'stop_sequence'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'other'],
    ['model_context_window_exceeded', 'max_tokens'],
  ];
  for (const [raw, normalized] of stopReasons) {
    it(`normalizes stop_reason ${raw} to ${normalized}, keeping the raw value`, async () => {
      const response = await generate(
        message({
          content: [text('…')],
          stop_reason: raw,
          ...(raw === 'stop_sequence' ? { stop_sequence: 'END' } : {}),
          ...(raw === 'refusal' ? { stop_details: { type: 'refusal', category: 'cyber' } } : {}),
        }),
      );
      expect(response.stopReason).toBe(normalized);
      expect(response.providerMetadata?.stopReason).toBe(raw);
      if (raw === 'stop_sequence') expect(response.providerMetadata?.stopSequence).toBe('END');
      if (raw === 'refusal') {
        expect(response.providerMetadata?.stopDetails).toEqual({
          type: 'refusal',
          category: 'cyber',
        });
      }
    });
  }

  it('normalizes usage: uncached input, cache read, cache write (5m + 1h), output with thinking inside', async () => {
    const response = await generate(
      message({
        content: [text('ok')],
        usage: {
          input_tokens: 7,
          cache_read_input_tokens: 3000,
          cache_creation_input_tokens: 1500,
          cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 500 },
          output_tokens: 250,
          output_tokens_details: { thinking_tokens: 200 },
        },
      }),
    );
    expect(response.usage).toEqual({
      inputTokens: 7,
      cacheReadTokens: 3000,
      cacheWriteTokens: 1500,
      outputTokens: 250,
      reasoningTokens: 200,
    });
  });

  it('reads absent or null cache fields as zero', async () => {
    const body = message({ content: [text('ok')] });
    const usage = body.usage as Record<string, unknown>;
    delete usage.cache_read_input_tokens;
    usage.cache_creation_input_tokens = null;
    const response = await generate(body);
    expect(response.usage).toEqual({
      inputTokens: 12,
      outputTokens: 6,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
  });

  it('an answer with no text at all is an empty message, not an error', async () => {
    const response = await generate(message({ content: [], usage: { output_tokens: 1 } }));
    expect(response.message).toEqual({ role: 'assistant', content: [] });
    expect(response.stopReason).toBe('end_turn');
  });
});
