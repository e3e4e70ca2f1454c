import { type AgentEvent, defineTool, InvalidStateError, runAgent, streamAgent } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countingEcho, eventLog, rejectionOf } from './helpers';

const script = () =>
  new ScriptedModel({
    turns: [
      {
        chunks: ['Let me ', 'check.'],
        toolCalls: [{ name: 'echo', input: { text: 'hi' }, id: 'e1' }],
      },
      { toolCalls: [{ name: 'missing', input: {}, id: 'm1' }] },
      { chunks: ['All ', 'done', '.'] },
    ],
  });

const EXPECTED_TYPES = [
  'run-started',
  'turn-started',
  'text-delta',
  'text-delta',
  'tool-input-started',
  'tool-input-delta',
  'tool-input-delta',
  'turn-finished',
  'tool-call-started',
  'tool-call-finished',
  'turn-started',
  'tool-input-started',
  'tool-input-delta',
  'tool-input-delta',
  'turn-finished',
  'tool-call-started',
  'tool-call-failed',
  'turn-started',
  'text-delta',
  'text-delta', // 'done' and '.' as one: a word is shown once it is complete (redaction)
  'turn-finished',
  'run-finished',
];

describe('streamAgent', () => {
  it('iterates every event in order, from run-started to run-finished', async () => {
    const run = streamAgent({
      model: script(),
      prompt: 'go',
      tools: [countingEcho().tool],
      runId: 'ev',
    });
    const events: AgentEvent[] = [];
    for await (const event of run) events.push(event);
    const result = await run.result;

    expect(events.map((e) => e.type)).toEqual(EXPECTED_TYPES);
    expect(events.every((e) => e.runId === 'ev')).toBe(true);
    expect(events[0]).toEqual({ type: 'run-started', runId: 'ev', resumed: false, turnsSoFar: 0 });
    expect(events.filter((e) => e.type === 'text-delta').map((e) => [e.turn, e.text])).toEqual([
      [1, 'Let me '],
      [1, 'check.'],
      [3, 'All '],
      [3, 'done.'],
    ]);
    expect(events.filter((e) => e.type === 'turn-started').map((e) => e.turn)).toEqual([1, 2, 3]);
    // A tool call's input as the model streams it, before the call runs (UIs show it typing).
    expect(events.find((e) => e.type === 'tool-input-started')).toEqual({
      type: 'tool-input-started',
      runId: 'ev',
      turn: 1,
      toolCallId: 'e1',
      toolName: 'echo',
    });
    const streamedInput = events
      .filter((e) => e.type === 'tool-input-delta' && e.toolCallId === 'e1')
      .map((e) => (e.type === 'tool-input-delta' ? e.inputTextDelta : ''));
    expect(JSON.parse(streamedInput.join(''))).toEqual({ text: 'hi' });
    expect(events.find((e) => e.type === 'tool-call-started')).toEqual({
      type: 'tool-call-started',
      runId: 'ev',
      turn: 1,
      toolCallId: 'e1',
      toolName: 'echo',
      input: { text: 'hi' },
    });
    expect(events.find((e) => e.type === 'tool-call-finished')).toMatchObject({
      toolCallId: 'e1',
      output: 'echo: hi',
      turn: 1,
    });
    expect(events.find((e) => e.type === 'tool-call-failed')).toMatchObject({
      toolCallId: 'm1',
      reason: 'unknown_tool',
      turn: 2,
    });
    const turnsFinished = events.filter((e) => e.type === 'turn-finished');
    expect(turnsFinished.map((e) => e.usage)).toEqual(result.turns.map((t) => t.usage));
    expect(events.at(-1)).toEqual({
      type: 'run-finished',
      runId: 'ev',
      status: 'completed',
      turns: 3,
      usage: result.usage,
      costUsd: 0,
    });
    expect(result.text).toBe('All done.');
  });

  it('a model without streaming emits no text deltas, the rest is the same', async () => {
    const model = new ScriptedModel({ streaming: false, turns: [{ chunks: ['a', 'b'] }] });
    expect(model.stream).toBeUndefined();
    const log = eventLog();
    const result = await runAgent({ model, prompt: 'go', onEvent: log.onEvent });
    expect(log.types()).toEqual(['run-started', 'turn-started', 'turn-finished', 'run-finished']);
    expect(result.text).toBe('ab');
  });

  it('the typed emitter: per-type listeners and `event` for all', async () => {
    const run = streamAgent({ model: script(), prompt: 'go', tools: [countingEcho().tool] });
    const finished: string[] = [];
    const all: string[] = [];
    run.on('tool-call-finished', (event) => finished.push(`${event.toolName}:${event.output}`));
    run.on('event', (event) => all.push(event.type));
    await run.result;
    expect(finished).toEqual(['echo:echo: hi']);
    expect(all).toEqual(EXPECTED_TYPES);
  });

  it('onEvent gets every event in order, with streamAgent and with runAgent', async () => {
    const streamed = eventLog();
    await streamAgent({
      model: script(),
      prompt: 'go',
      tools: [countingEcho().tool],
      onEvent: streamed.onEvent,
    }).result;
    expect(streamed.types()).toEqual(EXPECTED_TYPES);
    const direct = eventLog();
    await runAgent({
      model: script(),
      prompt: 'go',
      tools: [countingEcho().tool],
      onEvent: direct.onEvent,
    });
    expect(direct.types()).toEqual(EXPECTED_TYPES);
  });

  it('iterating after the run ended still yields every event (buffered)', async () => {
    const run = streamAgent({ model: script(), prompt: 'go', tools: [countingEcho().tool] });
    await run.result;
    const types: string[] = [];
    for await (const event of run) types.push(event.type);
    expect(types).toEqual(EXPECTED_TYPES);
  });

  it('a run can be iterated only once', async () => {
    const run = streamAgent({ model: script(), prompt: 'go', tools: [countingEcho().tool] });
    for await (const _ of run) {
      // drain
    }
    const error = await rejectionOf(async () => {
      for await (const _ of run) {
        // never reached
      }
    });
    expect(error.message).toBe('[loopwork] an AgentRun can be iterated only once');
  });

  it('a start-up failure rejects the result and ends the iteration with the error', async () => {
    const state = {
      schemaVersion: 1,
      runId: 'bad',
      status: 'running',
      messages: 'oops',
      turns: [],
      toolResults: [],
      suspensions: [],
    };
    const run = streamAgent({ model: script(), state: state as never });
    const seen: string[] = [];
    const error = await rejectionOf(async () => {
      for await (const event of run) seen.push(event.type);
    });
    expect(InvalidStateError.isInstance(error)).toBe(true);
    expect(seen).toEqual([]);
    await expect(run.result).rejects.toBe(error);
  });
});

