import {
  type AgentOptions,
  createMemorySessionStore,
  InvalidOptionError,
  type LoopworkError,
  runAgent,
  streamAgent,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { rejectionOf } from './helpers';

const model = () => new ScriptedModel({ turns: [{ text: 'ok' }] });

async function refusal(options: Record<string, unknown>) {
  const m = model();
  const error = await rejectionOf(() =>
    runAgent({ model: m, prompt: 'hi', ...options } as AgentOptions),
  );
  expect(InvalidOptionError.isInstance(error), String(error)).toBe(true);
  expect((error as LoopworkError).code).toBe('invalid_option');
  expect(m.requests).toHaveLength(0);
  return error.message;
}

describe('numeric options name the option and the bad value', () => {
  const cases: Array<[string, unknown, string]> = [
    ['maxTurns', -1, 'maxTurns must be a positive integer, got -1'],
    ['maxTurns', 0, 'maxTurns must be a positive integer, got 0'],
    ['maxTurns', 2.5, 'maxTurns must be a positive integer, got 2.5'],
    ['maxTurns', '10', 'maxTurns must be a positive integer, got "10"'],
    ['maxInputTokens', 0, 'maxInputTokens must be a positive integer, got 0'],
    ['maxOutputTokens', Number.NaN, 'maxOutputTokens must be a positive integer, got NaN'],
    ['maxTotalTokens', -5, 'maxTotalTokens must be a positive integer, got -5'],
    ['maxTokensPerCall', 0, 'maxTokensPerCall must be a positive integer, got 0'],
    ['minTokensPerCall', -1, 'minTokensPerCall must be a positive integer, got -1'],
    ['toolConcurrency', 0, 'toolConcurrency must be a positive integer, got 0'],
    [
      'toolTimeoutMs',
      Number.POSITIVE_INFINITY,
      'toolTimeoutMs must be a positive integer, got Infinity',
    ],
    ['maxCostUsd', 0, 'maxCostUsd must be a positive finite number, got 0'],
    [
      'maxCostUsd',
      Number.POSITIVE_INFINITY,
      'maxCostUsd must be a positive finite number, got Infinity',
    ],
    ['maxDurationMs', -100, 'maxDurationMs must be a positive finite number, got -100'],
    ['maxDurationMs', null, 'maxDurationMs must be a positive finite number, got null'],
    ['budgetWarningAt', 1.5, 'budgetWarningAt must be a number in (0, 1], got 1.5'],
    ['budgetWarningAt', 0, 'budgetWarningAt must be a number in (0, 1], got 0'],
    ['runId', '', 'runId must be a non-empty string, got ""'],
    ['runId', 42, 'runId must be a non-empty string, got 42'],
    ['prompt', 42, 'prompt must be a string or an array of text and image parts, got 42'],
    [
      'prompt',
      { text: 'hi' },
      'prompt must be a string or an array of text and image parts, got object',
    ],
  ];
  it.each(cases)('%s = %s', async (option, value, message) => {
    expect(await refusal({ [option]: value })).toBe(message);
  });

  it.each([
    ['maxRetries', -1, 'retry.maxRetries must be a non-negative integer, got -1'],
    ['minDelayMs', 1.5, 'retry.minDelayMs must be a non-negative integer, got 1.5'],
    ['maxDelayMs', -1, 'retry.maxDelayMs must be a non-negative integer, got -1'],
  ] as const)('retry.%s = %s', async (option, value, message) => {
    expect(await refusal({ retry: { [option]: value } })).toBe(message);
  });

  it('valid edge values are accepted', async () => {
    const m = model();
    const result = await runAgent({
      model: m,
      prompt: [{ type: 'text', text: 'hi' }],
      maxTurns: 1,
      budgetWarningAt: 1,
      retry: { maxRetries: 0, minDelayMs: 0, maxDelayMs: 0 },
      maxCostUsd: 0.5,
      prices: { scripted: { inputPerMTok: 1, outputPerMTok: 1 } },
      maxDurationMs: 60_000,
    });
    expect(result.status).toBe('completed');
    expect(m.requests[0]?.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
    ]);
  });
});

