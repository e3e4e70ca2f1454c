/**
 * The AI SDK adapter: any `ai` 6 language model drives a loopwork agent (here OpenAI through
 * `@ai-sdk/openai`; `@ai-sdk/anthropic`, `@ai-sdk/google` … work the same way).
 *
 * With OPENAI_API_KEY set it calls the real API. Without it, msw serves two replies in the
 * OpenAI Chat Completions streaming format, so the example runs offline (and in CI).
 *
 * Run: `npx tsx examples/ai-sdk.ts`
 */
import { createOpenAI } from '@ai-sdk/openai';
import { defineTool, runAgent } from 'loopwork';
import { aiSdk } from 'loopwork/ai-sdk';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { z } from 'zod';

const apiKey = process.env.OPENAI_API_KEY;
const server = setupServer();
if (apiKey) {
  console.log('Using the OpenAI API (OPENAI_API_KEY is set).');
} else {
  console.log('OPENAI_API_KEY is not set: using a local fixture (msw) instead of the OpenAI API.');
  const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1770933883 };
  const data = (body: object) => `data: ${JSON.stringify({ ...head, usage: null, ...body })}\n\n`;
  const delta = (delta: object, finish_reason: string | null = null) =>
    data({ model: 'gpt-4.1-mini', choices: [{ index: 0, delta, logprobs: null, finish_reason }] });
  const usage = { prompt_tokens: 62, completion_tokens: 14, total_tokens: 76 };
  const end = `${data({ model: 'gpt-4.1-mini', choices: [], usage })}data: [DONE]\n\n`;
  const toolCall = { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather' } };
  const replies = [
    delta({ tool_calls: [{ ...toolCall, function: { ...toolCall.function, arguments: '' } }] }) +
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] }) +
      delta({}, 'tool_calls') +
      end,
    delta({ content: 'It is 18°C and sunny ' }) +
      delta({ content: 'in Paris.' }) +
      delta({}, 'stop') +
      end,
  ];
  let call = 0;
  const headers = { 'content-type': 'text/event-stream' };
  server.use(
    http.post('https://api.openai.com/v1/chat/completions', () => {
      return new HttpResponse(replies[Math.min(call++, replies.length - 1)], { headers });
    }),
  );
  server.listen({ onUnhandledRequest: 'error' });
}

const openai = createOpenAI({ apiKey: apiKey ?? 'no-key-needed-for-the-fixture' });
const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather of a city, in degrees Celsius.',
  input: z.object({ city: z.string() }),
  execute: ({ city }) => ({ city, celsius: 18, sky: 'sunny' }),
});

const result = await runAgent({
  model: aiSdk(openai.chat('gpt-4.1-mini')),
  prompt: 'What is the weather in Paris? Answer in one sentence.',
  tools: [getWeather],
  maxTurns: 4,
  onEvent: (event) => {
    if (event.type === 'tool-call-started') {
      console.log(`  -> ${event.toolName} ${JSON.stringify(event.input)}`);
    }
  },
});
server.close();
console.log(`status: ${result.status}\ntext:   ${result.text}`);
console.log(
  `usage:  ${result.usage.inputTokens} input + ${result.usage.outputTokens} output tokens`,
);
if (result.status !== 'completed') process.exitCode = 1;
