import {
  addUsage,
  createMemorySessionStore,
  defineTool,
  emptyUsage,
  LoopworkError,
  ModelError,
  promptTokens,
  runAgent,
  type Usage,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countingEcho, eventLog, forever, scriptedPrice } from './helpers';

const sum = (usages: Usage[]) => usages.reduce(addUsage, emptyUsage());

describe('status completed', () => {
  it('runs tool turns until the model answers with text, with usage per turn and in total', async () => {
    const { tool, executions } = countingEcho();
    const model = new ScriptedModel({
      turns: [
        { text: 'Let me check.', toolCalls: [{ name: 'echo', input: { text: 'ping' } }] },
        { text: 'The echo said ping.' },
      ],
    });
    const result = await runAgent({ model, prompt: 'Say ping', tools: [tool], runId: 'r1' });

    expect(result.status).toBe('completed');
    expect(result.text).toBe('The echo said ping.');
    expect(result.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(result.messages[2]).toEqual({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'call_1_0',
          toolName: 'echo',
          output: 'echo: ping',
          isError: false,
        },
      ],
    });
    expect([...executions]).toEqual([['r1:call_1_0', 1]]);
    expect(model.requests).toHaveLength(2);
    expect(result.turns.map((t) => [t.turn, t.stopReason])).toEqual([
      [1, 'tool_use'],
      [2, 'end_turn'],
    ]);
    expect(result.turns[1]?.usage.inputTokens).toBeGreaterThan(
      result.turns[0]?.usage.inputTokens ?? Infinity,
    );
    expect(result.usage).toEqual(sum(result.turns.map((t) => t.usage)));
    expect(result.costUsd).toBe(0);
    expect(result.state.status).toBe('completed');
    expect(result.error).toBeUndefined();
    expect(result.budget).toBeUndefined();
  });

  it('prices every turn when the model has a price', async () => {
    const model = new ScriptedModel({
      turns: [
        { toolCalls: [{ name: 'echo', input: { text: 'a' } }] },
        { text: 'done', usage: { cacheReadTokens: 1000 } },
      ],
    });
    const result = await runAgent({
      model,
      prompt: 'go',
      tools: [countingEcho().tool],
      prices: scriptedPrice(2, 10, { cacheReadPerMTok: 0.5 }),
    });
    const expected = result.turns.map(
      (t) =>
        (t.usage.inputTokens * 2 + t.usage.outputTokens * 10 + t.usage.cacheReadTokens * 0.5) / 1e6,
    );
    expect(result.turns.map((t) => t.costUsd)).toEqual(expected);
    expect(result.costUsd).toBeCloseTo(expected[0]! + expected[1]!, 15);
    expect(result.turns[1]?.usage.cacheReadTokens).toBe(1000);
  });
});

describe('status max_turns', () => {
  it('stops before the model call that would exceed maxTurns, after running the last turn’s tools', async () => {
    const { tool, executions } = countingEcho();
    const model = new ScriptedModel({
      turns: (_request, i) => ({ toolCalls: [{ name: 'echo', input: { text: `t${i}` } }] }),
    });
    const result = await runAgent({ model, prompt: 'loop forever', tools: [tool], maxTurns: 3 });

    expect(result.status).toBe('max_turns');
    expect(model.requests).toHaveLength(3);
    expect(result.turns).toHaveLength(3);
    expect(executions.size).toBe(3);
    expect(result.messages.at(-1)?.role).toBe('tool');
  });

  it('completes when the last allowed turn answers with text', async () => {
    const model = new ScriptedModel({
      turns: [{ toolCalls: [{ name: 'echo', input: { text: 'x' } }] }, { text: 'done' }],
    });
    const result = await runAgent({
      model,
      prompt: 'go',
      tools: [countingEcho().tool],
      maxTurns: 2,
    });
    expect(result.status).toBe('completed');
  });
});