describe('other options', () => {
  it('a model that is not a loopwork model adapter', async () => {
    const error = await rejectionOf(() =>
      runAgent({ model: { generate: () => {} }, prompt: 'hi' } as never),
    );
    expect(error.message).toBe(
      'model must be a loopwork model adapter (specificationVersion "loopwork.model.v1"), got object',
    );
    expect((await rejectionOf(() => runAgent({ prompt: 'hi' } as never))).message).toContain(
      'got undefined',
    );
  });

  it('a missing prompt for a new run', async () => {
    const m = model();
    const error = await rejectionOf(() => runAgent({ model: m }));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe(
      'prompt is required to start a run (or pass state / checkpoints to continue one)',
    );
    // With a store that has nothing for the run id, the message says so.
    const store = createMemorySessionStore();
    const second = await rejectionOf(() =>
      runAgent({ model: m, checkpoints: store, runId: 'nothing-here' }),
    );
    expect(second.message).toBe(
      'prompt is required: there is no saved state for run "nothing-here" to continue',
    );
    expect(m.requests).toHaveLength(0);
  });

  it('maxCostUsd on a model with no price fails before any model call', async () => {
    const m = new ScriptedModel({ modelId: 'mystery-1', turns: [{ text: 'ok' }] });
    const error = await rejectionOf(() => runAgent({ model: m, prompt: 'hi', maxCostUsd: 1 }));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe(
      `maxCostUsd is set but no price is known for model "mystery-1" (scripted); add one with prices: { 'mystery-1': { inputPerMTok, outputPerMTok } }`,
    );
    expect(m.requests).toHaveLength(0);
  });

  it('a price under a prefix of the model id is found', async () => {
    const m = new ScriptedModel({
      modelId: 'scripted-large-2025',
      turns: [{ text: 'ok', usage: { inputTokens: 1000, outputTokens: 100 } }],
    });
    const result = await runAgent({
      model: m,
      prompt: 'hi',
      maxCostUsd: 1,
      prices: {
        scripted: { inputPerMTok: 1, outputPerMTok: 1 },
        'scripted-large': { inputPerMTok: 2, outputPerMTok: 10 },
      },
    });
    expect(result.costUsd).toBeCloseTo((1000 * 2 + 100 * 10) / 1e6, 15);
    expect(result.turns[0]?.modelId).toBe('scripted-large-2025');
  });

  it('runId and state must agree', async () => {
    const first = await runAgent({ model: model(), prompt: 'hi', runId: 'a' });
    const error = await rejectionOf(() =>
      runAgent({ model: model(), state: first.state, runId: 'b' }),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe('runId is "b" but state belongs to run "a"');
    // Without runId, the state's own id is used.
    expect((await runAgent({ model: model(), state: first.state })).runId).toBe('a');
  });

  it('prompt and state together are refused: a follow-up message goes in followUp', async () => {
    const first = await runAgent({ model: model(), prompt: 'hi', runId: 'a' });
    const error = await rejectionOf(() =>
      runAgent({ model: model(), state: first.state, prompt: 'again' }),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe(
      'prompt starts a new run, but state continues one; pass the new message as followUp',
    );
  });

  it('followUp on a new run is refused', async () => {
    const error = await rejectionOf(() =>
      runAgent({ model: model(), prompt: 'hi', runId: 'new', followUp: 'more' }),
    );
    expect(error.message).toBe(
      'followUp: there is no saved state for run "new" to continue (start it with prompt)',
    );
  });

  it('runAgent reports bad options as a rejection, not a synchronous throw', async () => {
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = runAgent({ model: model(), prompt: 'hi', maxTurns: -1 });
    }).not.toThrow();
    await expect(promise).rejects.toThrow('maxTurns must be a positive integer, got -1');
  });

  it('streamAgent throws bad options at once', () => {
    expect(() => streamAgent({ model: model(), prompt: 'hi', toolConcurrency: 0 })).toThrow(
      'toolConcurrency must be a positive integer, got 0',
    );
  });

  it('system, stopSequences and providerOptions reach the model', async () => {
    const m = model();
    await runAgent({
      model: m,
      prompt: 'hi',
      system: 'Be brief.',
      stopSequences: ['END'],
      providerOptions: { anthropic: { thinking: { type: 'enabled' } } },
    });
    expect(m.requests[0]).toMatchObject({
      system: 'Be brief.',
      stopSequences: ['END'],
      providerOptions: { anthropic: { thinking: { type: 'enabled' } } },
    });
  });
});
