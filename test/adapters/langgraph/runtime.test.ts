// langGraphRuntime beyond the conformance suite: its events in loopwork's terms, tool failures,
// a custom graph with a LangChain tool of its own, budget truncation, and the runs it refuses.
import { tool } from '@langchain/core/tools';
import { MessagesAnnotation, StateGraph } from '@langchain/langgraph';
import { ToolNode, toolsCondition } from '@langchain/langgraph/prebuilt';
import {
  type AgentEvent,
  defineTool,
  type ModelRequest,
  type RunState,
  type Runtime,
  type RuntimeRunOptions,
} from 'loopwork';
import { langGraphRuntime, scriptedChatModel } from 'loopwork/langgraph';
import type { ScriptedTurn } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const PRICES = { scripted: { inputPerMTok: 3, outputPerMTok: 15 } };

async function run(runtime: Runtime, options: Partial<RuntimeRunOptions> = {}) {
  const events: AgentEvent[] = [];
  const checkpoints: RunState[] = [];
  const result = await runtime.run({
    runId: 'r1',
    input: { prompt: 'go' },
    limits: { prices: PRICES },
    signal: new AbortController().signal,
    emit: (event) => events.push(event),
    checkpoint: async (state) => void checkpoints.push(structuredClone(state)),
    ...options,
  });
  return { result, events, checkpoints };
}

const lastTool = (request: ModelRequest) => {
  const last = request.messages.at(-1);
  return last?.role === 'tool' ? last.content : undefined;
};

