// Thinking blocks travel in the transcript. Each `thinking` / `redacted_thinking` block of an
// answer becomes a reasoning part in place, carrying its signature / encrypted data under
// `providerMetadata.anthropic`, and goes back to the API exactly as received: on the next turn,
// and from a checkpoint through a new model object (a resumed run in another process).
//
// Wire shapes: a thinking block streams as content_block_start {thinking:'', signature:''}, then
// thinking_delta events, then one signature_delta just before content_block_stop; a
// redacted_thinking block arrives whole in its content_block_start, with no deltas
// (platform.claude.com/docs/en/build-with-claude/streaming, extended-thinking; the SDK's
// MessageStream accumulates them the same way).
import {
  createMemorySessionStore,
  defineTool,
  type Model,
  type ModelRequest,
  type ModelStreamPart,
  type ReasoningPart,
  runAgent,
  textOf,
} from 'loopwork';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  answer,
  message,
  redactedThinking,
  sseResponse,
  streamEventsFor,
  text,
  thinking,
  toolUse,
} from './fixtures';
import { useAnthropicServer } from './server';

const { respond, received, model } = useAnthropicServer();
const call = () => ({ signal: new AbortController().signal });
const request: ModelRequest = {
  messages: [{ role: 'user', content: 'Weather in Paris?' }],
  maxOutputTokens: 4096,
};
// Thinking is on: adaptive needs no budget_tokens below max_tokens.
const providerOptions = { anthropic: { thinking: { type: 'adaptive' } } };

const SIG_1 =
  'EqQBCkYIBxgCKkBx7Rf0YbV3Kq2mZJc1yQ0Wl3o8Hn4p5T6u7V8w9X0y1Z2a3B4c5D6e7F8g9H0i1J2k3L4m5N6o7P8q9R0s==';
const SIG_2 =
  'ErUBCkYIBxgCKkCqL9mN8oP7qR6sT5uV4wX3yZ2aB1cD0eF9gH8iJ7kL6mN5oP4qR3sT2uV1wX0yZ9aB8c==';
const SIG_3 = 'EpgBCkYIBxgCKkD3sT2uV1wX0yZ9aB8cD7eF6gH5iJ4kL3mN2oP1qR0sT9uV8wX7yZ6aB5cD4eF3gH2i==';
const REDACTED =
  'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj+nDbz6GN4cX2QAtH1a';

const signed = (value: string, signature: string): ReasoningPart => ({
  type: 'reasoning',
  text: value,
  providerMetadata: { anthropic: { signature } },
});
const redacted = (data: string): ReasoningPart => ({
  type: 'reasoning',
  text: '',
  providerMetadata: { anthropic: { redactedData: data } },
});
const toolCall = (id: string, city: string) => ({
  type: 'tool-call',
  id,
  name: 'get_weather',
  input: { city },
});
const toolUseParam = (id: string, city: string) => ({
  type: 'tool_use',
  id,
  name: 'get_weather',
  input: { city },
});
const toolResult = (id: string) => ({
  type: 'tool_result',
  tool_use_id: id,
  content: '{"celsius":18}',
  is_error: false,
});

const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather of a city',
  input: z.object({ city: z.string() }),
  execute: () => ({ celsius: 18 }),
});

// A three-turn run with interleaved thinking: think, call; think again, call; think, answer.
const thought1 = thinking('The user wants Paris and Tokyo. Paris first.', SIG_1);
const thought2 = thinking('Paris is 18°C. Now Tokyo.', SIG_2);
const thought3 = thinking('Both known; answer briefly.', SIG_3);
const turn1 = message({
  content: [thought1, text('Let me check.'), toolUse('toolu_01', 'get_weather', { city: 'Paris' })],
  stop_reason: 'tool_use',
  usage: { output_tokens: 80, output_tokens_details: { thinking_tokens: 40 } },
});
const turn2 = message({
  content: [thought2, toolUse('toolu_02', 'get_weather', { city: 'Tokyo' })],
  stop_reason: 'tool_use',
});
const turn3 = message({ content: [thought3, text('Paris 18°C, Tokyo 18°C.')] });

// Every block kind, thinking where it is not first, to check the order is kept.
const mixed = message({
  content: [
    redactedThinking(REDACTED),
    thought1,
    text('Let me check.'),
    toolUse('toolu_01', 'get_weather', { city: 'Paris' }),
  ],
  stop_reason: 'tool_use',
});
const mixedParts = [
  redacted(REDACTED),
  signed('The user wants Paris and Tokyo. Paris first.', SIG_1),
  { type: 'text', text: 'Let me check.' },
  toolCall('toolu_01', 'Paris'),
];

