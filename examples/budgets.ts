/**
 * Hard budgets: a cost limit the run cannot pass, even by one call.
 *
 * A research agent keeps fetching pages, so every prompt is larger than the last. Before each
 * model call the loop estimates the prompt, prices it at the dearest input rate, and clamps the
 * call's `maxOutputTokens` to what the remaining budget can pay for (printed from `turn-started`).
 * When not even `minTokensPerCall` output tokens would fit, it stops with `budget_exceeded`
 * instead of calling. The model is scripted: no API key, no network.
 */
import { AGENT_DEFAULTS, defineTool, estimateInputTokens, streamAgent } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { z } from 'zod';

const maxCostUsd = 0.02;
const price = { inputPerMTok: 3, outputPerMTok: 15 }; // USD per million tokens

const fetchPage = defineTool({
  name: 'fetch_page',
  description: 'Fetches one page of search results.',
  input: z.object({ page: z.number().int().positive() }),
  execute: ({ page }) => `Results page ${page}: ${'lorem ipsum dolor sit amet '.repeat(150)}`,
});

// A model that never stops researching: each call asks for the next page.
const model = new ScriptedModel({
  modelId: 'research-model',
  turns: (_request, index) => ({
    text: `Reading page ${index + 1}.`,
    toolCalls: [{ name: 'fetch_page', input: { page: index + 1 } }],
  }),
});

const run = streamAgent({
  model,
  prompt: 'Find everything about lorem ipsum.',
  tools: [fetchPage],
  prices: { 'research-model': price },
  maxCostUsd,
  budgetWarningAt: 0.5, // emit `budget-warning` once half the budget is spent
});

for await (const event of run) {
  if (event.type === 'turn-started') {
    console.log(
      `turn ${event.turn}: prompt estimated at ${event.estimatedInputTokens} tokens, ` +
        `maxOutputTokens ${event.maxOutputTokens} (per-call cap ${AGENT_DEFAULTS.maxTokensPerCall})`,
    );
  } else if (event.type === 'turn-finished') {
    console.log(
      `        used ${event.usage.inputTokens} in / ${event.usage.outputTokens} out, $${event.costUsd.toFixed(5)}`,
    );
  } else if (event.type === 'budget-warning') {
    console.log(`        warning: ${event.budget} at ${event.used.toFixed(5)} of ${event.limit}`);
  }
}

const result = await run.result;
console.log(`\nstatus: ${result.status} (budget: ${result.budget})`);
console.log(
  `spent:  $${result.costUsd.toFixed(5)} of $${maxCostUsd} in ${result.turns.length} calls`,
);

// Why the next call was refused: its worst case no longer fits in what is left.
const prompt = estimateInputTokens({ messages: result.messages, maxOutputTokens: 0 }, result.state);
const worstCase =
  (prompt * price.inputPerMTok + AGENT_DEFAULTS.minTokensPerCall * price.outputPerMTok) / 1e6;
console.log(
  `next call: ~${prompt} prompt tokens + ${AGENT_DEFAULTS.minTokensPerCall} output tokens = ` +
    `$${worstCase.toFixed(5)} > $${(maxCostUsd - result.costUsd).toFixed(5)} left, so it was not made`,
);