describe('status budget_exceeded: no call is made when not even a minimal call fits', () => {
  // The default minTokensPerCall is 256: each budget below leaves less room than that.
  const cases = [
    { name: 'maxInputTokens', options: { maxInputTokens: 5 }, budget: 'input_tokens' },
    { name: 'maxOutputTokens', options: { maxOutputTokens: 255 }, budget: 'output_tokens' },
    { name: 'maxTotalTokens', options: { maxTotalTokens: 260 }, budget: 'total_tokens' },
    // $10 per million output tokens: $0.0025 buys 250 tokens, fewer than 256.
    {
      name: 'maxCostUsd',
      options: { maxCostUsd: 0.0025, prices: scriptedPrice(0, 10) },
      budget: 'cost_usd',
    },
  ] as const;

  for (const { name, options, budget } of cases) {
    it(`${name} → budget "${budget}"`, async () => {
      const model = new ScriptedModel({ turns: [{ text: 'never sent' }] });
      const log = eventLog();
      const result = await runAgent({
        model,
        prompt: 'hello there',
        ...options,
        onEvent: log.onEvent,
      });
      expect(result.status).toBe('budget_exceeded');
      expect(result.budget).toBe(budget);
      expect(model.requests).toHaveLength(0);
      expect(result.turns).toHaveLength(0);
      expect(log.types()).toEqual(['run-started', 'run-finished']);
      expect(result.state.status).toBe('budget_exceeded');
    });
  }

  it('the same budgets with room for a call do call the model', async () => {
    const model = new ScriptedModel({ turns: [{ text: 'ok' }] });
    const result = await runAgent({
      model,
      prompt: 'hello there',
      maxInputTokens: 100,
      maxOutputTokens: 300,
      maxTotalTokens: 400,
      maxCostUsd: 0.003,
      prices: scriptedPrice(0, 10),
    });
    expect(result.status).toBe('completed');
    expect(model.requests).toHaveLength(1);
    expect(promptTokens(result.usage)).toBeLessThanOrEqual(100);
  });
});

describe('status timeout', () => {
  it('maxDurationMs ends a slow model call', async () => {
    const model = new ScriptedModel({ turns: [{ text: 'too late', delayMs: 60_000 }] });
    const result = await runAgent({ model, prompt: 'hi', maxDurationMs: 20 });
    expect(result.status).toBe('timeout');
    expect(model.requests).toHaveLength(1);
    expect(result.turns).toHaveLength(0);
    expect(result.error).toBeUndefined();
    expect(result.state.status).toBe('timeout');
  });

  it('maxDurationMs ends a slow tool, even one that ignores its signal', async () => {
    let toolSignal: AbortSignal | undefined;
    const hang = defineTool({
      name: 'hang',
      description: 'never returns',
      input: z.object({}),
      execute: (_input, { signal }) => {
        toolSignal = signal;
        return forever();
      },
    });
    const model = new ScriptedModel({
      turns: [{ toolCalls: [{ name: 'hang', input: {} }] }, { text: 'unreachable' }],
    });
    const result = await runAgent({ model, prompt: 'hi', tools: [hang], maxDurationMs: 20 });
    expect(result.status).toBe('timeout');
    expect(toolSignal?.aborted).toBe(true);
    expect(model.requests).toHaveLength(1);
    // The pending call stays pending in the state, so a resume runs it again.
    expect(result.messages.at(-1)?.role).toBe('assistant');
    expect(result.state.toolResults).toEqual([]);
  });
});

describe('status aborted', () => {
  it('a signal aborted before the start makes no model call', async () => {
    const model = new ScriptedModel({ turns: [{ text: 'never' }] });
    const result = await runAgent({ model, prompt: 'hi', signal: AbortSignal.abort() });
    expect(result.status).toBe('aborted');
    expect(model.requests).toHaveLength(0);
    expect(result.error).toBeUndefined();
  });

  it('aborting mid model call ends the run without a turn', async () => {
    const controller = new AbortController();
    const model = new ScriptedModel({
      turns: () => {
        // The call is in flight now: abort it shortly.
        setTimeout(() => controller.abort(), 1);
        return { text: 'never', delayMs: 60_000 };
      },
    });
    const result = await runAgent({ model, prompt: 'hi', signal: controller.signal });
    expect(result.status).toBe('aborted');
    expect(model.requests).toHaveLength(1);
    expect(result.turns).toHaveLength(0);
  });

  it('aborting mid tool returns even when the tool ignores its signal', async () => {
    const controller = new AbortController();
    let toolSignal: AbortSignal | undefined;
    const stubborn = defineTool({
      name: 'stubborn',
      description: 'ignores aborts',
      input: z.object({}),
      execute: (_input, { signal }) => {
        toolSignal = signal;
        controller.abort();
        return forever();
      },
    });
    const model = new ScriptedModel({
      turns: [{ toolCalls: [{ name: 'stubborn', input: {} }] }, { text: 'unreachable' }],
    });
    const result = await runAgent({
      model,
      prompt: 'hi',
      tools: [stubborn],
      signal: controller.signal,
    });
    expect(result.status).toBe('aborted');
    expect(toolSignal?.aborted).toBe(true);
    expect(model.requests).toHaveLength(1);
  });
});