/** The model with its streaming turned off, so that the loop calls `generate` (JSON). */
function generateOnly(m: Model): Model {
  return {
    specificationVersion: m.specificationVersion,
    provider: m.provider,
    modelId: m.modelId,
    generate: m.generate,
  };
}
const modes = {
  stream: () => model(),
  generate: () => generateOnly(model()),
};

async function collect(m: Model) {
  const parts: ModelStreamPart[] = [];
  for await (const part of m.stream!(request, call())) parts.push(part);
  return parts;
}

describe('anthropic thinking blocks in the transcript', () => {
  it('generate (JSON): thinking and redacted_thinking become reasoning parts, in wire order', async () => {
    respond(() => HttpResponse.json(mixed));
    const response = await model().generate(request, call());
    expect(response.message).toEqual({ role: 'assistant', content: mixedParts });
    expect(textOf(response.message)).toBe('Let me check.');
    expect(response.stopReason).toBe('tool_use');
  });

  it('stream (SSE): thinking_delta, signature_delta and a whole redacted_thinking block give the finish generate gives', async () => {
    const events = streamEventsFor(mixed);
    // The wire format really exercised: the deltas the API sends for thinking.
    const deltas = events
      .filter((event) => event.event === 'content_block_delta')
      .map((event) => (event.data.delta as { type: string }).type);
    expect(deltas).toEqual([
      'thinking_delta',
      'thinking_delta',
      'signature_delta',
      'text_delta',
      'text_delta',
      'input_json_delta',
      'input_json_delta',
    ]);
    respond(
      () => HttpResponse.json(mixed),
      () => sseResponse(events),
    );
    const generated = await model().generate(request, call());
    const parts = await collect(model());
    expect(parts.at(-1)).toEqual({ type: 'finish', response: generated });
    expect(generated.message.content).toEqual(mixedParts);
    // Thinking has no stream part of its own in the model contract: it arrives with `finish`.
    expect(parts.map((part) => part.type)).toEqual([
      'text-delta',
      'text-delta',
      'tool-call-start',
      'tool-call-delta',
      'tool-call-delta',
      'tool-call',
      'finish',
    ]);
  });

  it('stream: thinking shown as omitted (a signature_delta and no thinking_delta) is a reasoning part with empty text', async () => {
    const omitted = message({
      content: [thinking('', SIG_1), toolUse('toolu_01', 'get_weather', { city: 'Paris' })],
      stop_reason: 'tool_use',
    });
    const events = streamEventsFor(omitted).filter(
      (event) => (event.data.delta as { type?: string } | undefined)?.type !== 'thinking_delta',
    );
    respond(
      () => HttpResponse.json(omitted),
      () => sseResponse(events),
    );
    const generated = await model().generate(request, call());
    const parts = await collect(model());
    expect(parts.at(-1)).toEqual({ type: 'finish', response: generated });
    expect(generated.message.content).toEqual([signed('', SIG_1), toolCall('toolu_01', 'Paris')]);
  });

  for (const [mode, makeModel] of Object.entries(modes)) {
    it(`runAgent (${mode}): each later request carries every turn's thinking blocks verbatim`, async () => {
      respond(
        (body) => answer(body, turn1),
        (body) => answer(body, turn2),
        (body) => answer(body, turn3),
      );
      const result = await runAgent({
        model: makeModel(),
        prompt: 'Weather in Paris and Tokyo?',
        tools: [getWeather],
        providerOptions,
      });
      expect(result.status, result.error?.message).toBe('completed');
      expect(result.text).toBe('Paris 18°C, Tokyo 18°C.');
      expect(received.map((r) => r.body.stream)).toEqual(
        mode === 'stream' ? [true, true, true] : [undefined, undefined, undefined],
      );

      const firstTurn = {
        role: 'assistant',
        content: [
          thought1,
          { type: 'text', text: 'Let me check.' },
          toolUseParam('toolu_01', 'Paris'),
        ],
      };
      const secondTurn = {
        role: 'assistant',
        content: [thought2, toolUseParam('toolu_02', 'Tokyo')],
      };
      expect(received[1]?.body.messages).toEqual([
        { role: 'user', content: 'Weather in Paris and Tokyo?' },
        firstTurn,
        { role: 'user', content: [toolResult('toolu_01')] },
      ]);
      expect(received[2]?.body.messages).toEqual([
        { role: 'user', content: 'Weather in Paris and Tokyo?' },
        firstTurn,
        { role: 'user', content: [toolResult('toolu_01')] },
        secondTurn,
        { role: 'user', content: [toolResult('toolu_02')] },
      ]);
      // The blocks sent back are the blocks received, byte for byte.
      const sent = (received[2]!.body.messages as Array<{ content: unknown[] }>)[3]?.content[0];
      expect(JSON.stringify(sent)).toBe(JSON.stringify(thought2));

      // The transcript holds them as reasoning parts; the answer's text leaves them out.
      expect(result.messages.at(-1)).toEqual({
        role: 'assistant',
        content: [
          signed('Both known; answer briefly.', SIG_3),
          { type: 'text', text: 'Paris 18°C, Tokyo 18°C.' },
        ],
      });
    });

    it(`runAgent (${mode}): a redacted_thinking block goes back as it came, in its place`, async () => {
      respond(
        (body) => answer(body, mixed),
        (body) => answer(body, turn3),
      );
      const result = await runAgent({
        model: makeModel(),
        prompt: 'Weather in Paris?',
        tools: [getWeather],
        providerOptions,
      });
      expect(result.status, result.error?.message).toBe('completed');
      expect(result.messages[1]).toEqual({ role: 'assistant', content: mixedParts });
      expect((received[1]!.body.messages as unknown[])[1]).toEqual({
        role: 'assistant',
        content: [
          { type: 'redacted_thinking', data: REDACTED },
          thought1,
          { type: 'text', text: 'Let me check.' },
          toolUseParam('toolu_01', 'Paris'),
        ],
      });
    });

    it(`runAgent (${mode}): a run resumed from its checkpoint with a new model object still sends the signed blocks`, async () => {
      const checkpoints = createMemorySessionStore();
      const options = {
        prompt: 'Weather in Paris?',
        tools: [getWeather],
        runId: `thinking-resume-${mode}`,
        checkpoints,
        providerOptions,
      };
      // The first process: one model call and its tool call, then it stops.
      respond((body) => answer(body, mixed));
      const stopped = await runAgent({ ...options, model: makeModel(), maxTurns: 1 });
      expect(stopped.status).toBe('max_turns');

      // The second process: a new model object, nothing in memory but the checkpoint.
      respond((body) => answer(body, turn3));
      const resumed = await runAgent({ ...options, model: makeModel(), maxTurns: 5 });
      expect(resumed.status, resumed.error?.message).toBe('completed');
      expect(resumed.text).toBe('Paris 18°C, Tokyo 18°C.');
      expect(received).toHaveLength(2);
      expect(received[1]?.body.messages).toEqual([
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'redacted_thinking', data: REDACTED },
            thought1,
            { type: 'text', text: 'Let me check.' },
            toolUseParam('toolu_01', 'Paris'),
          ],
        },
        { role: 'user', content: [toolResult('toolu_01')] },
      ]);
      // The store (which serializes as JSON) is where they came from.
      const saved = await checkpoints.load(options.runId);
      expect(saved?.state.messages[1]).toEqual({ role: 'assistant', content: mixedParts });
    });
  }

  it('request mapping: keeps signed reasoning (empty text too), leaves out what Anthropic did not sign, trailing thinking and reasoning-only turns', async () => {
    respond(() => HttpResponse.json(message({ content: [text('ok')] })));
    await model().generate(
      {
        messages: [
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: [
              // Another provider's reasoning, one with no metadata, one with unusable metadata.
              {
                type: 'reasoning',
                text: 'OpenAI reasoning summary',
                providerMetadata: { openai: { itemId: 'rs_1', encryptedContent: 'gAAAAB' } },
              },
              { type: 'reasoning', text: 'Reasoning from nowhere' },
              { type: 'reasoning', text: 'Malformed', providerMetadata: { anthropic: {} } },
              // Thinking shown as omitted (display: 'omitted'): no text, the signature alone.
              signed('', SIG_2),
              { type: 'tool-call', id: 't1', name: 'get_weather', input: { city: 'Paris' } },
            ],
          },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 't1',
                toolName: 'get_weather',
                output: 'sunny',
                isError: false,
              },
            ],
          },
          // Cut off while thinking: nothing the API would take (a final block cannot be thinking).
          { role: 'assistant', content: [signed('Let me think about', SIG_3)] },
          { role: 'user', content: 'Please answer.' },
          {
            role: 'assistant',
            content: [
              signed('Short answer.', SIG_1),
              { type: 'text', text: 'Sunny.' },
              redacted(REDACTED),
            ],
          },
          { role: 'user', content: 'Thanks.' },
        ],
        maxOutputTokens: 100,
      },
      call(),
    );
    expect(received[0]?.body.messages).toEqual([
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: '', signature: SIG_2 },
          { type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: 'sunny', is_error: false },
          { type: 'text', text: 'Please answer.' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Short answer.', signature: SIG_1 },
          { type: 'text', text: 'Sunny.' },
        ],
      },
      { role: 'user', content: 'Thanks.' },
    ]);
  });
});