describe('langGraphRuntime', () => {
  it('maps streamEvents to loopwork events: turns with usage, text deltas, tool calls, run-finished', async () => {
    const echo = defineTool({
      name: 'echo',
      description: 'Echoes',
      input: z.object({ text: z.string() }),
      execute: ({ text }) => `echo: ${text}`,
    });
    const model = await scriptedChatModel({
      turns: (request) =>
        lastTool(request)
          ? { chunks: ['All ', 'done.'], usage: { inputTokens: 40, outputTokens: 3 } }
          : {
              toolCalls: [{ id: 'e1', name: 'echo', input: { text: 'hi' } }],
              usage: { inputTokens: 30, outputTokens: 9 },
            },
    });
    const { result, events } = await run(langGraphRuntime({ model, tools: [echo] }));
    expect(result.status).toBe('completed');
    expect(result.output).toBe('All done.');
    const shown = events.map((event) => {
      const { runId, ...rest } = event;
      expect(runId).toBe('r1');
      if (rest.type === 'turn-started')
        return { type: rest.type, turn: rest.turn, max: rest.maxOutputTokens };
      if (rest.type === 'turn-finished')
        return {
          type: rest.type,
          turn: rest.turn,
          out: rest.usage.outputTokens,
          stop: rest.stopReason,
        };
      if (rest.type === 'tool-call-finished') {
        const { durationMs, ...kept } = rest;
        expect(durationMs).toBeGreaterThanOrEqual(0);
        return kept;
      }
      if (rest.type === 'run-finished')
        return { type: rest.type, status: rest.status, turns: rest.turns };
      return rest;
    });
    expect(shown).toEqual([
      { type: 'run-started', resumed: false, turnsSoFar: 0 },
      { type: 'turn-started', turn: 1, max: 4096 },
      { type: 'turn-finished', turn: 1, out: 9, stop: 'tool_use' },
      {
        type: 'tool-call-started',
        turn: 1,
        toolCallId: 'e1',
        toolName: 'echo',
        input: { text: 'hi' },
      },
      {
        type: 'tool-call-finished',
        turn: 1,
        toolCallId: 'e1',
        toolName: 'echo',
        output: 'echo: hi',
      },
      { type: 'turn-started', turn: 2, max: 4096 },
      { type: 'text-delta', turn: 2, text: 'All ' },
      { type: 'text-delta', turn: 2, text: 'done.' },
      { type: 'turn-finished', turn: 2, out: 3, stop: 'end_turn' },
      { type: 'run-finished', status: 'completed', turns: 2 },
    ]);
    const finished = events.at(-1) as Extract<AgentEvent, { type: 'run-finished' }>;
    expect(finished.usage).toEqual(result.usage);
    expect(result.usage).toMatchObject({ inputTokens: 70, outputTokens: 12 });
    expect(finished.costUsd).toBeCloseTo((70 * 3 + 12 * 15) / 1_000_000, 12);
  });

  it('tool failures go back to the model and show as tool-call-failed: invalid input, a throw, a timeout', async () => {
    const picky = defineTool({
      name: 'picky',
      description: 'Wants a word with a capital letter',
      input: z.object({
        word: z.string().refine((w) => /[A-Z]/.test(w), 'needs a capital letter'),
      }),
      execute: ({ word }) => word,
    });
    const broken = defineTool({
      name: 'broken',
      description: 'Throws',
      input: z.object({}),
      execute: () => {
        throw new Error('disk full');
      },
    });
    const slow = defineTool({
      name: 'slow',
      description: 'Never ends on its own',
      input: z.object({}),
      timeoutMs: 20,
      execute: (_input, { signal }) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        ),
    });
    let seen: ModelRequest | undefined;
    const model = await scriptedChatModel({
      turns: (request) => {
        if (lastTool(request)) {
          seen = request;
          return { text: 'noted' };
        }
        return {
          toolCalls: [
            { id: 'p1', name: 'picky', input: { word: 'lower' } },
            { id: 'b1', name: 'broken', input: {} },
            { id: 's1', name: 'slow', input: {} },
          ],
        };
      },
    });
    const { result, events } = await run(langGraphRuntime({ model, tools: [picky, broken, slow] }));
    expect(result.status).toBe('completed');
    const failed = events.filter((e) => e.type === 'tool-call-failed');
    expect(
      Object.fromEntries(
        failed.map((e) =>
          e.type === 'tool-call-failed' ? [e.toolCallId, [e.reason, e.message]] : [],
        ),
      ),
    ).toEqual({
      p1: [
        'invalid_input',
        'Invalid input for tool "picky": word: needs a capital letter. Fix the input and call the tool again.',
      ],
      b1: ['threw', 'Tool "broken" failed: disk full'],
      s1: ['timeout', 'Tool "slow" timed out after 20 ms and was stopped.'],
    });
    const results = seen?.messages.flatMap((m) => (m.role === 'tool' ? m.content : []));
    expect(results?.map((r) => [r.toolCallId, r.isError])).toEqual([
      ['p1', true],
      ['b1', true],
      ['s1', true],
    ]);
  });

  it('runs a custom graph; a LangChain tool of its own gets tool events too', async () => {
    const lookup = tool(({ key }: { key: string }) => `value of ${key}`, {
      name: 'lookup',
      description: 'Looks up a key',
      schema: z.object({ key: z.string() }),
    });
    const model = await scriptedChatModel({
      turns: (request) =>
        lastTool(request)
          ? { text: `got ${lastTool(request)?.[0]?.output}` }
          : { toolCalls: [{ id: 'k1', name: 'lookup', input: { key: 'a' } }] },
    });
    const runtime = langGraphRuntime({
      model,
      graph: ({ model }) => {
        const bound = model.bindTools([lookup]);
        return new StateGraph(MessagesAnnotation)
          .addNode('agent', async (state) => ({ messages: [await bound.invoke(state.messages)] }))
          .addNode('tools', new ToolNode([lookup]))
          .addEdge('__start__', 'agent')
          .addConditionalEdges('agent', toolsCondition)
          .addEdge('tools', 'agent')
          .compile();
      },
    });
    const { result, events } = await run(runtime);
    expect(result.status).toBe('completed');
    expect(result.output).toBe('got value of a');
    const tools = events.filter((e) => e.type.startsWith('tool-call'));
    expect(tools.map((e) => [e.type, 'toolCallId' in e ? e.toolCallId : undefined])).toEqual([
      ['tool-call-started', 'k1'],
      ['tool-call-finished', 'k1'],
    ]);
    expect(result.state.messages.map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
    ]);
  });

  it('an answer cut short by a budget ends the run budget_exceeded, naming the budget', async () => {
    const model = await scriptedChatModel({
      turns: () => ({ text: 'a very long essay '.repeat(100), usage: { outputTokens: 5_000 } }),
    });
    const { result } = await run(langGraphRuntime({ model, minTokensPerCall: 16 }), {
      limits: { maxOutputTokens: 100, prices: PRICES },
    });
    expect(result.status).toBe('budget_exceeded');
    expect(result.budget).toBe('output_tokens');
    expect(result.usage.outputTokens).toBe(100);
    expect(result.state.turns.map((t) => t.stopReason)).toEqual(['max_tokens']);
  });

  it('stops at maxTurns with no further model call', async () => {
    const loop = defineTool({
      name: 'again',
      description: 'Again',
      input: z.object({}),
      execute: () => 'again',
    });
    const model = await scriptedChatModel({
      turns: (_request, index) => ({ toolCalls: [{ id: `a${index}`, name: 'again', input: {} }] }),
    });
    const { result } = await run(langGraphRuntime({ model, tools: [loop], maxTurns: 3 }));
    expect(result.status).toBe('max_turns');
    expect(model.requests).toHaveLength(3);
    // limits.maxTurns wins over the settings' default.
    const more = await run(langGraphRuntime({ model, tools: [loop], maxTurns: 3 }), {
      runId: 'r2',
      limits: { maxTurns: 1, prices: PRICES },
    });
    expect(more.result.status).toBe('max_turns');
    expect(model.requests).toHaveLength(4);
  });

  it('a graph that loops without calling the model stops at its recursion limit as max_turns', async () => {
    const model = await scriptedChatModel({ turns: () => ({ text: 'x' }) });
    const runtime = langGraphRuntime({
      model,
      recursionLimit: 5,
      graph: () =>
        new StateGraph(MessagesAnnotation)
          .addNode('spin', () => ({}))
          .addEdge('__start__', 'spin')
          .addEdge('spin', 'spin')
          .compile(),
    });
    const { result } = await run(runtime);
    expect(result.status).toBe('max_turns');
    expect(model.requests).toHaveLength(0);
  });

  it('answering some suspended calls leaves the others waiting', async () => {
    const ask = defineTool({
      name: 'ask',
      description: 'Asks',
      input: z.object({ q: z.string() }),
      execute: ({ q }, { suspend }) => suspend(q),
    });
    const model = await scriptedChatModel({
      turns: (request) => {
        const results = lastTool(request);
        if (results) return { text: results.map((r) => r.output).join(' & ') };
        return {
          toolCalls: [
            { id: 'q1', name: 'ask', input: { q: 'first?' } },
            { id: 'q2', name: 'ask', input: { q: 'second?' } },
          ],
        };
      },
    });
    const runtime = langGraphRuntime({ model, tools: [ask] });
    const first = await run(runtime);
    expect(first.result.state.suspensions.map((s) => [s.toolCallId, s.payload])).toEqual([
      ['q1', 'first?'],
      ['q2', 'second?'],
    ]);
    const one = await run(runtime, {
      runId: 'r2',
      input: { answers: { q2: 'B' } },
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    expect(one.result.status).toBe('suspended');
    expect(one.result.state.suspensions.map((s) => s.toolCallId)).toEqual(['q1']);
    const both = await run(runtime, {
      runId: 'r3',
      input: { answers: { q1: 'A' } },
      resumeFrom: { kind: 'session', state: one.result.state },
    });
    expect(both.result.status).toBe('completed');
    expect(both.result.output).toBe('A & B');
  });

  it('refuses what it cannot run, as failed runs with errors that say what to do', async () => {
    const model = await scriptedChatModel({ turns: () => ({ text: 'x' }) });
    const runtime = langGraphRuntime({ model });
    const loopState: RunState = {
      schemaVersion: 1,
      runId: 'old',
      status: 'completed',
      messages: [{ role: 'user', content: 'hi' }],
      turns: [],
      toolResults: [],
      suspensions: [],
    };
    const foreign = await run(runtime, { resumeFrom: { kind: 'session', state: loopState } });
    expect(foreign.result.status).toBe('failed');
    expect(foreign.result.error?.message).toBe(
      '[loopwork:langgraph] run state "old" holds state of runtime "loopwork", not a LangGraph thread; continue it with the runtime that wrote it, or start a new session',
    );
    expect(foreign.events.at(-1)?.type).toBe('run-finished');

    const noPrompt = await run(runtime, { input: {} });
    expect(noPrompt.result.error?.message).toBe(
      '[loopwork:langgraph] prompt is required: there is no LangGraph thread to continue',
    );

    const notAGraph = await run(langGraphRuntime({ model, graph: () => ({}) as never }));
    expect(notAGraph.result.status).toBe('failed');
    expect(notAGraph.result.error?.message).toMatch(
      /^\[loopwork:langgraph\] graph must return a compiled graph/,
    );
  });

  it('a prompt to a conversation waiting for answers is refused; the answers are not lost', async () => {
    const ask = defineTool({
      name: 'ask',
      description: 'Asks',
      input: z.object({}),
      execute: (_input, { suspend }) => suspend('sure?'),
    });
    const turns: ScriptedTurn[] = [
      { toolCalls: [{ id: 'q1', name: 'ask', input: {} }] },
      { text: 'ok' },
    ];
    const model = await scriptedChatModel({ turns });
    const runtime = langGraphRuntime({ model, tools: [ask] });
    const first = await run(runtime);
    expect(first.result.status).toBe('suspended');
    expect(first.result.state.suspensions).toEqual([
      { toolCallId: 'q1', toolName: 'ask', payload: 'sure?' },
    ]);
    const prompt = await run(runtime, {
      runId: 'r2',
      input: { prompt: 'hello?' },
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    expect(prompt.result.status).toBe('failed');
    expect(prompt.result.error?.message).toBe(
      '[loopwork:langgraph] the conversation is waiting for answers to q1; continue it with answers',
    );
    const answered = await run(runtime, {
      runId: 'r3',
      input: { answers: { q1: { approved: true } } },
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    expect(answered.result.status).toBe('completed');
    expect(answered.result.output).toBe('ok');
    expect(model.requests.at(-1)?.messages.at(-1)).toEqual({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'q1',
          toolName: 'ask',
          output: '{"approved":true}',
          isError: false,
        },
      ],
    });
  });
});
