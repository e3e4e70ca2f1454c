// The output schema of a run goes to OpenAI as its native structured output, through the real SDK.
import type { ModelRequest } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { makeModel, serveAnswers, useServer } from './server';

const server = useServer();
const signal = () => new AbortController().signal;
const closedSchema = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    days: {
      type: 'array',
      items: { type: 'object', properties: { t: { type: 'number' } }, required: ['t'] },
    },
  },
  required: ['city', 'days'],
};
const ask = (schema: Record<string, unknown>): ModelRequest => ({
  messages: [{ role: 'user', content: 'Weather?' }],
  maxOutputTokens: 100,
  responseFormat: { type: 'json', name: 'final_answer', schema },
});
const strictSchema = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    days: {
      type: 'array',
      items: {
        type: 'object',
        properties: { t: { type: 'number' } },
        required: ['t'],
        additionalProperties: false,
      },
    },
  },
  required: ['city', 'days'],
  additionalProperties: false,
};

describe('openai responseFormat', () => {
  it('the model declares native support', () => {
    expect(makeModel('chat').supportsResponseFormat).toBe(true);
  });

  it('chat: response_format json_schema, strict with every object closed', async () => {
    const { bodies } = serveAnswers(server, 'chat', { text: ['{"city":"Paris","days":[]}'] });
    await makeModel('chat').generate(ask(closedSchema), { signal: signal() });
    expect(bodies[0].response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'final_answer', schema: strictSchema, strict: true },
    });
  });

  it('chat: a schema with optional properties goes with strict false, unchanged', async () => {
    const loose = {
      type: 'object',
      properties: { city: { type: 'string' }, note: { type: 'string' } },
      required: ['city'],
    };
    const { bodies } = serveAnswers(server, 'chat', { text: ['{"city":"Paris"}'] });
    await makeModel('chat').generate(ask(loose), { signal: signal() });
    expect(bodies[0].response_format.json_schema).toEqual({
      name: 'final_answer',
      schema: loose,
      strict: false,
    });
  });

  it('responses: text.format json_schema', async () => {
    const { bodies } = serveAnswers(server, 'responses', { text: ['{"city":"Paris","days":[]}'] });
    await makeModel('responses').generate(ask(closedSchema), { signal: signal() });
    expect(bodies[0].text).toEqual({
      format: { type: 'json_schema', name: 'final_answer', schema: strictSchema, strict: true },
    });
  });
});
