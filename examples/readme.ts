import { defineTool, runAgent } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { z } from 'zod';

const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather in a city.',
  input: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, celsius: 21, sky: 'sunny' }),
});

// A scripted stand-in for a provider adapter: it replays these two answers, offline.
const model = new ScriptedModel({
  turns: [
    { toolCalls: [{ name: 'get_weather', input: { city: 'Lisbon' } }] },
    { text: 'It is 21 °C and sunny in Lisbon.' },
  ],
});

const result = await runAgent({
  model,
  prompt: 'What is the weather in Lisbon?',
  tools: [getWeather],
  maxTurns: 10,
  maxCostUsd: 0.5, // a hard limit: no call starts whose worst case could pass it
  prices: { scripted: { inputPerMTok: 3, outputPerMTok: 15 } }, // USD per million tokens
});

console.log(result.status, JSON.stringify(result.text), result.usage, result.costUsd);