describe('status suspended', () => {
  it('a tool that suspends ends the run waiting for an answer', async () => {
    const ask = defineTool({
      name: 'ask',
      description: 'asks a person',
      input: z.object({ question: z.string() }),
      execute: ({ question }, context) => context.suspend({ question }),
    });
    const model = new ScriptedModel({
      turns: [{ toolCalls: [{ name: 'ask', input: { question: 'Deploy?' } }] }],
    });
    const result = await runAgent({ model, prompt: 'deploy', tools: [ask] });
    expect(result.status).toBe('suspended');
    expect(result.suspensions).toEqual([
      { toolCallId: 'call_1_0', toolName: 'ask', payload: { question: 'Deploy?' } },
    ]);
  });
});

describe('status failed', () => {
  it('a non-retryable model error fails the run with the error and a resumable state', async () => {
    const store = createMemorySessionStore();
    const model = new ScriptedModel({
      turns: [{ error: { kind: 'invalid_request', status: 400, message: 'bad request' } }],
    });
    const result = await runAgent({ model, prompt: 'hi', checkpoints: store, runId: 'f1' });
    expect(result.status).toBe('failed');
    expect(ModelError.isInstance(result.error)).toBe(true);
    expect((result.error as ModelError).kind).toBe('invalid_request');
    expect(result.error?.message).toBe('bad request');
    expect(model.requests).toHaveLength(1);
    expect(result.state.error).toEqual({ code: 'model_error', message: 'bad request' });
    expect((await store.load('f1'))?.state.status).toBe('failed');

    // Resumable: a later invocation continues from the state and clears the error.
    const retry = new ScriptedModel({ turns: [{ text: 'fine now' }] });
    const resumed = await runAgent({ model: retry, state: result.state });
    expect(resumed.status).toBe('completed');
    expect(resumed.text).toBe('fine now');
    expect(resumed.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(resumed.state.error).toBeUndefined();
    expect(retry.requests[0]?.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('exhausted retries fail the run with the last error', async () => {
    const model = new ScriptedModel({
      turns: [
        { error: { kind: 'server', status: 500 } },
        { error: { kind: 'server', status: 502 } },
        { text: 'too late' },
      ],
    });
    const result = await runAgent({
      model,
      prompt: 'hi',
      retry: { maxRetries: 1, minDelayMs: 1, maxDelayMs: 2 },
    });
    expect(result.status).toBe('failed');
    expect((result.error as ModelError).status).toBe(502);
    expect(model.requests).toHaveLength(2);
  });

  it('a hook that throws fails the run; the state resumes from the last checkpoint', async () => {
    const { tool, executions } = countingEcho();
    const script = [
      { toolCalls: [{ name: 'echo', input: { text: 'a' }, id: 'c1' }] },
      { text: 'done' },
    ];
    let failOnce = true;
    const hooks = {
      afterToolCall: () => {
        if (failOnce) {
          failOnce = false;
          throw new Error('audit log unavailable');
        }
      },
    };
    const first = await runAgent({
      model: new ScriptedModel({ turns: script }),
      prompt: 'go',
      tools: [tool],
      hooks,
      runId: 'h1',
    });
    expect(first.status).toBe('failed');
    expect(first.error?.message).toBe('audit log unavailable');
    expect(LoopworkError.isInstance(first.error)).toBe(false);
    expect(first.state.error).toEqual({ code: 'error', message: 'audit log unavailable' });

    const second = await runAgent({
      model: new ScriptedModel({ turns: script.slice(1) }),
      state: first.state,
      tools: [tool],
      hooks,
    });
    expect(second.status).toBe('completed');
    expect(second.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    // The hook failed after the tool ran but before its result was recorded: it runs once more,
    // with the same idempotency key.
    expect([...executions]).toEqual([['h1:c1', 2]]);
  });

  it('an exhausted script fails with script_exhausted', async () => {
    const model = new ScriptedModel({
      turns: [{ toolCalls: [{ name: 'echo', input: { text: 'x' } }] }],
    });
    const result = await runAgent({ model, prompt: 'go', tools: [countingEcho().tool] });
    expect(result.status).toBe('failed');
    expect((result.error as LoopworkError).code).toBe('script_exhausted');
    expect(result.state.error?.code).toBe('script_exhausted');
  });
});
