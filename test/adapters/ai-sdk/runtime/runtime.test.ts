// toolLoopAgentRuntime beyond the conformance suite: the events and checkpoints of a run, the
// clamp reaching the model, tool failures of every kind, odd model errors, cancel mid-stream,
// suspend and answers, a model picked by prepareStep, and input it must refuse.
import { MockLanguageModelV3 } from 'ai/test';
import {
  type AgentEvent,
  defineTool,
  InvalidOptionError,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
} from 'loopwork';
import { scriptedLanguageModel, toolLoopAgentRuntime } from 'loopwork/ai-sdk';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PRICES, runOnce, v3Usage } from './helpers';

/** The ToolContext.turn of each call of `add`, by tool call id. */
const turnsSeen = new Map<string, number>();
const add = defineTool({
  name: 'add',
  description: 'Adds two numbers',
  input: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }, { toolCallId, turn }) => {
    turnsSeen.set(toolCallId, turn);
    return { sum: a + b };
  },
});

const typesOf = (events: AgentEvent[]) => events.map((event) => event.type);

describe('toolLoopAgentRuntime', () => {
  it('emits loopwork events in stream order and checkpoints after every step', async () => {
    const model = await scriptedLanguageModel({
      turns: [
        { toolCalls: [{ name: 'add', input: { a: 2, b: 3 }, id: 'c1' }] },
        { chunks: ['The sum ', 'is 5.'], usage: { outputTokens: 4 } },
      ],
    });
    const runtime = toolLoopAgentRuntime({ model, tools: [add], instructions: 'Be exact.' });
    const { result, events, checkpoints } = await runOnce(runtime, {
      runId: 'r1',
      limits: { prices: PRICES, maxOutputTokens: 1_000 },
    });
    expect(result.status).toBe('completed');
    expect(result.output).toBe('The sum is 5.');
    expect(typesOf(events)).toEqual([
      'run-started',
      'turn-started',
      'tool-call-started',
      'tool-call-finished',
      'turn-finished',
      'turn-started',
      'text-delta',
      'text-delta',
      'turn-finished',
      'run-finished',
    ]);
    expect(events[2]).toMatchObject({
      turn: 1,
      toolCallId: 'c1',
      toolName: 'add',
      input: { a: 2, b: 3 },
    });
    expect(events[3]).toMatchObject({ turn: 1, output: '{"sum":5}' });
    expect(turnsSeen.get('c1')).toBe(1);
    expect(events[6]).toMatchObject({ turn: 2, text: 'The sum ' });
    // The ledger's clamp is what the model received: 1,000 output tokens at most in total.
    const started = events.filter((e) => e.type === 'turn-started');
    const sent = model.requests.map((request) => request.maxOutputTokens);
    expect(started.map((e) => e.type === 'turn-started' && e.maxOutputTokens)).toEqual(sent);
    expect(sent[0]).toBe(1_000);
    expect(sent[1]).toBeLessThanOrEqual(1_000 - result.state.turns[0]!.usage.outputTokens);
    expect(model.requests[0]?.system).toBe('Be exact.');
    // One checkpoint per step, then the final one.
    expect(checkpoints.map((c) => c.status)).toEqual(['running', 'running', 'completed']);
    expect(checkpoints[0]?.messages).toEqual([
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: [{ type: 'tool-call', id: 'c1', name: 'add', input: { a: 2, b: 3 } }],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'add',
            output: '{"sum":5}',
            isError: false,
          },
        ],
      },
    ]);
    expect(result.state).toMatchObject({
      schemaVersion: RUN_STATE_SCHEMA_VERSION,
      system: 'Be exact.',
      runtime: { name: 'ai-sdk' },
    });
    const handle = result.state.runtime?.handle as { messages: Array<{ role: string }> };
    expect(handle.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(result.state.turns).toHaveLength(2);
    expect(result.costUsd).toBeCloseTo(result.state.turns.reduce((sum, t) => sum + t.costUsd, 0));
  });

  it('reports every kind of tool failure to the model and as tool-call-failed events', async () => {
    const hangs = defineTool({
      name: 'hangs',
      description: 'Never returns and ignores its signal',
      input: z.object({}),
      timeoutMs: 50,
      execute: () => new Promise(() => {}),
    });
    const throws = defineTool({
      name: 'throws',
      description: 'Throws a string',
      input: z.object({}),
      execute: () => {
        throw 'disk full';
      },
    });
    const model = await scriptedLanguageModel({
      turns: (request) =>
        request.messages.some((m) => m.role === 'tool')
          ? { text: 'noted' }
          : {
              toolCalls: [
                { name: 'hangs', input: {}, id: 'h' },
                { name: 'throws', input: {}, id: 't' },
                { name: 'nope', input: {}, id: 'u' },
                { name: 'add', input: { a: 'two' }, id: 'i' },
              ],
            },
    });
    const runtime = toolLoopAgentRuntime({ model, tools: [hangs, throws, add] });
    const { result, events } = await runOnce(runtime, { runId: 'r-fail' });
    expect(result.status).toBe('completed');
    const failed = Object.fromEntries(
      events.flatMap((e) => (e.type === 'tool-call-failed' ? [[e.toolCallId, e.reason]] : [])),
    );
    expect(failed).toEqual({ h: 'timeout', t: 'threw', u: 'unknown_tool', i: 'invalid_input' });
    const results = model.requests[1]?.messages.find((m) => m.role === 'tool');
    const outputs = Object.fromEntries(
      (results?.role === 'tool' ? results.content : []).map((r) => [
        r.toolCallId,
        [r.isError, r.output],
      ]),
    );
    expect(outputs.h).toEqual([true, 'Tool "hangs" timed out after 50 ms and was stopped.']);
    expect(outputs.t).toEqual([true, 'Tool "throws" failed: disk full']);
    expect(outputs.u?.[0]).toBe(true);
    expect(outputs.u?.[1]).toContain('nope');
    expect(outputs.i?.[0]).toBe(true);
    expect(outputs.i?.[1]).toContain('add');
  });

  it.each([
    ['a string', 'rate limited, try later'],
    ['a plain object', { code: 42, detail: 'odd' }],
    ['undefined', undefined],
  ])(
    'a model that throws %s fails the run with an Error; it never rejects',
    async (_name, thrown) => {
      const model = new MockLanguageModelV3({
        modelId: 'scripted',
        doStream: async () => {
          throw thrown;
        },
      });
      const { result, events } = await runOnce(toolLoopAgentRuntime({ model }), { runId: 'r-odd' });
      expect(result.status).toBe('failed');
      expect(result.error).toBeInstanceOf(Error);
      expect(result.state.status).toBe('failed');
      expect(result.state.error?.message).toBe(result.error?.message);
      if (typeof thrown === 'string') expect(result.error?.message).toContain(thrown);
      expect(events.at(-1)).toMatchObject({ type: 'run-finished', status: 'failed' });
      // The failed call used nothing the ledger knows of.
      expect(result.usage.outputTokens).toBe(0);
    },
  );

  it('a provider error fails the run as a ModelError (kind, retryable); a retry of the AI SDK is cleared again', async () => {
    const { APICallError } = await import('ai');
    const apiError = (statusCode: number) =>
      new APICallError({
        message: `HTTP ${statusCode} (key sk-live-abcdefghijkl)`,
        url: 'https://api.example/v1',
        requestBodyValues: {},
        statusCode,
        isRetryable: statusCode >= 429,
      });
    const denied = new MockLanguageModelV3({
      modelId: 'scripted',
      doStream: async () => {
        throw apiError(401);
      },
    });
    const auth = await runOnce(toolLoopAgentRuntime({ model: denied }), { runId: 'r-401' });
    expect(auth.result.status).toBe('failed');
    expect(auth.result.error).toMatchObject({ name: 'ModelError', kind: 'auth', retryable: false });
    expect(auth.result.error?.message).not.toContain('sk-live');

    const busy = new MockLanguageModelV3({
      modelId: 'scripted',
      doStream: async () => {
        throw apiError(429);
      },
    });
    const limited = await runOnce(toolLoopAgentRuntime({ model: busy, agent: { maxRetries: 0 } }), {
      runId: 'r-429',
    });
    expect(limited.result.error).toMatchObject({ kind: 'rate_limit', retryable: true });

    // One 500, then an answer: the AI SDK retries, and the ledger clears the retry too.
    let calls = 0;
    const script = await scriptedLanguageModel({ turns: [{ text: 'fine' }] });
    const flaky = new MockLanguageModelV3({
      modelId: 'scripted',
      doStream: async (call) => {
        calls++;
        if (calls === 1) throw apiError(500);
        return script.doStream(call);
      },
    });
    const { result, events } = await runOnce(
      toolLoopAgentRuntime({ model: flaky, agent: { maxRetries: 1 } }),
      { runId: 'r-500' },
    );
    expect(result.status).toBe('completed');
    expect(result.output).toBe('fine');
    expect(calls).toBe(2);
    expect(result.state.turns).toHaveLength(1);
    expect(typesOf(events).filter((t) => t.startsWith('turn-'))).toEqual([
      'turn-started',
      'turn-finished',
    ]);
  }, 30_000);

  it('cancel mid-stream: the run ends aborted once text has streamed, the model call is aborted', async () => {
    let modelSignal: AbortSignal | undefined;
    const model = new MockLanguageModelV3({
      modelId: 'scripted',
      doStream: async ({ abortSignal }) => {
        modelSignal = abortSignal;
        const stream = new ReadableStream({
          start(controller) {
            controller.enqueue({ type: 'stream-start', warnings: [] });
            controller.enqueue({ type: 'text-start', id: 't' });
            controller.enqueue({ type: 'text-delta', id: 't', delta: 'Once upon' });
            // ...and nothing more until the call is aborted.
            abortSignal?.addEventListener('abort', () => controller.error(abortSignal.reason));
          },
        });
        return { stream };
      },
    });
    const controller = new AbortController();
    const events: AgentEvent[] = [];
    const result = await toolLoopAgentRuntime({ model }).run({
      runId: 'r-cancel',
      input: { prompt: 'tell me a story' },
      limits: { prices: PRICES },
      signal: controller.signal,
      emit: (event) => {
        events.push(event);
        if (event.type === 'text-delta') controller.abort(new Error('cancelled by user'));
      },
      checkpoint: async () => {},
    });
    expect(result.status).toBe('aborted');
    expect(modelSignal?.aborted).toBe(true);
    expect(typesOf(events)).toEqual(['run-started', 'turn-started', 'text-delta', 'run-finished']);
  });

  it('cancel while a tool that ignores its signal runs: the run ends aborted without waiting for it', async () => {
    let toolSignal: AbortSignal | undefined;
    const stuck = defineTool({
      name: 'stuck',
      description: 'Never returns and ignores its signal',
      input: z.object({}),
      execute: (_input, { signal }) => {
        toolSignal = signal;
        return new Promise(() => {});
      },
    });
    const model = await scriptedLanguageModel({
      turns: [{ toolCalls: [{ name: 'stuck', input: {}, id: 's1' }] }, { text: 'never' }],
    });
    const controller = new AbortController();
    const events: AgentEvent[] = [];
    const result = await toolLoopAgentRuntime({ model, tools: [stuck] }).run({
      runId: 'r-stuck',
      input: { prompt: 'go' },
      limits: { prices: PRICES },
      signal: controller.signal,
      emit: (event) => {
        events.push(event);
        if (event.type === 'tool-call-started')
          setTimeout(() => controller.abort(new Error('stop')), 20);
      },
      checkpoint: async () => {},
    });
    expect(result.status).toBe('aborted');
    expect(toolSignal?.aborted).toBe(true);
    expect(model.requests).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', status: 'aborted' });
  });

  it('suspend(): the run ends suspended; answers become the calls’ results and the run goes on', async () => {
    const approve = defineTool({
      name: 'approve',
      description: 'Asks a person',
      input: z.object({ what: z.string() }),
      execute: ({ what }, { suspend }) => suspend({ question: `Deploy ${what}?` }),
    });
    const model = await scriptedLanguageModel({
      turns: (request) => {
        const last = request.messages.at(-1);
        if (last?.role === 'tool') return { text: `answer: ${last.content[0]?.output}` };
        return { toolCalls: [{ name: 'approve', input: { what: 'v2' }, id: 'ask' }] };
      },
    });
    const runtime = toolLoopAgentRuntime({ model, tools: [approve] });
    const first = await runOnce(runtime, { runId: 's1' });
    expect(first.result.status).toBe('suspended');
    expect(first.result.state.suspensions).toEqual([
      { toolCallId: 'ask', toolName: 'approve', payload: { question: 'Deploy v2?' } },
    ]);
    expect(first.events).toContainEqual({
      type: 'suspended',
      runId: 's1',
      suspensions: first.result.state.suspensions,
    });
    expect(model.requests).toHaveLength(1);

    const refused = await runOnce(runtime, {
      runId: 's2',
      input: { prompt: 'well?' },
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    expect(refused.result.status).toBe('failed');
    expect(refused.result.error?.message).toContain('waiting for answers to ask');

    const second = await runOnce(runtime, {
      runId: 's2',
      input: { answers: { ask: 'yes' } },
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    expect(second.result.status).toBe('completed');
    expect(second.result.output).toBe('answer: yes');
    expect(second.result.state.suspensions).toEqual([]);
    expect(second.result.state.turns).toHaveLength(2);
  });

  it('a model that prepareStep picks is budgeted like the main one', async () => {
    const main = await scriptedLanguageModel({
      turns: [{ toolCalls: [{ name: 'add', input: { a: 1, b: 1 }, id: 'c1' }] }],
    });
    const other = await scriptedLanguageModel({
      turns: [{ text: 'two', usage: { outputTokens: 3 } }],
    });
    const runtime = toolLoopAgentRuntime({
      model: main,
      tools: [add],
      agent: { prepareStep: ({ stepNumber }) => (stepNumber === 1 ? { model: other } : undefined) },
    });
    const { result, events } = await runOnce(runtime, {
      runId: 'r-prep',
      limits: { prices: PRICES, maxOutputTokens: 500 },
    });
    expect(result.status).toBe('completed');
    expect(result.output).toBe('two');
    expect(result.state.turns).toHaveLength(2);
    const used = result.state.turns[0]!.usage.outputTokens;
    expect(other.requests[0]?.maxOutputTokens).toBe(500 - used);
    expect(events.filter((e) => e.type === 'turn-finished')).toHaveLength(2);
  });

  it('a model that ignores maxOutputTokens fails the run after its first call', async () => {
    const model = new MockLanguageModelV3({
      modelId: 'scripted',
      doStream: async () => ({
        stream: new ReadableStream({
          start(controller) {
            controller.enqueue({ type: 'stream-start', warnings: [] });
            controller.enqueue({
              type: 'finish',
              finishReason: { unified: 'stop', raw: 'stop' },
              usage: v3Usage(10, 9_999),
            });
            controller.close();
          },
        }),
      }),
    });
    const { result } = await runOnce(toolLoopAgentRuntime({ model }), {
      runId: 'r-cap',
      limits: { prices: PRICES, maxOutputTokens: 500 },
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('ignores maxOutputTokens');
    expect(result.usage.outputTokens).toBe(9_999);
  });

  it('a checkpoint that is refused (lease lost) stops the run before another model call', async () => {
    const model = await scriptedLanguageModel({
      turns: (_request, n) => ({
        toolCalls: [{ name: 'add', input: { a: n, b: 1 }, id: `c${n}` }],
      }),
    });
    const { result } = await runOnce(toolLoopAgentRuntime({ model, tools: [add] }), {
      runId: 'r-lease',
      checkpoint: async () => {
        throw new Error('attempt 1 no longer owns the run');
      },
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toBe('attempt 1 no longer owns the run');
    expect(model.requests).toHaveLength(1);
  });

  it('an attempt whose checkpoint already completed returns its ending without calling the model', async () => {
    const model = await scriptedLanguageModel({ turns: [{ text: 'done' }] });
    const runtime = toolLoopAgentRuntime({ model });
    const first = await runOnce(runtime, { runId: 'r-done' });
    const again = await runOnce(runtime, {
      runId: 'r-done',
      resumeFrom: { kind: 'attempt', state: first.result.state },
    });
    expect(again.result.status).toBe('completed');
    expect(again.result.output).toBe('done');
    expect(model.requests).toHaveLength(1);
  });

  it('an attempt that stopped after its final step, before the final checkpoint, is not asked again', async () => {
    const model = await scriptedLanguageModel({ turns: [{ text: 'the answer' }] });
    const runtime = toolLoopAgentRuntime({ model });
    const first = await runOnce(runtime, { runId: 'r-last' });
    const lastStep = first.checkpoints.find((state) => state.status === 'running');
    expect(lastStep).toBeDefined();
    const again = await runOnce(runtime, {
      runId: 'r-last',
      resumeFrom: { kind: 'attempt', state: lastStep! },
    });
    expect(again.result.status).toBe('completed');
    expect(again.result.output).toBe('the answer');
    expect(again.checkpoints.map((state) => state.status)).toEqual(['completed']);
    expect(model.requests).toHaveLength(1);
  });

  it('refuses what it cannot run, naming what to do', async () => {
    expect(() => toolLoopAgentRuntime({ model: 'openai/gpt-5' as never })).toThrow(
      InvalidOptionError,
    );
    const model = await scriptedLanguageModel({ turns: [{ text: 'hi' }] });
    expect(() => toolLoopAgentRuntime({ model, maxTurns: 0 })).toThrow(
      '[loopwork:ai-sdk] maxTurns must be a positive integer, got 0',
    );
    expect(() => toolLoopAgentRuntime({ model, toolTimeoutMs: 1.5 })).toThrow(
      'toolTimeoutMs must be a positive integer, got 1.5',
    );
    const runtime = toolLoopAgentRuntime({ model });
    const noPrompt = await runOnce(runtime, { runId: 'x1', input: {} });
    expect(noPrompt.result.status).toBe('failed');
    expect(noPrompt.result.error?.message).toBe(
      '[loopwork:ai-sdk] prompt is required to start a conversation',
    );
    const foreign: RunState = {
      schemaVersion: RUN_STATE_SCHEMA_VERSION,
      runId: 'x0',
      status: 'completed',
      messages: [{ role: 'user', content: 'hi' }],
      turns: [],
      toolResults: [],
      suspensions: [],
    };
    const other = await runOnce(runtime, {
      runId: 'x2',
      input: { prompt: 'and?' },
      resumeFrom: { kind: 'session', state: foreign },
    });
    expect(other.result.status).toBe('failed');
    expect(other.result.error?.message).toContain('written by the loopwork runtime, not by ai-sdk');
    const twoNames = toolLoopAgentRuntime({ model, tools: [add, add] });
    const dup = await runOnce(twoNames, { runId: 'x3' });
    expect(dup.result.error?.message).toBe('[loopwork:ai-sdk] tools: two tools are named "add"');
    expect(model.requests).toHaveLength(0);
  });
});
