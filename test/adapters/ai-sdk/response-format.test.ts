// The output schema of a run goes through the AI SDK's responseFormat to @ai-sdk/openai's wire format.
import { describe, expect, it } from 'vitest';
import { openaiChat } from './wire/models';
import * as oa from './wire/openai-chat';
import { json, serve, useMswServer } from './wire/server';

useMswServer();

describe('ai-sdk responseFormat', () => {
  it('becomes response_format json_schema on the OpenAI wire', async () => {
    const received = serve(oa.OPENAI_URL, json(oa.completion({ text: '{"city":"Paris"}' })));
    const model = openaiChat();
    expect(model.supportsResponseFormat).toBe(true);
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    };
    await model.generate(
      {
        messages: [{ role: 'user', content: 'Weather?' }],
        maxOutputTokens: 100,
        responseFormat: { type: 'json', name: 'final_answer', schema },
      },
      { signal: new AbortController().signal },
    );
    expect(received.bodies[0]).toMatchObject({
      response_format: { type: 'json_schema', json_schema: { name: 'final_answer', schema } },
    });
  });
});
