// The output schema of a run goes to Anthropic as output_config.format, through the real SDK.
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { message, text } from './fixtures';
import { useAnthropicServer } from './server';

const { respond, received, model } = useAnthropicServer();
const call = { signal: new AbortController().signal };

describe('anthropic responseFormat', () => {
  it('sends output_config.format json_schema, closed and with constraints moved to descriptions, keeping effort', async () => {
    respond(() => HttpResponse.json(message({ content: [text('{"city":"Paris","celsius":21}')] })));
    const m = model();
    expect(m.supportsResponseFormat).toBe(true);
    await m.generate(
      {
        messages: [{ role: 'user', content: 'Weather?' }],
        maxOutputTokens: 100,
        responseFormat: {
          type: 'json',
          name: 'final_answer',
          schema: {
            type: 'object',
            properties: { city: { type: 'string' }, celsius: { type: 'number', minimum: -90 } },
            required: ['city', 'celsius'],
          },
        },
        providerOptions: { anthropic: { output_config: { effort: 'low' } } },
      },
      call,
    );
    expect(received[0]?.body.output_config).toEqual({
      effort: 'low',
      format: {
        type: 'json_schema',
        schema: {
          type: 'object',
          properties: {
            city: { type: 'string' },
            celsius: { type: 'number', description: '{minimum: -90}' },
          },
          additionalProperties: false,
          required: ['city', 'celsius'],
        },
      },
    });
  });
});
