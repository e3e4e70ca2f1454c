// The budgeted chat model: every LangChain call — invoke, stream, with tools bound, in parallel —
// asks the budget ledger first and goes out with the cap it allows; nothing fits → BudgetStop and
// no call; usage is recorded after; a model that ignores the cap is refused.
import { HumanMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { BudgetStop, InvalidOptionError } from 'loopwork';
import { createBudgetLedger } from 'loopwork/adapter-kit';
import { budgetedChatModel, scriptedChatModel } from 'loopwork/langgraph';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rejectionOf } from '../../helpers/rejection';

const prices = { scripted: { inputPerMTok: 1_000, outputPerMTok: 4_000 } };

describe('budgetedChatModel', () => {
  it('clamps the output cap of every call to what the budgets leave, and records what it used', async () => {
    const inner = await scriptedChatModel({
      turns: () => ({ text: 'hi', usage: { outputTokens: 5 } }),
    });
    // 0.5 USD at $4/MTok output leaves at most 125 output tokens minus the prompt's worst case.
    const ledger = createBudgetLedger({ maxCostUsd: 0.5, prices, minTokensPerCall: 16 });
    const model = await budgetedChatModel({ model: inner, ledger });
    const answer = await model.invoke([new HumanMessage('hello')]);
    expect(answer.content).toBe('hi');
    const cap = inner.requests[0]?.maxOutputTokens ?? 0;
    expect(cap).toBeGreaterThan(0);
    expect(cap).toBeLessThan(125);
    expect(inner.maxTokens).toBe(4096); // the shared model object is never changed
    expect(ledger.turns()).toMatchObject([
      { turn: 1, modelId: 'scripted', stopReason: 'end_turn', usage: { outputTokens: 5 } },
    ]);
    expect(ledger.spent().costUsd).toBeGreaterThan(0);
  });

  it('streams through the wrapped model, with the clamp and the usage of the whole answer', async () => {
    const inner = await scriptedChatModel({
      turns: () => ({ chunks: ['Hel', 'lo'], usage: { inputTokens: 7, outputTokens: 2 } }),
    });
    const ledger = createBudgetLedger({ maxOutputTokens: 300 });
    const model = await budgetedChatModel({ model: inner, ledger });
    const texts: string[] = [];
    for await (const chunk of await model.stream([new HumanMessage('hello')]))
      if (typeof chunk.content === 'string' && chunk.content) texts.push(chunk.content);
    expect(texts).toEqual(['Hel', 'lo']);
    expect(inner.requests[0]?.maxOutputTokens).toBe(300);
    expect(ledger.turns()[0]?.usage).toMatchObject({ inputTokens: 7, outputTokens: 2 });
  });

  it('binds tools through the wrapped model: tool calls come back, still budgeted', async () => {
    const inner = await scriptedChatModel({
      turns: () => ({ toolCalls: [{ id: 'c1', name: 'add', input: { a: 1, b: 2 } }] }),
    });
    const ledger = createBudgetLedger({ maxOutputTokens: 500 });
    const model = await budgetedChatModel({ model: inner, ledger });
    const add = tool(({ a, b }: { a: number; b: number }) => a + b, {
      name: 'add',
      description: 'Adds',
      schema: z.object({ a: z.number(), b: z.number() }),
    });
    const answer = await model.bindTools([add]).invoke([new HumanMessage('1+2?')]);
    expect(answer.tool_calls).toMatchObject([{ id: 'c1', name: 'add', args: { a: 1, b: 2 } }]);
    expect(inner.requests[0]?.tools?.map((t) => t.name)).toEqual(['add']);
    expect(inner.requests[0]?.maxOutputTokens).toBe(500);
    expect(ledger.turns()[0]?.stopReason).toBe('tool_use');
  });

  it('throws BudgetStop without calling when no call fits (turns, then cost)', async () => {
    const inner = await scriptedChatModel({ turns: () => ({ text: 'x' }) });
    const turns = await budgetedChatModel({
      model: inner,
      ledger: createBudgetLedger({ maxTurns: 1 }),
    });
    await turns.invoke('one');
    const error = await rejectionOf(() => turns.invoke('two'));
    expect(BudgetStop.isInstance(error)).toBe(true);
    expect((error as BudgetStop).status).toBe('max_turns');
    expect(inner.requests).toHaveLength(1);

    const poor = await budgetedChatModel({
      model: inner,
      ledger: createBudgetLedger({ maxCostUsd: 0.0001, prices }),
    });
    const broke = await rejectionOf(() => poor.invoke('three'));
    expect(BudgetStop.isInstance(broke)).toBe(true);
    expect((broke as BudgetStop).budget).toBe('cost_usd');
    expect(inner.requests).toHaveLength(1);
  });

  it('holds calls in flight at their worst case: parallel calls cannot overshoot together', async () => {
    const inner = await scriptedChatModel({
      turns: () => ({ text: 'slow', delayMs: 30, usage: { outputTokens: 1 } }),
    });
    const ledger = createBudgetLedger({ maxOutputTokens: 400, minTokensPerCall: 300 });
    const model = await budgetedChatModel({ model: inner, ledger });
    const results = await Promise.allSettled([model.invoke('a'), model.invoke('b')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(BudgetStop.isInstance((results[1] as PromiseRejectedResult).reason)).toBe(true);
    // Once the first call is recorded (1 token), the room is back.
    await model.invoke('c');
    expect(inner.requests).toHaveLength(2);
  });

  it('drops the hold of a call that failed or was aborted', async () => {
    const inner = await scriptedChatModel({
      turns: (_request, index) =>
        index === 0
          ? { text: 'never', delayMs: 5_000 }
          : { text: 'ok', usage: { outputTokens: 1 } },
    });
    const ledger = createBudgetLedger({ maxOutputTokens: 400, minTokensPerCall: 300 });
    const model = await budgetedChatModel({ model: inner, ledger });
    const controller = new AbortController();
    const pending = model.invoke('slow', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await rejectionOf(() => pending);
    expect((await model.invoke('again')).content).toBe('ok');
    expect(ledger.turns()).toHaveLength(1);
  });

  it('counts the worst case for an answer without usage, so budgets stay hard', async () => {
    const inner = await scriptedChatModel({ turns: () => ({ text: 'x' }) });
    // A model that reports no usage_metadata.
    const silent = Object.create(inner);
    silent._generate = async (...args: Parameters<typeof inner._generate>) => {
      const result = await inner._generate(...args);
      const message = result.generations[0]!.message as { usage_metadata?: unknown };
      delete message.usage_metadata;
      return result;
    };
    const ledger = createBudgetLedger({ maxOutputTokens: 1_000 });
    const model = await budgetedChatModel({ model: silent, ledger });
    await model.invoke('hello');
    expect(ledger.turns()[0]?.usage.outputTokens).toBe(1_000);
    expect(ledger.turns()[0]?.usage.inputTokens).toBeGreaterThan(0);
  });

  it('refuses a model the cap does not reach, after its first call past it', async () => {
    const inner = await scriptedChatModel({
      turns: () => ({ text: 'x', usage: { outputTokens: 50 } }),
    });
    const ledger = createBudgetLedger({ maxOutputTokens: 10, minTokensPerCall: 1 });
    // A setMaxTokens that forgets to apply the cap: the model generates 50 with a cap of 10.
    const model = await budgetedChatModel({ model: inner, ledger, setMaxTokens: (m) => m });
    const error = await rejectionOf(() => model.invoke('hello'));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe(
      '[loopwork:langgraph] model "scripted" generated 50 output tokens with a cap of 10: the cap did not reach the provider, so budgets cannot hold; pass setMaxTokens to budgetedChatModel or langGraphRuntime',
    );
    // The call was paid for: it is recorded all the same.
    expect(ledger.turns()).toHaveLength(1);
  });

  it('needs setMaxTokens for a model without a maxTokens field', async () => {
    const inner = await scriptedChatModel({
      turns: () => ({ text: 'x', usage: { outputTokens: 1 } }),
    });
    delete (inner as { maxTokens?: number }).maxTokens;
    const error = await rejectionOf(() =>
      budgetedChatModel({ model: inner, ledger: createBudgetLedger() }),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(
      /^\[loopwork:langgraph\] model "scripted" has no maxTokens field/,
    );
    const model = await budgetedChatModel({
      model: inner,
      ledger: createBudgetLedger({ maxOutputTokens: 700 }),
      setMaxTokens: (m, maxTokens) => Object.assign(Object.create(m), { maxTokens }),
    });
    expect((await model.invoke('x')).content).toBe('x');
    expect(inner.requests.at(-1)?.maxOutputTokens).toBe(700);
  });
});
