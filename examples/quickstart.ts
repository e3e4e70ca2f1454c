/**
 * Quickstart: the outer loop and the inner loop in one process.
 *
 *   dispatcher → in-memory queue → worker → run event log → printed here
 *
 * An agent task with two tools is dispatched onto a queue. A worker claims it and runs the agent,
 * checkpointing every step; every event of the run is appended to the run's event log, which this
 * program follows and prints until `task-finished`. Then: final status, usage and cost.
 *
 * The model: Anthropic when ANTHROPIC_API_KEY is set, else OpenAI when OPENAI_API_KEY is set,
 * else a scripted model that replays three fixed turns (offline, no key needed).
 *
 * Run: `npm run demo`
 */
import {
  type AgentEvent,
  agentTask,
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
  type Model,
  type TaskEvent,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { z } from 'zod';

const WEATHER: Record<string, { celsius: number; sky: string }> = {
  Lisbon: { celsius: 21, sky: 'sunny' },
  Oslo: { celsius: 4, sky: 'rain' },
};
const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather in a city, temperature in degrees Celsius.',
  input: z.object({ city: z.string() }),
  execute: async ({ city }) => WEATHER[city] ?? `No weather data for ${city}.`,
});
const convertTemperature = defineTool({
  name: 'convert_temperature',
  description: 'Converts degrees Celsius to degrees Fahrenheit.',
  input: z.object({ celsius: z.number() }),
  execute: ({ celsius }) => ({ fahrenheit: Math.round((celsius * 9) / 5 + 32) }),
});

// In memory, so this runs in one process; across processes, share Redis ones (loopwork/redis).
const queue = createMemoryQueue();
const runs = createMemoryRunStore(); // one record per dispatched task: status, result, cost
const events = createMemoryEventLog(); // each run's output stream
const checkpoints = createMemorySessionStore(); // run states, saved after every step

const assistant = agentTask({
  type: 'weather-assistant',
  checkpoints,
  agent: {
    model: await chooseModel(),
    tools: [getWeather, convertTemperature],
    maxTurns: 10,
    maxCostUsd: 0.05, // hard limit: no model call starts whose worst case could pass it
    prices: { scripted: { inputPerMTok: 3, outputPerMTok: 15 } }, // real models are in the table
  },
});

const worker = createWorker({ queue, runs, events, handlers: [assistant.handler] });
const working = worker.run(); // daemon mode: claims and runs tasks until stop()

const dispatcher = createDispatcher({ queue, runs, events });
const { runId } = await dispatcher.dispatch(assistant.task, {
  prompt: 'Which is warmer right now, Lisbon or Oslo? Give Fahrenheit too.',
});
console.log(`dispatched run ${runId}\n`);

// The event log holds the agent's events (AgentEvent), then the worker's `task-finished`.
let midLine = false; // streamed text is printed inline; every other line starts afresh
const line = (text: string) => {
  console.log(midLine ? `\n${text}` : text);
  midLine = false;
};
for await (const { data } of events.follow(runId)) {
  const event = data as AgentEvent | TaskEvent;
  if (event.type === 'turn-started') line(`[turn ${event.turn}]`);
  if (event.type === 'text-delta') {
    process.stdout.write(event.text);
    midLine = true;
  }
  if (event.type === 'tool-call-started')
    line(`  -> ${event.toolName} ${JSON.stringify(event.input)}`);
  if (event.type === 'tool-call-finished') line(`  <- ${event.toolName} ${event.output}`);
  if (event.type === 'tool-call-failed') line(`  <- ${event.toolName} failed: ${event.message}`);
  if (event.type === 'model-retry')
    line(`  (${event.error.kind}: retrying in ${event.delayMs} ms)`);
  if (event.type === 'task-finished') {
    line(`\ntask-finished: ${event.status}${event.error ? ` (${event.error.message})` : ''}`);
    break; // the worker's last event for this run
  }
}
await worker.stop();
await working;

// The result is on the run record: status, output (the final text), usage and cost.
const record = await runs.get(runId);
console.log(`run record: ${record?.status}, attempt ${record?.attempt} of ${record?.maxAttempts}`);
if (record?.usage) {
  const { inputTokens, outputTokens } = record.usage;
  console.log(`usage:  ${inputTokens} input + ${outputTokens} output tokens`);
  console.log(`cost:   $${(record.costUsd ?? 0).toFixed(6)} of a $0.05 budget`);
}
if (record?.status !== 'completed') process.exitCode = 1;

/** Picks the model and says which one it is. */
async function chooseModel(): Promise<Model> {
  if (process.env.ANTHROPIC_API_KEY) {
    console.log('Model: Anthropic claude-sonnet-5-5 (ANTHROPIC_API_KEY is set); this costs money.');
    const { anthropic } = await import('loopwork/anthropic'); // loads @anthropic-ai/sdk only now
    return anthropic({ model: 'claude-sonnet-5-5' });
  }
  if (process.env.OPENAI_API_KEY) {
    console.log('Model: OpenAI gpt-6.1-sol (OPENAI_API_KEY is set); this costs money.');
    const { openai } = await import('loopwork/openai');
    return openai({ model: 'gpt-6.1-sol' });
  }
  console.log('Model: scripted (no ANTHROPIC_API_KEY or OPENAI_API_KEY): offline, no network.');
  return new ScriptedModel({
    turns: [
      {
        text: 'Let me look up both cities.',
        toolCalls: [
          { name: 'get_weather', input: { city: 'Lisbon' } },
          { name: 'get_weather', input: { city: 'Oslo' } },
        ],
      },
      { toolCalls: [{ name: 'convert_temperature', input: { celsius: 21 } }] },
      {
        chunks: [
          'Lisbon is warmer: ',
          '21 °C (70 °F) and sunny, ',
          'while Oslo has 4 °C and rain.',
        ],
      },
    ],
  });
}
