/**
 * An AI SDK agent run by loopwork workers: `toolLoopAgentRuntime` runs the AI SDK's
 * `ToolLoopAgent` (`ai` 6) over loopwork tools, with hard budgets on every model call (a
 * `wrapLanguageModel` middleware clamps `maxOutputTokens` through loopwork's budget ledger), a
 * checkpoint after every step, and its stream as loopwork events in the run's event log.
 *
 * Offline: the language model is scripted (`MockLanguageModelV3` from `ai/test`). With a real
 * one, pass e.g. `openai('gpt-5-mini')` from `@ai-sdk/openai` as `model`.
 * Run: `npx tsx examples/runtimes/ai-sdk.ts`
 */
import {
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
  type ModelRequest,
  type RuntimeLimits,
  runtimeTask,
} from 'loopwork';
import { scriptedLanguageModel, toolLoopAgentRuntime } from 'loopwork/ai-sdk';
import type { ScriptedTurn } from 'loopwork/testing';
import { z } from 'zod';

const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather for a city.',
  input: z.object({ city: z.string() }),
  execute: ({ city }, { idempotencyKey }) => ({ city, sky: 'sunny', celsius: 18, idempotencyKey }),
});

// The scripted model answers from the conversation it is sent, as a real model would; asked for
// an essay it writes as long as it is allowed to.
function answer(request: ModelRequest): ScriptedTurn {
  const last = request.messages.at(-1);
  if (last?.role === 'tool') return { chunks: ['Sunny ', 'and 18°C in Paris.'] };
  const prompt = JSON.stringify(last?.role === 'user' ? last.content : '');
  if (prompt.includes('essay')) return { text: 'Weather, a history. '.repeat(2_000) };
  return { toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] };
}

const PRICES = { scripted: { inputPerMTok: 1.25, outputPerMTok: 10 } };
const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const assistant = runtimeTask({
  type: 'assistant',
  checkpoints: createMemorySessionStore(),
  runtime: toolLoopAgentRuntime({
    model: await scriptedLanguageModel({ turns: answer }),
    tools: [getWeather],
    instructions: 'You answer questions about the weather.',
  }),
  // Hard: checked before every model call, the output capped so that even the worst case fits.
  limits: (payload): RuntimeLimits => ({
    prices: PRICES,
    maxTurns: 10,
    maxCostUsd: payload.prompt?.includes('essay') ? 0.005 : 0.05,
  }),
});
const dispatcher = createDispatcher({ queue, runs });
const worker = createWorker({ queue, runs, events, handlers: [assistant.handler] });

/** Dispatches a prompt, lets the worker run it, prints its events and result. */
async function send(prompt: string) {
  const { runId } = await dispatcher.dispatch(assistant.task, { prompt });
  console.log(`\n> ${prompt}`);
  console.log(`  run ${runId}: ${await worker.runOnce()}`);
  for (const { data } of await events.read(runId)) {
    const event = data as { type: string; [key: string]: any };
    if (event.type === 'turn-started')
      console.log(`  turn ${event.turn}: may write ${event.maxOutputTokens} tokens`);
    if (event.type === 'turn-finished')
      console.log(`  turn ${event.turn}: wrote ${event.usage.outputTokens}, $${event.costUsd}`);
    if (event.type === 'tool-call-finished') console.log(`  ${event.toolName} → ${event.output}`);
    if (event.type === 'text-delta') console.log(`  says "${event.text.slice(0, 40)}"`);
  }
  const record = await runs.get(runId);
  console.log(`  status ${record?.status}, spent $${record?.costUsd?.toFixed(4)}`);
  return record?.status;
}

if ((await send('What is the weather in Paris?')) !== 'completed')
  throw new Error('expected completed');
if ((await send('Write an essay on the weather.')) !== 'budget_exceeded')
  throw new Error('expected the budget to stop the essay');
await worker.stop();
