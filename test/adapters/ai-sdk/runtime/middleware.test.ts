// The parts on their own, for agents run without the runtime: budgetMiddleware on generateText
// (the generate path) and aiSdkTools in the AI SDK's own loop.
import { generateText, stepCountIs, wrapLanguageModel } from 'ai';
import { BudgetStop, defineTool, type ModelRequest } from 'loopwork';
import { createBudgetLedger } from 'loopwork/adapter-kit';
import { aiSdkTools, budgetMiddleware, scriptedLanguageModel } from 'loopwork/ai-sdk';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const PRICES = { scripted: { inputPerMTok: 1_000, outputPerMTok: 4_000 } };

describe('budgetMiddleware', () => {
  it('clamps each generate call, records its usage, and stops the call that cannot fit', async () => {
    const inner = await scriptedLanguageModel({ turns: () => ({ text: 'x'.repeat(40_000) }) });
    const ledger = createBudgetLedger({ maxOutputTokens: 1_500, prices: PRICES });
    const started: number[] = [];
    const model = wrapLanguageModel({
      model: inner,
      middleware: budgetMiddleware({
        ledger,
        onTurnStarted: (turn) => started.push(turn.maxOutputTokens),
      }),
    });
    const first = await generateText({ model, prompt: 'write', maxOutputTokens: 1_000 });
    expect(first.finishReason).toBe('length');
    expect(inner.requests[0]?.maxOutputTokens).toBe(1_000);
    const second = await generateText({ model, prompt: 'more' });
    expect(second.usage.outputTokens).toBe(500);
    expect(started).toEqual([1_000, 500]);
    expect(ledger.spent().usage.outputTokens).toBe(1_500);
    const stopped = await generateText({ model, prompt: 'again' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(BudgetStop.isInstance(stopped)).toBe(true);
    expect(stopped).toMatchObject({ status: 'budget_exceeded', budget: 'output_tokens' });
    expect(inner.requests).toHaveLength(2);
  });
});

describe('aiSdkTools', () => {
  it('runs loopwork tools in generateText with idempotency keys and their errors as tool errors', async () => {
    const keys: string[] = [];
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks a word up',
      input: z.object({ word: z.string().min(2) }),
      execute: ({ word }, { idempotencyKey }) => {
        keys.push(idempotencyKey);
        return { word, meaning: 'a greeting' };
      },
    });
    const model = await scriptedLanguageModel({
      turns: (request: ModelRequest) =>
        request.messages.some((m) => m.role === 'tool')
          ? { text: 'done' }
          : {
              toolCalls: [
                { name: 'lookup', input: { word: 'hi' }, id: 'ok' },
                { name: 'lookup', input: { word: 'h' }, id: 'bad' },
              ],
            },
    });
    const result = await generateText({
      model,
      tools: aiSdkTools([lookup], { runId: 'run-9' }),
      prompt: 'What does hi mean?',
      stopWhen: stepCountIs(3),
    });
    expect(result.text).toBe('done');
    expect(keys).toEqual(['run-9:ok']);
    const tools = model.requests[1]?.messages.find((m) => m.role === 'tool');
    const results = tools?.role === 'tool' ? tools.content : [];
    expect(results.map((r) => [r.toolCallId, r.isError])).toEqual([
      ['ok', false],
      ['bad', true],
    ]);
    expect(results[0]?.output).toBe('{"word":"hi","meaning":"a greeting"}');
  });

  it('refuses a schema it cannot show the model, naming the tool', () => {
    const opaque = defineTool({
      name: 'opaque',
      description: 'A tool with a non-zod schema and no JSON Schema',
      input: {
        '~standard': { version: 1, vendor: 'custom', validate: (value: unknown) => ({ value }) },
      },
      execute: () => 'ok',
    });
    expect(() => aiSdkTools([opaque], { runId: 'r' })).toThrow(
      '[loopwork:ai-sdk] tool "opaque": cannot derive a JSON Schema from a custom schema; pass jsonSchema',
    );
  });
});
