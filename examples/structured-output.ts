// Structured output: a typed, validated final answer. Runs offline with ScriptedModel: the first
// answer fails the schema, goes back to the model with what was wrong, and the second passes.
import { runAgent } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { z } from 'zod';

const Weather = z.object({
  city: z.string(),
  celsius: z.number().min(-90).max(60),
  summary: z.string().describe('One sentence for a person'),
});

// supportsResponseFormat: act like a provider with native structured output (OpenAI, Anthropic,
// the AI SDK); without it the run offers a `final_answer` tool instead.
const model = new ScriptedModel({
  supportsResponseFormat: true,
  turns: [
    { text: '{"city": "Paris", "celsius": "warm"}' },
    { text: '{"city": "Paris", "celsius": 21, "summary": "Sunny and mild."}' },
  ],
});

const result = await runAgent({
  model,
  prompt: 'What is the weather in Paris?',
  output: Weather,
  maxTurns: 4,
  onEvent: (event) => {
    if (event.type === 'output-rejected')
      console.log(`refused answer ${event.refused}: ${event.message}`);
  },
});

if (result.status !== 'completed' || !result.output) throw new Error(`run ended ${result.status}`);
// result.output is typed { city: string; celsius: number; summary: string }.
console.log(`${result.output.city}: ${result.output.celsius} °C, ${result.output.summary}`);
console.log('schema sent as', model.requests[0]?.responseFormat?.name);
