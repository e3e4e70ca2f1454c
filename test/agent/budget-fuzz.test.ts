// Budgets are hard limits (DESIGN.md, promise 3): randomized scripted runs, checked against every
// budget. Each run has its own seed; a failure message starts with it. Reproduce one run with
//   LOOPWORK_FUZZ_SEED=<seed> LOOPWORK_FUZZ_RUNS=1 npx vitest run test/agent/budget-fuzz.test.ts
import {
  AGENT_DEFAULTS,
  addUsage,
  costOf,
  defineTool,
  emptyUsage,
  estimateInputTokens,
  type ModelPrice,
  type ModelRequest,
  promptTokens,
  type RunResult,
  runAgent,
  toolCallsOf,
  totalTokens,
} from 'loopwork';
import { worstCaseInputPerToken } from 'loopwork/adapter-kit';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { expect, it } from 'vitest';
import { z } from 'zod';

const BASE_SEED = Number(process.env.LOOPWORK_FUZZ_SEED ?? 0x10_07_40_4c);
const RUNS = Number(process.env.LOOPWORK_FUZZ_RUNS ?? 1000);

/** mulberry32: small, fast, good enough to explore the space reproducibly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const float = (min: number, max: number) => min + next() * (max - min);
  const chance = (p: number) => next() < p;
  const pick = <T>(items: readonly T[]) => items[int(0, items.length - 1)] as T;
  // Model text stays ASCII without JSON escapes: the scripted model truncates by characters.
  const ascii = (length: number) => {
    let s = '';
    for (let i = 0; i < length; i++) s += 'abcdefghij klmnopqrstuvwxyz0123456789'[int(0, 36)];
    return s;
  };
  const anyText = (length: number) => {
    let s = '';
    for (let i = 0; i < length; i++)
      s += pick(['a', 'b', ' ', 'é', '日', '"', '\\', '\n', '🙂', 'z']);
    return s;
  };
  return { int, float, chance, pick, ascii, anyText };
}

// What the scripted model counts: ~4 UTF-8 bytes of JSON per token.
const encoder = new TextEncoder();
const tokensOf = (value: unknown) => Math.ceil(encoder.encode(JSON.stringify(value)).length / 4);

const tools = [
  defineTool({
    name: 'echo',
    description: 'Repeats text',
    input: z.object({ text: z.string(), times: z.number().int().min(1).max(20) }),
    execute: ({ text, times }) => text.repeat(times),
  }),
  defineTool({
    name: 'blob',
    description: 'Returns a JSON blob of the given size',
    input: z.object({ size: z.number().int().nonnegative() }),
    execute: ({ size }) => ({ items: Array.from({ length: size }, (_, i) => `item-${i}-ü`) }),
  }),
  defineTool({
    name: 'fail',
    description: 'Always throws',
    input: z.object({}),
    execute: () => {
      throw new Error('this tool always fails');
    },
  }),
];

interface Scenario {
  seed: number;
  options: Parameters<typeof runAgent>[0];
  price: ModelPrice | undefined;
  cap: number;
  minimum: number;
  prepared: ModelRequest[];
  model: ScriptedModel;
}

function scenario(seed: number): Scenario {
  const r = prng(seed);
  const turnCount = r.int(1, 8);
  const plan: Array<{
    turn: ScriptedTurn;
    extraOutput: number;
    cacheRead: number;
    cacheWrite: number;
  }> = [];
  for (let i = 0; i < turnCount; i++) {
    const last = i === turnCount - 1;
    const callCount = last ? 0 : r.chance(0.1) ? 0 : r.int(1, 3);
    const toolCalls = Array.from({ length: callCount }, (_, j) => {
      const id = `t${i}_${j}`;
      switch (r.int(0, 5)) {
        case 0:
          return { id, name: 'blob', input: { size: r.int(0, 150) } };
        case 1:
          return { id, name: 'fail', input: {} };
        case 2:
          return { id, name: 'nope', input: { q: r.ascii(10) } };
        case 3:
          return { id, name: 'echo', input: { text: 42 } }; // invalid input
        default:
          return {
            id,
            name: 'echo',
            input: { text: r.anyText(r.int(0, 200)), times: r.int(1, 20) },
          };
      }
    });
    const text = r.chance(last ? 0.95 : 0.6) ? r.ascii(r.int(1, last ? 6000 : 1500)) : '';
    plan.push({
      turn: { ...(text ? { text } : {}), ...(toolCalls.length ? { toolCalls } : {}) },
      // Reasoning tokens: billed as output, never part of the next prompt.
      extraOutput: r.chance(0.4) ? r.int(1, 3000) : 0,
      cacheRead: r.chance(0.5) ? r.float(0, 1) : 0,
      cacheWrite: r.chance(0.3) ? r.float(0, 1) : 0,
    });
  }

  const price: ModelPrice | undefined = r.chance(0.7)
    ? {
        inputPerMTok: r.float(0.05, 30),
        outputPerMTok: r.float(0.1, 120),
        ...(r.chance(0.5) ? { cacheReadPerMTok: r.float(0, 40) } : {}),
        ...(r.chance(0.5) ? { cacheWritePerMTok: r.float(0, 40) } : {}),
      }
    : undefined;
  const budgets = {
    ...(r.chance(0.5) ? { maxInputTokens: r.int(20, 15_000) } : {}),
    ...(r.chance(0.5) ? { maxOutputTokens: r.int(20, 8_000) } : {}),
    ...(r.chance(0.5) ? { maxTotalTokens: r.int(50, 20_000) } : {}),
    ...(price && r.chance(0.6) ? { maxCostUsd: r.float(0.000_01, 0.3) } : {}),
  };
  const maxTokensPerCall = r.chance(0.5) ? r.int(20, 5_000) : undefined;
  const minTokensPerCall = r.chance(0.7) ? r.int(1, 400) : undefined;
  const cap = maxTokensPerCall ?? AGENT_DEFAULTS.maxTokensPerCall;
  const minimum = Math.min(minTokensPerCall ?? AGENT_DEFAULTS.minTokensPerCall, cap);

  const model = new ScriptedModel({
    streaming: r.chance(0.5),
    turns: (request, index) => {
      const step = plan[index];
      if (!step)
        return { error: { kind: 'invalid_request', message: `script has no call ${index + 1}` } };
      const prompt = tokensOf([request.system, request.tools, request.messages]);
      const cacheReadTokens = Math.floor(prompt * step.cacheRead);
      const cacheWriteTokens = Math.floor((prompt - cacheReadTokens) * step.cacheWrite);
      const parts = (step.turn.toolCalls ?? []).map((c) => ({
        type: 'tool-call',
        id: c.id,
        name: c.name,
        input: c.input,
      }));
      const natural = Math.max(1, tokensOf([step.turn.text ?? '', parts]));
      return {
        ...step.turn,
        usage: {
          inputTokens: prompt - cacheReadTokens - cacheWriteTokens,
          cacheReadTokens,
          cacheWriteTokens,
          ...(step.extraOutput
            ? { outputTokens: natural + step.extraOutput, reasoningTokens: step.extraOutput }
            : {}),
        },
      };
    },
  });
  const prepared: ModelRequest[] = [];
  const options = {
    model,
    prompt: r.anyText(r.int(1, 400)),
    ...(r.chance(0.5) ? { system: r.anyText(r.int(1, 300)) } : {}),
    tools,
    ...budgets,
    ...(price ? { prices: { scripted: price } } : {}),
    ...(maxTokensPerCall ? { maxTokensPerCall } : {}),
    ...(minTokensPerCall ? { minTokensPerCall } : {}),
    ...(r.chance(0.5) ? { maxTurns: r.int(1, 10) } : {}),
    toolConcurrency: r.int(1, 4),
    // Records every prepared request, including one the budgets then refuse to send.
    hooks: {
      beforeModelCall: ({ request }: { request: ModelRequest }) => void prepared.push(request),
    },
  };
  return { seed, options, price, cap, minimum, prepared, model };
}

function check(s: Scenario, result: RunResult): void {
  const { seed, options, price, model } = s;
  const at = (what: string) => `seed ${seed}: ${what}`;
  expect(result.status, at(`status (error: ${result.error?.message})`)).not.toBe('failed');

  const usage = result.turns.map((t) => t.usage).reduce(addUsage, emptyUsage());
  expect(result.usage, at('usage is the sum of the turns')).toEqual(usage);
  if (options.maxInputTokens !== undefined) {
    expect(promptTokens(usage), at('input tokens')).toBeLessThanOrEqual(options.maxInputTokens);
  }
  if (options.maxOutputTokens !== undefined) {
    expect(usage.outputTokens, at('output tokens')).toBeLessThanOrEqual(options.maxOutputTokens);
  }
  if (options.maxTotalTokens !== undefined) {
    expect(totalTokens(usage), at('total tokens')).toBeLessThanOrEqual(options.maxTotalTokens);
  }
  if (price) {
    const cost = result.turns.reduce((sum, t) => sum + costOf(t.usage, price), 0);
    expect(Math.abs(result.costUsd - cost), at('cost is priced from usage')).toBeLessThan(1e-12);
  }
  if (options.maxCostUsd !== undefined) {
    expect(result.costUsd, at('cost')).toBeLessThanOrEqual(options.maxCostUsd + 1e-12);
  }

  expect(result.turns, at('one turn per request')).toHaveLength(model.requests.length);
  model.requests.forEach((request, i) => {
    expect(request.maxOutputTokens, at(`call ${i + 1} is within the cap`)).toBeLessThanOrEqual(
      s.cap,
    );
    expect(
      request.maxOutputTokens,
      at(`call ${i + 1} is at least the minimum`),
    ).toBeGreaterThanOrEqual(s.minimum);
  });

  const lastMessage = result.messages.at(-1);
  const lastTurn = result.turns.at(-1);
  const lastRequest = model.requests.at(-1);
  const cutOffByBudget =
    lastMessage?.role === 'assistant' &&
    lastTurn?.stopReason === 'max_tokens' &&
    toolCallsOf(lastMessage).length === 0 &&
    lastRequest !== undefined &&
    lastRequest.maxOutputTokens < s.cap;

  if (result.status === 'budget_exceeded') {
    const budget = result.budget;
    const limitOf = {
      input_tokens: options.maxInputTokens,
      output_tokens: options.maxOutputTokens,
      total_tokens: options.maxTotalTokens,
      cost_usd: options.maxCostUsd,
    };
    expect(budget && limitOf[budget], at(`the named budget ${budget} is set`)).toBeDefined();
    if (!cutOffByBudget) {
      // The run refused a call: the prepared request that was never sent really did not fit.
      expect(s.prepared, at('a refused call was prepared')).toHaveLength(model.requests.length + 1);
      const estimate = estimateInputTokens(s.prepared.at(-1) as ModelRequest, result.state);
      const spentCost = result.costUsd;
      const room = {
        input_tokens:
          promptTokens(usage) + estimate > (options.maxInputTokens ?? Infinity) ? 0 : Infinity,
        output_tokens: (options.maxOutputTokens ?? Infinity) - usage.outputTokens,
        total_tokens: (options.maxTotalTokens ?? Infinity) - totalTokens(usage) - estimate,
        cost_usd: price
          ? ((options.maxCostUsd ?? Infinity) -
              spentCost -
              estimate * worstCaseInputPerToken(price)) /
            (price.outputPerMTok / 1e6)
          : Infinity,
      }[budget as keyof typeof limitOf];
      expect(room, at(`the ${budget} budget left less than a minimal call`)).toBeLessThan(
        s.minimum,
      );
    }
  } else {
    expect(result.budget, at('no budget named')).toBeUndefined();
    expect(
      cutOffByBudget,
      at(`a budget cut the last answer short, yet the status is ${result.status}`),
    ).toBe(false);
    if (result.status === 'max_turns') {
      expect(result.turns, at('max_turns')).toHaveLength(options.maxTurns as number);
    } else {
      expect(result.status, at('status')).toBe('completed');
      expect(
        lastMessage?.role === 'assistant' && toolCallsOf(lastMessage).length,
        at('completed'),
      ).toBe(0);
    }
  }
}

it(`${RUNS} randomized runs never pass a budget (base seed ${BASE_SEED})`, async () => {
  const statuses = new Map<string, number>();
  const budgets = new Map<string, number>();
  for (let i = 0; i < RUNS; i++) {
    const s = scenario(BASE_SEED + i);
    const result = await runAgent(s.options);
    check(s, result);
    statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
    if (result.budget) budgets.set(result.budget, (budgets.get(result.budget) ?? 0) + 1);
  }
  if (process.env.LOOPWORK_FUZZ_DEBUG)
    console.log(Object.fromEntries(statuses), Object.fromEntries(budgets));
  // The generator must actually reach every interesting ending, or the test proves little.
  if (RUNS >= 1000) {
    for (const status of ['completed', 'max_turns', 'budget_exceeded']) {
      expect(statuses.get(status) ?? 0, `status ${status} reached`).toBeGreaterThan(20);
    }
    for (const budget of ['input_tokens', 'output_tokens', 'total_tokens', 'cost_usd']) {
      expect(budgets.get(budget) ?? 0, `budget ${budget} reached`).toBeGreaterThan(10);
    }
  }
});
