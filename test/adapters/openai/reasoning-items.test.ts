// OpenAI Responses reasoning items travel to the next turn (issue 14): OpenAI accepts a reasoning
// item back only together with the items that followed it, by id, so the adapter keeps both and
// sends them together — or neither, when they cannot be paired.
import type { Message, ModelRequest, ModelResponse } from 'loopwork';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { responseObject } from './responses-wire';
import { makeModel, route, useServer } from './server';

const server = useServer();
const signal = () => new AbortController().signal;
const ask: Message = { role: 'user', content: 'Add 3 and 5, then 2 and 2.' };

/** A response whose output is a reasoning item followed by two function calls. */
function reasoningThenCalls(reasoning: Record<string, unknown>) {
  const body = responseObject({
    toolCalls: [
      { id: 'call_A', name: 'add', args: ['{"a":3,"b":5}'] },
      { id: 'call_B', name: 'add', args: ['{"a":2,"b":2}'] },
    ],
    usage: { input: 20, output: 40, reasoning: 30 },
  });
  body.output.unshift({ id: 'rs_1', type: 'reasoning', status: 'completed', ...reasoning });
  return body;
}

/** The first call's answer, then the second request (with the tool results) as OpenAI gets it. */
async function nextRequestAfter(
  first: Record<string, unknown>,
  options: { providerOptions?: ModelRequest['providerOptions']; rename?: boolean } = {},
) {
  const { bodies } = route(server, 'responses', [
    () => HttpResponse.json(first),
    () => HttpResponse.json(responseObject({ text: ['8 and 4.'] })),
  ]);
  const model = makeModel('responses');
  const base = { maxOutputTokens: 256, providerOptions: options.providerOptions ?? {} };
  const response: ModelResponse = await model.generate(
    { ...base, messages: [ask] },
    { signal: signal() },
  );
  const assistant = structuredClone(response.message);
  if (options.rename) {
    for (const part of assistant.content) if (part.type === 'tool-call') part.id += '_lw1_0';
  }
  const calls = assistant.content.flatMap((part) => (part.type === 'tool-call' ? [part] : []));
  await model.generate(
    {
      ...base,
      messages: [
        ask,
        assistant,
        {
          role: 'tool',
          content: calls.map((call) => ({
            type: 'tool-result',
            toolCallId: call.id,
            toolName: call.name,
            output: '8',
            isError: false,
          })),
        },
      ],
    },
    { signal: signal() },
  );
  return { response, input: bodies[1].input as Array<Record<string, unknown>> };
}

describe('openai responses reasoning items', () => {
  it('keeps a reasoning item with its summary and sends it back before its function calls, by id', async () => {
    const { response, input } = await nextRequestAfter(
      reasoningThenCalls({ summary: [{ type: 'summary_text', text: 'Two sums.' }] }),
    );
    expect(response.message.content[0]).toMatchObject({ type: 'reasoning', text: 'Two sums.' });
    expect(input.map((item) => [item.type, item.id])).toEqual([
      ['message', undefined],
      ['reasoning', 'rs_1'],
      ['function_call', expect.stringMatching(/^fc_/)],
      ['function_call', expect.stringMatching(/^fc_/)],
      ['function_call_output', undefined],
      ['function_call_output', undefined],
    ]);
    expect(input[1]).toEqual({
      id: 'rs_1',
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: 'Two sums.' }],
    });
    expect(input.slice(2, 4).map((item) => item.call_id)).toEqual(['call_A', 'call_B']);
  });

  it('with store: false, sends the encrypted content back, and nothing when it is missing', async () => {
    const withContent = await nextRequestAfter(
      reasoningThenCalls({ summary: [], encrypted_content: 'gAAAA_OPAQUE' }),
      { providerOptions: { openai: { store: false, include: ['reasoning.encrypted_content'] } } },
    );
    expect(withContent.input[1]).toEqual({
      id: 'rs_1',
      type: 'reasoning',
      summary: [],
      encrypted_content: 'gAAAA_OPAQUE',
    });

    // Not stored and not encrypted: OpenAI could not find the item, so it stays out, and the
    // calls go without ids (an id without its reasoning item is rejected too).
    const without = await nextRequestAfter(reasoningThenCalls({ summary: [] }), {
      providerOptions: { openai: { store: false } },
    });
    expect(without.input.map((item) => [item.type, item.id])).toEqual([
      ['message', undefined],
      ['function_call', undefined],
      ['function_call', undefined],
      ['function_call_output', undefined],
      ['function_call_output', undefined],
    ]);
  });

  it('leaves a reasoning item out when a call that followed it is no longer there under its id', async () => {
    const { input } = await nextRequestAfter(
      reasoningThenCalls({ summary: [], encrypted_content: 'gAAAA_OPAQUE' }),
      { rename: true },
    );
    expect(input.some((item) => item.type === 'reasoning')).toBe(false);
    expect(input.filter((item) => item.type === 'function_call').map((item) => item.id)).toEqual([
      undefined,
      undefined,
    ]);
  });
});
