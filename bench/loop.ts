/**
 * Per-turn overhead of `runAgent` against a bare hand-written loop and the AI SDK's `generateText`,
 * all on zero-latency models, measured in one process so the ratios compare like with like.
 * Run with `npm run bench:loop`; bench/README.md explains how to read the output.
 */
import { generateText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';
import {
  createMemorySessionStore,
  defineTool,
  type Message,
  type Model,
  runAgent,
  type ToolResultPart,
  textOf,
} from '../src/index';
import { ScriptedModel } from '../src/testing/index';

const TOOL_TURNS = 10;
const MODEL_CALLS = TOOL_TURNS + 1; // ten tool-calling turns, then a final text
const SAMPLES = 7;
const SAMPLE_MS = 250;
const WARMUP_MS = 400;
const PROMPT = 'Look up ten keys, then summarize.';
const FINAL_TEXT = 'All ten keys looked up.';

let toolRuns = 0;
const input = z.object({ key: z.string() });
const lookup = ({ key }: { key: string }) => {
  toolRuns++;
  return `value of ${key}`;
};
const description = 'Looks up the value of a key';

// ---- (a) the seed's ~30-line loop ("Option 4: Direct API Wrapper") on loopwork's model contract:
// no validation, timeouts, events, budgets or checkpoints; that is what the ratios put a price on.
const { $schema: _, ...inputSchema } = z.toJSONSchema(input); // the same spec loopwork sends
const bareSpecs = [{ name: 'lookup', description, inputSchema }];
const signal = new AbortController().signal;
async function bareLoop(model: Model, prompt: string, maxTurns = 50): Promise<string> {
  const messages: Message[] = [{ role: 'user', content: prompt }];
  for (let turn = 0; turn < maxTurns; turn++) {
    const request = { messages, tools: bareSpecs, maxOutputTokens: 4096 };
    const response = await model.generate(request, { signal });
    messages.push(response.message);
    if (response.stopReason === 'end_turn') return textOf(response.message);
    const results: ToolResultPart[] = [];
    for (const part of response.message.content) {
      if (part.type !== 'tool-call') continue;
      const { id: toolCallId, name: toolName } = part;
      const output = await lookup(part.input as { key: string });
      results.push({ type: 'tool-result', toolCallId, toolName, output, isError: false });
    }
    messages.push({ role: 'tool', content: results });
  }
  throw new Error('Agent exceeded max turns');
}

// ---- loopwork. It and (a) get a fresh ScriptedModel per run, whose own cost (it JSON-encodes
// every request to count tokens) is therefore in both.
const lookupTool = defineTool({ name: 'lookup', description, input, execute: lookup });
const scripted = (streaming: boolean) =>
  new ScriptedModel({
    streaming,
    turns: (_request, i) =>
      i < TOOL_TURNS
        ? { toolCalls: [{ name: 'lookup', input: { key: `k${i}` } }] }
        : { text: FINAL_TEXT },
  });

// ---- (b) the AI SDK: generateText + MockLanguageModelV3 answering the same turns
type V3Result = Awaited<ReturnType<MockLanguageModelV3['doGenerate']>>;
const v3Turn = (content: V3Result['content'], unified: 'tool-calls' | 'stop'): V3Result => ({
  content,
  finishReason: { unified, raw: unified },
  usage: {
    inputTokens: { total: 20, noCache: 20, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 8, text: 8, reasoning: undefined },
  },
  warnings: [],
});
const v3Turns = Array.from({ length: MODEL_CALLS }, (_, i) =>
  i < TOOL_TURNS
    ? v3Turn(
        [{ type: 'tool-call', toolCallId: `c${i}`, toolName: 'lookup', input: `{"key":"k${i}"}` }],
        'tool-calls',
      )
    : v3Turn([{ type: 'text', text: FINAL_TEXT }], 'stop'),
);
// Room for more steps than the script has, so that the final text (not the limit) ends the run.
const stopWhen = stepCountIs(MODEL_CALLS + 5);
const aiTools = { lookup: tool({ description, inputSchema: input, execute: lookup }) };

// ---- contenders: each does one full run and reports what it did, for the equivalence check
type RunCounts = { modelCalls: number; text: string };
const contenders: Array<{ name: string; run: () => Promise<RunCounts> }> = [
  {
    name: 'bare loop (seed, model.generate)',
    run: async () => {
      const model = scripted(false);
      const text = await bareLoop(model, PROMPT);
      return { modelCalls: model.requests.length, text };
    },
  },
  ...[
    { name: 'loopwork runAgent (stream, default)', streaming: true, store: false },
    { name: 'loopwork runAgent (streaming: false)', streaming: false, store: false },
    { name: 'loopwork runAgent + memory checkpoints', streaming: true, store: true },
  ].map(({ name, streaming, store }) => ({
    name,
    run: async (): Promise<RunCounts> => {
      const model = scripted(streaming);
      const checkpoints = store ? createMemorySessionStore() : undefined;
      const result = await runAgent({ model, prompt: PROMPT, tools: [lookupTool], checkpoints });
      if (result.status !== 'completed') throw new Error(`${name}: ${result.status}`);
      return { modelCalls: model.requests.length, text: result.text };
    },
  })),
  {
    name: 'ai generateText (MockLanguageModelV3)',
    run: async () => {
      const model = new MockLanguageModelV3({ doGenerate: v3Turns });
      const result = await generateText({ model, prompt: PROMPT, tools: aiTools, stopWhen });
      return { modelCalls: model.doGenerateCalls.length, text: result.text };
    },
  },
];

// Equivalent work, checked once: same model calls, same tool executions, same final text.
for (const { name, run } of contenders) {
  toolRuns = 0;
  const counts = await run();
  if (counts.modelCalls !== MODEL_CALLS || toolRuns !== TOOL_TURNS || counts.text !== FINAL_TEXT) {
    throw new Error(`${name} did different work: ${JSON.stringify({ ...counts, toolRuns })}`);
  }
}

async function repeat(run: () => Promise<RunCounts>, iterations: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await run();
  return performance.now() - start;
}

// Warm up each contender and size its samples to about SAMPLE_MS.
const iterations: number[] = [];
for (const { run } of contenders) {
  let n = 0;
  const start = performance.now();
  for (; performance.now() - start < WARMUP_MS; n++) await run();
  iterations.push(Math.max(1, Math.round((n * SAMPLE_MS) / WARMUP_MS)));
}

// Samples alternate between contenders so that drift (GC, CPU frequency) hits all of them alike.
const samples: number[][] = contenders.map(() => []);
for (let s = 0; s < SAMPLES; s++) {
  for (const [i, { run }] of contenders.entries()) {
    const n = iterations[i]!;
    samples[i]!.push(((await repeat(run, n)) * 1000) / (n * MODEL_CALLS));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const perTurn = samples.map(median);
const bare = perTurn[0]!;
const ai = perTurn[contenders.length - 1]!;
const x = (ratio: number) => `${ratio.toFixed(2)}×`;
const columns = [40, 9, 13, 10, 8, 11];
const row = (cells: string[]) =>
  cells
    .map((cell, i) => (i === 0 ? cell.padEnd(columns[i]!) : cell.padStart(columns[i]!)))
    .join('');

console.log(`\n${TOOL_TURNS} tool turns + 1 final text = ${MODEL_CALLS} model calls per run`);
console.log(`node ${process.version}; median of ${SAMPLES} samples of ~${SAMPLE_MS} ms each\n`);
console.log(row(['contender', 'µs/turn', 'min–max', '+µs/turn', '÷ bare', '÷ genText']));
for (const [i, { name }] of contenders.entries()) {
  const us = perTurn[i]!;
  const range = `${Math.min(...samples[i]!).toFixed(1)}–${Math.max(...samples[i]!).toFixed(1)}`;
  const over = i === 0 ? '—' : (us - bare).toFixed(1);
  console.log(row([name, us.toFixed(1), range, over, x(us / bare), x(us / ai)]));
}
const loopwork = perTurn[1]!;
const met = loopwork / bare <= 1.3 && loopwork < ai;
console.log(
  `\nloopwork/bare ${x(loopwork / bare)}, generateText/bare ${x(ai / bare)}, ` +
    `loopwork/generateText ${x(loopwork / ai)}; goal (≤ 1.30× bare, faster than generateText): ` +
    (met ? 'met' : 'MISSED'),
);
