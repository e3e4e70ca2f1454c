import type { ModelRequest } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { API_KEY, makeModel, serveAnswers, useServer } from './server';

const server = useServer();
const signal = () => new AbortController().signal;
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const schema = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
  required: ['city'],
};

const request: ModelRequest = {
  system: 'You are terse.',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in these pictures?' },
        { type: 'image', mediaType: 'image/png', data: PNG },
        { type: 'image', mediaType: 'image/jpeg', url: 'https://example.com/paris.jpg' },
      ],
    },
    {
      role: 'assistant',
      content: [
        // Another provider's reasoning has no place in an OpenAI request: it is left out.
        {
          type: 'reasoning',
          text: 'The user wants weather.',
          providerMetadata: { anthropic: { signature: 'sig' } },
        },
        { type: 'text', text: 'Checking the weather.' },
        { type: 'tool-call', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        // A malformed input kept as raw text goes back exactly as the model wrote it.
        { type: 'tool-call', id: 'call_2', name: 'get_weather', input: '{"city": "Tok' },
      ],
    },
    {
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'call_1',
          toolName: 'get_weather',
          output: '{"celsius":18}',
          isError: false,
        },
        {
          type: 'tool-result',
          toolCallId: 'call_2',
          toolName: 'get_weather',
          output: 'Invalid input for tool "get_weather": expected object, received string.',
          isError: true,
        },
      ],
    },
  ],
  tools: [{ name: 'get_weather', description: 'Current weather of a city', inputSchema: schema }],
  maxOutputTokens: 321,
  stopSequences: ['END'],
  providerOptions: {
    openai: {
      reasoning_effort: 'low',
      service_tier: 'flex',
      max_completion_tokens: 99_999,
      model: 'other',
    },
    anthropic: { thinking: { type: 'enabled' } },
  },
};

describe('openai chat request', () => {
  it('sends system, images, tool calls and results, tools, stop and token limit', async () => {
    const { bodies, headers } = serveAnswers(server, 'chat', { text: ['ok'] });
    await makeModel('chat').generate(request, { signal: signal() });
    expect(bodies[0]).toEqual({
      reasoning_effort: 'low',
      service_tier: 'flex',
      model: 'gpt-4.1',
      messages: [
        { role: 'system', content: 'You are terse.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these pictures?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/paris.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Checking the weather.',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            {
              id: 'call_2',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city": "Tok' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"celsius":18}' },
        {
          role: 'tool',
          tool_call_id: 'call_2',
          content: 'Invalid input for tool "get_weather": expected object, received string.',
        },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather of a city',
            parameters: schema,
          },
        },
      ],
      stop: ['END'],
      max_completion_tokens: 321,
      stream: false,
    });
    expect(headers[0]?.get('authorization')).toBe(`Bearer ${API_KEY}`);
  });

  it('streams with usage in the final chunk', async () => {
    const { bodies } = serveAnswers(server, 'chat', { text: ['ok'] });
    const withExtra = {
      ...request,
      providerOptions: {
        openai: { stream_options: { include_obfuscation: false, include_usage: false } },
      },
    };
    for await (const _ of makeModel('chat').stream(withExtra, { signal: signal() }));
    expect(bodies[0].stream).toBe(true);
    expect(bodies[0].stream_options).toEqual({ include_obfuscation: false, include_usage: true });
    expect(bodies[0].max_tokens).toBeUndefined();
  });

  it('leaves tools out when there are none, and an assistant without tool calls as plain content', async () => {
    const { bodies } = serveAnswers(server, 'chat', { text: ['ok'] });
    await makeModel('chat').generate(
      {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: [{ type: 'text', text: 'Hello.' }] },
          { role: 'user', content: 'Bye' },
        ],
        maxOutputTokens: 10,
      },
      { signal: signal() },
    );
    expect(bodies[0]).toEqual({
      model: 'gpt-4.1',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Bye' },
      ],
      max_completion_tokens: 10,
      stream: false,
    });
  });
});

describe('openai responses request', () => {
  it('sends instructions, input items, function tools and max_output_tokens', async () => {
    const { bodies } = serveAnswers(server, 'responses', { text: ['ok'] });
    const { stopSequences: _, ...withoutStop } = request;
    await makeModel('responses').generate(withoutStop, { signal: signal() });
    expect(bodies[0]).toEqual({
      reasoning_effort: 'low',
      service_tier: 'flex',
      max_completion_tokens: 99_999,
      model: 'gpt-4.1',
      instructions: 'You are terse.',
      input: [
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is in these pictures?' },
            { type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'auto' },
            { type: 'input_image', image_url: 'https://example.com/paris.jpg', detail: 'auto' },
          ],
        },
        { type: 'message', role: 'assistant', content: 'Checking the weather.' },
        {
          type: 'function_call',
          call_id: 'call_1',
          name: 'get_weather',
          arguments: '{"city":"Paris"}',
        },
        {
          type: 'function_call',
          call_id: 'call_2',
          name: 'get_weather',
          arguments: '{"city": "Tok',
        },
        { type: 'function_call_output', call_id: 'call_1', output: '{"celsius":18}' },
        {
          type: 'function_call_output',
          call_id: 'call_2',
          output: 'Invalid input for tool "get_weather": expected object, received string.',
        },
      ],
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          description: 'Current weather of a city',
          parameters: schema,
          strict: false,
        },
      ],
      max_output_tokens: 321,
      stream: false,
    });
  });

  it('streams with stream: true', async () => {
    const { bodies } = serveAnswers(server, 'responses', { text: ['ok'] });
    for await (const _ of makeModel('responses').stream(
      { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 16 },
      { signal: signal() },
    ));
    expect(bodies[0]).toEqual({
      model: 'gpt-4.1',
      input: [{ type: 'message', role: 'user', content: 'Hi' }],
      max_output_tokens: 16,
      stream: true,
    });
  });
});

describe('openai tools from provider options', () => {
  it('go first, before the function tools of the request (built-in tools, say)', async () => {
    const { bodies } = serveAnswers(server, 'responses', { text: ['ok'] });
    await makeModel('responses').generate(
      {
        messages: [{ role: 'user', content: 'Search the news, then use the tool.' }],
        tools: [{ name: 'get_weather', description: 'Weather', inputSchema: schema }],
        maxOutputTokens: 50,
        providerOptions: { openai: { tools: [{ type: 'web_search' }], store: false } },
      },
      { signal: signal() },
    );
    expect(bodies[0].tools).toEqual([
      { type: 'web_search' },
      {
        type: 'function',
        name: 'get_weather',
        description: 'Weather',
        parameters: schema,
        strict: false,
      },
    ]);
    expect(bodies[0].store).toBe(false);
  });
});
