// What the adapter sends: the JSON body and headers the fixture received.

import type { ModelRequest } from 'loopwork';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { message, sseResponse, streamEventsFor, TEST_KEY, text } from './fixtures';
import { useAnthropicServer } from './server';

const { respond, received, model } = useAnthropicServer();
const ok = () => HttpResponse.json(message({ content: [text('ok')] }));
const call = { signal: new AbortController().signal };
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const weather = {
  name: 'get_weather',
  description: 'Current weather of a city',
  inputSchema: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
};

const fullRequest: ModelRequest = {
  system: 'You are terse.',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Compare these two charts.' },
        { type: 'image', mediaType: 'image/png', data: PNG },
        { type: 'image', mediaType: 'image/jpeg', url: 'https://example.com/chart.jpg' },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Let me check the weather in both cities.' },
        { type: 'tool-call', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool-call', id: 'toolu_02', name: 'get_weather', input: { city: 'Atlantis' } },
      ],
    },
    {
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'toolu_01',
          toolName: 'get_weather',
          output: '{"celsius":18}',
          isError: false,
        },
        {
          type: 'tool-result',
          toolCallId: 'toolu_02',
          toolName: 'get_weather',
          output: 'Unknown city "Atlantis".',
          isError: true,
        },
      ],
    },
  ],
  tools: [weather],
  maxOutputTokens: 1024,
  stopSequences: ['\n\nHuman:', 'END'],
};

describe('anthropic request mapping', () => {
  it('maps system, text, base64 and url images, tool calls, tool results with is_error, tools, stop sequences and max_tokens', async () => {
    respond(ok);
    await model().generate(fullRequest, call);
    expect(received).toHaveLength(1);
    expect(received[0]?.body).toEqual({
      model: 'claude-sonnet-5-5',
      max_tokens: 1024,
      system: 'You are terse.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these two charts.' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/chart.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me check the weather in both cities.' },
            { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_02', name: 'get_weather', input: { city: 'Atlantis' } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_01',
              content: '{"celsius":18}',
              is_error: false,
            },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_02',
              content: 'Unknown city "Atlantis".',
              is_error: true,
            },
          ],
        },
      ],
      tools: [
        {
          name: 'get_weather',
          description: 'Current weather of a city',
          input_schema: weather.inputSchema,
        },
      ],
      stop_sequences: ['\n\nHuman:', 'END'],
    });
  });

  it('streams with the same body plus stream: true', async () => {
    respond(ok, () => sseResponse(streamEventsFor(message({ content: [text('ok')] }))));
    await model().generate(fullRequest, call);
    for await (const _ of model().stream!(fullRequest, call)) {
      // drain
    }
    expect(received).toHaveLength(2);
    expect(received[1]?.body).toEqual({ ...received[0]?.body, stream: true });
  });

  it('omits what the request does not set, and a plain string prompt stays a string', async () => {
    respond(ok);
    await model().generate(
      {
        messages: [{ role: 'user', content: 'Hi' }],
        maxOutputTokens: 64,
        tools: [],
        stopSequences: [],
      },
      call,
    );
    expect(received[0]?.body).toEqual({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Hi' }],
    });
  });

  it('merges providerOptions.anthropic into the body, but keeps model and max_tokens (the budget) its own', async () => {
    respond(ok);
    const system = [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }];
    await model().generate(
      {
        system: 'You are terse.',
        messages: [{ role: 'user', content: 'Hi' }],
        maxOutputTokens: 2048,
        providerOptions: {
          anthropic: {
            thinking: { type: 'adaptive' },
            metadata: { user_id: 'user-42' },
            cache_control: { type: 'ephemeral' },
            system,
            model: 'claude-opus-5-5',
            max_tokens: 64_000,
            stream: true,
          },
          openai: { reasoning_effort: 'high' },
        },
      },
      call,
    );
    expect(received[0]?.body).toEqual({
      model: 'claude-sonnet-5-5',
      max_tokens: 2048,
      system,
      messages: [{ role: 'user', content: 'Hi' }],
      thinking: { type: 'adaptive' },
      metadata: { user_id: 'user-42' },
      cache_control: { type: 'ephemeral' },
    });
  });

  it('joins neighbouring user turns (tool results, then a user message) and skips empty assistant turns', async () => {
    respond(ok);
    await model().generate(
      {
        messages: [
          { role: 'user', content: 'Weather?' },
          { role: 'assistant', content: [{ type: 'tool-call', id: 't1', name: 'w', input: {} }] },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 't1',
                toolName: 'w',
                output: 'sunny',
                isError: false,
              },
            ],
          },
          { role: 'user', content: 'And tomorrow?' },
          { role: 'assistant', content: [{ type: 'text', text: '' }] },
          { role: 'user', content: [{ type: 'text', text: 'Please answer.' }] },
        ],
        maxOutputTokens: 100,
      },
      call,
    );
    expect(received[0]?.body.messages).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'w', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: 'sunny', is_error: false },
          { type: 'text', text: 'And tomorrow?' },
          { type: 'text', text: 'Please answer.' },
        ],
      },
    ]);
  });

  it('sends tool input that was not valid JSON back as an object, { _raw: text }', async () => {
    respond(ok);
    await model().generate(
      {
        messages: [
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: [{ type: 'tool-call', id: 't1', name: 'w', input: '{"city": Par' }],
          },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 't1',
                toolName: 'w',
                output: 'invalid',
                isError: true,
              },
            ],
          },
        ],
        maxOutputTokens: 100,
      },
      call,
    );
    const assistant = (received[0]!.body.messages as Array<{ content: unknown }>)[1];
    expect(assistant?.content).toEqual([
      { type: 'tool_use', id: 't1', name: 'w', input: { _raw: '{"city": Par' } },
    ]);
  });

  it('authenticates with the key as the SDK sends it (Authorization: Bearer), with no SDK retries', async () => {
    respond(ok);
    await model().generate(
      { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 8 },
      call,
    );
    const headers = received[0]!.headers;
    // @anthropic-ai/sdk 1.14.0 sends the key as a bearer token, not in x-api-key.
    expect(headers.get('authorization')).toBe(`Bearer ${TEST_KEY}`);
    expect(headers.get('x-api-key')).toBeNull();
    expect(headers.get('anthropic-version')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(headers.get('x-stainless-retry-count')).toBe('0');
  });
});
