/**
 * An agent on OpenAI through `loopwork/openai`: one tool, streamed text, usage and cost.
 *
 * With OPENAI_API_KEY set it calls the real Chat Completions API (pass `api: 'responses'` for the
 * Responses API). Without it, it serves a local fixture in the API's exact SSE wire format (msw,
 * in this process), so it runs offline.
 *
 * Run: `npx tsx examples/openai.ts`
 */
import { defineTool, runAgent } from 'loopwork';
import { openai } from 'loopwork/openai';
import { z } from 'zod';

const live = Boolean(process.env.OPENAI_API_KEY);
console.log(
  live
    ? 'OPENAI_API_KEY is set: calling the real OpenAI API.'
    : 'OPENAI_API_KEY is not set: using a local fixture of the OpenAI API (no network).',
);
const stopFixture = live ? undefined : await serveFixture();

const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather in a city, temperature in degrees Celsius.',
  input: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, celsius: 21, sky: 'sunny' }),
});

const result = await runAgent({
  model: openai({
    model: 'gpt-6.1-sol',
    ...(live ? {} : { apiKey: 'fixture-key', baseURL: 'http://127.0.0.1:9/v1' }),
  }),
  prompt: 'What is the weather in Lisbon? One sentence.',
  tools: [getWeather],
  maxTurns: 5,
  maxCostUsd: 0.05,
  onEvent: (event) => {
    if (event.type === 'text-delta') process.stdout.write(event.text);
    if (event.type === 'tool-call-started') console.log(`[tool] ${event.toolName}`);
  },
});
console.log(
  `\nstatus=${result.status} turns=${result.turns.length} cost=$${result.costUsd.toFixed(6)}`,
);
console.log('usage', result.usage);
stopFixture?.();
if (result.status !== 'completed') {
  console.error(result.error);
  process.exit(1);
}

/** Two recorded-shape streamed answers (`chat.completion.chunk`s): a get_weather call, then text. */
async function serveFixture(): Promise<() => void> {
  const { http, HttpResponse } = await import('msw');
  const { setupServer } = await import('msw/node');
  const chunk = (delta: object, finish: string | null = null, usage: object | null = null) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-fixture',
      object: 'chat.completion.chunk',
      created: 1764140000,
      model: 'gpt-6.1-sol-2026-09-29',
      choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      usage,
    })}\n\n`;
  const usage = (prompt: number, completion: number) => ({
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  });
  const call = {
    index: 0,
    id: 'call_fixture1',
    type: 'function',
    function: { name: 'get_weather', arguments: '' },
  };
  const answers = [
    [
      chunk({ role: 'assistant', content: null, tool_calls: [call], refusal: null }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Lisbon"}' } }] }),
      chunk({}, 'tool_calls'),
      chunk({}, null, usage(310, 17)),
    ],
    [
      chunk({ role: 'assistant', content: '', refusal: null }),
      chunk({ content: 'It is 21 °C ' }),
      chunk({ content: 'and sunny in Lisbon.' }),
      chunk({}, 'stop'),
      chunk({}, null, usage(352, 12)),
    ],
  ];
  const server = setupServer(
    http.post('http://127.0.0.1:9/v1/chat/completions', () => {
      const body = `${(answers.shift() ?? []).join('')}data: [DONE]\n\n`;
      return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
    }),
  );
  server.listen({ onUnhandledRequest: 'error' });
  return () => server.close();
}
