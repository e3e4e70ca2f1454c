/**
 * An agent on Claude through `loopwork/anthropic`: one tool, streamed text, usage and cost.
 *
 * With ANTHROPIC_API_KEY set it calls the real Messages API. Without it, it serves a local
 * fixture in the API's exact SSE wire format (msw, in this process), so it runs offline.
 *
 * Run: `npx tsx examples/anthropic.ts`
 */
import { defineTool, runAgent } from 'loopwork';
import { anthropic } from 'loopwork/anthropic';
import { z } from 'zod';

const live = Boolean(process.env.ANTHROPIC_API_KEY);
console.log(
  live
    ? 'ANTHROPIC_API_KEY is set: calling the real Anthropic API.'
    : 'ANTHROPIC_API_KEY is not set: using a local fixture of the Anthropic API (no network).',
);
const stopFixture = live ? undefined : await serveFixture();

const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather in a city, temperature in degrees Celsius.',
  input: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, celsius: 21, sky: 'sunny' }),
});

const result = await runAgent({
  model: anthropic({
    model: 'claude-sonnet-5-5',
    ...(live ? {} : { apiKey: 'fixture-key', baseURL: 'http://127.0.0.1:9' }),
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

/** Two recorded-shape answers in the Messages API's SSE format: a get_weather call, then text. */
async function serveFixture(): Promise<() => void> {
  const { http, HttpResponse } = await import('msw');
  const { setupServer } = await import('msw/node');
  const start = (id: string) =>
    `event: message_start
data: {"type":"message_start","message":{"id":"${id}","type":"message","role":"assistant","model":"claude-sonnet-5-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":410,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

`;
  const end = (stop: string, output: number) =>
    `event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"${stop}","stop_sequence":null},"usage":{"output_tokens":${output}}}

event: message_stop
data: {"type":"message_stop"}

`;
  const answers = [
    `${start('msg_01')}event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"\\"Lisbon\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

${end('tool_use', 38)}`,
    `${start('msg_02')}event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"It is 21 °C "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"and sunny in Lisbon."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

${end('end_turn', 14)}`,
  ];
  const server = setupServer(
    http.post(
      'http://127.0.0.1:9/v1/messages',
      () => new HttpResponse(answers.shift(), { headers: { 'content-type': 'text/event-stream' } }),
    ),
  );
  server.listen({ onUnhandledRequest: 'error' });
  return () => server.close();
}
