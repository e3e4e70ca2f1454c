import { InvalidOptionError, ModelError, type ModelRequest } from 'loopwork';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { responseObject } from './responses-wire';
import { makeModel, route, useServer } from './server';

const server = useServer();
const request: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 64 };
const signal = () => new AbortController().signal;

describe('openai responses specifics', () => {
  it('skips reasoning items and reads text, refusals and function calls in output order', async () => {
    const body = responseObject({
      text: ['Checking.'],
      toolCalls: [{ id: 'call_7Va', name: 'add', args: ['{"a":3,"b":5}'] }],
      usage: { input: 20, output: 15, reasoning: 3 },
    });
    body.output.unshift({
      id: 'rs_1',
      type: 'reasoning',
      summary: [],
      encrypted_content: 'ENC_OPAQUE_1',
    });
    body.output.push({
      id: 'msg_2',
      type: 'message',
      status: 'completed',
      content: [{ type: 'refusal', refusal: 'No more.' }],
      role: 'assistant',
    });
    route(server, 'responses', [() => HttpResponse.json(body)]);
    const response = await makeModel('responses').generate(request, { signal: signal() });
    expect(response.message.content).toEqual([
      { type: 'text', text: 'Checking.' },
      { type: 'tool-call', id: 'call_7Va', name: 'add', input: { a: 3, b: 5 } },
      { type: 'text', text: 'No more.' },
    ]);
    expect(response.stopReason).toBe('tool_use');
    expect([response.usage.outputTokens, response.usage.reasoningTokens]).toEqual([15, 3]);
    expect(response.providerMetadata).toEqual({
      id: 'resp_0c3fb28cfcf463a500695fa2f0239481a095ec6ce3dfe4d458',
      model: 'gpt-4.1-2025-04-14',
      status: 'completed',
    });
  });

  it('fails on a response whose status is `failed`', async () => {
    const body = {
      ...responseObject({ text: ['x'] }),
      status: 'failed',
      output: [],
      error: { code: 'server_error', message: 'The model failed to generate a response.' },
    };
    route(server, 'responses', [() => HttpResponse.json(body)]);
    const error = await makeModel('responses')
      .generate(request, { signal: signal() })
      .catch((thrown: unknown) => thrown);
    expect(ModelError.isInstance(error) && [error.kind, error.retryable]).toEqual(['server', true]);
  });

  it('refuses stop sequences, which the Responses API cannot express, before any request', async () => {
    const withStop = { ...request, stopSequences: ['END'] };
    const model = makeModel('responses');
    await expect(model.generate(withStop, { signal: signal() })).rejects.toSatisfy(
      InvalidOptionError.isInstance,
    );
    const parts = model.stream(withStop, { signal: signal() })[Symbol.asyncIterator]();
    await expect(parts.next()).rejects.toThrow(/stopSequences/);
  });
});