describe('budget-warning', () => {
  it('is emitted once per budget, when its use first reaches budgetWarningAt', async () => {
    const tool = countingEcho().tool;
    const model = new ScriptedModel({
      turns: (_request, i) =>
        i < 9
          ? { toolCalls: [{ name: 'echo', input: { text: `${i}` } }], usage: { outputTokens: 100 } }
          : { text: 'done', usage: { outputTokens: 100 } },
    });
    const log = eventLog();
    const result = await runAgent({
      model,
      prompt: 'go',
      tools: [tool],
      maxOutputTokens: 1000,
      maxTurns: 20,
      minTokensPerCall: 1,
      budgetWarningAt: 0.75,
      onEvent: log.onEvent,
    });
    expect(result.status).toBe('completed');
    expect(result.usage.outputTokens).toBe(1000);
    expect(log.ofType('budget-warning')).toEqual([
      {
        type: 'budget-warning',
        runId: result.runId,
        budget: 'output_tokens',
        used: 800,
        limit: 1000,
      },
    ]);
    // Right after the eighth turn, before the ninth starts.
    const types = log.types();
    const warning = types.indexOf('budget-warning');
    expect(types.slice(0, warning).filter((t) => t === 'turn-finished')).toHaveLength(8);
  });

  it('each budget warns separately; the default threshold is 0.8', async () => {
    const prices = { scripted: { inputPerMTok: 0, outputPerMTok: 1_000_000 } }; // $1 per output token
    const tool = defineTool({
      name: 'noop',
      description: 'n',
      input: z.object({}),
      execute: () => '',
    });
    const model = new ScriptedModel({
      turns: (_request, i) =>
        i < 5
          ? { toolCalls: [{ name: 'noop', input: {} }], usage: { outputTokens: 100 } }
          : { text: 'end', usage: { outputTokens: 1 } },
    });
    const log = eventLog();
    await runAgent({
      model,
      prompt: 'go',
      tools: [tool],
      prices,
      maxCostUsd: 1000,
      maxOutputTokens: 500,
      minTokensPerCall: 1,
      onEvent: log.onEvent,
    });
    expect(log.ofType('budget-warning').map((e) => [e.budget, e.used, e.limit])).toEqual([
      ['output_tokens', 400, 500],
    ]);
    const costly = new ScriptedModel({
      turns: (_request, i) =>
        i < 5
          ? { toolCalls: [{ name: 'noop', input: {} }], usage: { outputTokens: 100 } }
          : { text: 'end', usage: { outputTokens: 1 } },
    });
    const both = eventLog();
    await runAgent({
      model: costly,
      prompt: 'go',
      tools: [tool],
      prices,
      maxCostUsd: 450,
      maxOutputTokens: 500,
      minTokensPerCall: 1,
      onEvent: both.onEvent,
    });
    expect(both.ofType('budget-warning').map((e) => [e.budget, e.used, e.limit])).toEqual([
      ['output_tokens', 400, 500],
      ['cost_usd', 400, 450],
    ]);
  });
});
