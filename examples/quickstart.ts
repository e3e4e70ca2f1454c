/**
 * Quickstart: an agent with two zod tools, streamed, with a cost budget and checkpoints.
 *
 * Shows `defineTool`, `streamAgent` and its events (turns, two tool calls run in parallel, text
 * streamed in chunks), a price table with `maxCostUsd`, checkpoints in the in-memory store, and
 * the final status, text, usage and cost. The model is a `ScriptedModel` replaying three fixed
 * turns, so it needs no API key and no network.
 *
 * Run: `npm run demo`
 */
import { AGENT_DEFAULTS, createMemorySessionStore, defineTool, streamAgent } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { z } from 'zod';

console.log('This demo uses a scripted model (ScriptedModel): no API key, no network calls.');

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

// What the model "says", turn by turn. A real adapter (Anthropic, OpenAI, ...) goes here instead.
const model = new ScriptedModel({
  modelId: 'demo-model',
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
      chunks: ['Lisbon is warmer: ', '21 °C (70 °F) and sunny, ', 'while Oslo has 4 °C and rain.'],
    },
  ],
});

const checkpoints = createMemorySessionStore();
const run = streamAgent({
  model,
  prompt: 'Which is warmer right now, Lisbon or Oslo? Give Fahrenheit too.',
  tools: [getWeather, convertTemperature],
  runId: 'quickstart',
  checkpoints, // the run state is saved here after every step
  prices: { 'demo-model': { inputPerMTok: 3, outputPerMTok: 15 } }, // USD per million tokens
  maxCostUsd: 0.05,
});

let midLine = false; // text deltas are printed inline; other events start a new line
const say = (line: string) => {
  console.log(midLine ? `\n${line}` : line);
  midLine = false;
};
for await (const event of run) {
  if (event.type === 'turn-started') {
    const clamped =
      event.maxOutputTokens < AGENT_DEFAULTS.maxTokensPerCall ? ', clamped by the budget' : '';
    say(`\n[turn ${event.turn}] at most ${event.maxOutputTokens} output tokens${clamped}`);
  } else if (event.type === 'text-delta') {
    process.stdout.write(event.text);
    midLine = true;
  } else if (event.type === 'tool-call-started') {
    say(`  -> ${event.toolName} ${JSON.stringify(event.input)}`);
  } else if (event.type === 'tool-call-finished') {
    say(`  <- ${event.toolName} ${event.output}`);
  } else if (event.type === 'tool-call-failed') {
    say(`  <- ${event.toolName} failed (${event.reason}): ${event.message}`);
  }
}

const { status, text, usage, costUsd, turns } = await run.result;
const saved = await checkpoints.load('quickstart');
say(`\nstatus: ${status}\ntext:   ${text}`);
console.log(`usage:  ${usage.inputTokens} input + ${usage.outputTokens} output tokens`);
console.log(`cost:   $${costUsd.toFixed(6)} of a $0.05 budget, over ${turns.length} turns`);
console.log(`checkpoints: saved ${saved?.version} times, last with status ${saved?.state.status}`);
