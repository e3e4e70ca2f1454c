// Structured output: the answer of a run with an `output` schema is validated; a refused answer
// goes back to the model within the run's limits, and a run never ends with an unchecked answer.
import {
  createMemorySessionStore,
  defineTool,
  FINAL_ANSWER_TOOL,
  InvalidOptionError,
  OutputValidationError,
  parseRunState,
  runAgent,
  streamAgent,
} from 'loopwork';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { z as z3 } from 'zod/v3';
import { eventLog, recordingStore, rejectionOf, scriptedPrice } from './helpers';

const Weather = z.object({
  city: z.string(),
  celsius: z.number().min(-90).max(60),
  tags: z.array(z.string()).optional(),
});
const PARIS = { city: 'Paris', celsius: 21 };

const native = (turns: ScriptedTurn[]) =>
  new ScriptedModel({ turns, supportsResponseFormat: true });
const toolOnly = (turns: ScriptedTurn[]) => new ScriptedModel({ turns });
const answer = (input: unknown): ScriptedTurn => ({
  toolCalls: [{ name: FINAL_ANSWER_TOOL, input }],
});
/** The text of the last user message of a model request. */
const lastUserText = (model: ScriptedModel, call: number) => {
  const message = model.requests[call]?.messages.at(-1);
  expect(message?.role).toBe('user');
  return String(message?.content);
};

describe('native structured output (the provider constrains the answer)', () => {
  it('sends the schema as responseFormat and returns the validated answer', async () => {
    const model = native([{ text: JSON.stringify(PARIS) }]);
    const result = await runAgent({ model, prompt: 'Weather in Paris?', output: Weather });
    expect(result.status).toBe('completed');
    expect(result.output).toEqual(PARIS);
    expect(result.state.output).toEqual({ refused: 0, value: PARIS });
    const request = model.requests[0];
    expect(request?.tools).toBeUndefined();
    expect(request?.responseFormat).toEqual({
      type: 'json',
      name: 'final_answer',
      schema: {
        type: 'object',
        properties: {
          city: { type: 'string' },
          celsius: { type: 'number', minimum: -90, maximum: 60 },
          tags: { type: 'array', items: { type: 'string' } },
        },
        required: ['city', 'celsius'],
      },
    });
  });

  it('sends bad JSON back with the parser’s complaint, then accepts the fixed answer', async () => {
    const model = native([
      { text: '{"city": "Paris", celsius: 21' },
      { text: JSON.stringify(PARIS) },
    ]);
    const log = eventLog();
    const result = await runAgent({
      model,
      prompt: 'Weather?',
      output: Weather,
      onEvent: log.onEvent,
    });
    expect(result.status).toBe('completed');
    expect(result.output).toEqual(PARIS);
    expect(lastUserText(model, 1)).toMatch(
      /^Your answer was not accepted: the answer is not valid JSON \(/,
    );
    expect(lastUserText(model, 1)).toContain('Answer again with only the JSON object');
    expect(log.ofType('output-rejected')).toEqual([
      expect.objectContaining({
        turn: 1,
        refused: 1,
        message: expect.stringMatching(/not valid JSON/),
      }),
    ]);
    expect(result.state.output?.refused).toBe(1);
  });

  it('sends a schema mismatch back naming the fields, then accepts the fixed answer', async () => {
    const model = native([
      { text: JSON.stringify({ city: 'Paris', celsius: 'warm', tags: [1] }) },
      { text: JSON.stringify({ ...PARIS, tags: ['sunny'] }) },
    ]);
    const result = await runAgent({ model, prompt: 'Weather?', output: Weather });
    expect(result.status).toBe('completed');
    expect(result.output).toEqual({ ...PARIS, tags: ['sunny'] });
    const feedback = lastUserText(model, 1);
    expect(feedback).toContain('the answer does not match the schema');
    expect(feedback).toMatch(/celsius: [^;]*number/);
    expect(feedback).toMatch(/tags\.0: [^;]*string/);
  });

  it('takes an answer inside a Markdown code fence', async () => {
    const model = native([{ text: `\`\`\`json\n${JSON.stringify(PARIS)}\n\`\`\`` }]);
    const result = await runAgent({ model, prompt: 'Weather?', output: Weather });
    expect(result.output).toEqual(PARIS);
  });

  it('returns the schema’s output value (defaults and transforms applied)', async () => {
    const schema = z.object({
      name: z.string().transform((s) => s.toUpperCase()),
      n: z.number().default(7),
    });
    const model = native([{ text: '{"name":"ada"}' }]);
    const result = await runAgent({ model, prompt: 'Name?', output: schema });
    expect(result.output).toEqual({ name: 'ADA', n: 7 });
  });

  it('a run answering with tool calls first runs them, then checks the final answer', async () => {
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks up the weather',
      input: z.object({ city: z.string() }),
      execute: () => '21 degrees',
    });
    const model = native([
      { toolCalls: [{ name: 'lookup', input: { city: 'Paris' } }] },
      { text: JSON.stringify(PARIS) },
    ]);
    const result = await runAgent({ model, prompt: 'Weather?', tools: [lookup], output: Weather });
    expect(result.status).toBe('completed');
    expect(result.output).toEqual(PARIS);
    expect(model.requests[0]?.tools?.map((tool) => tool.name)).toEqual(['lookup']);
    expect(model.requests[1]?.responseFormat?.name).toBe('final_answer');
  });
});

describe('tool-based structured output (a final_answer tool)', () => {
  it('offers final_answer with the schema as its input and ends on a valid call', async () => {
    const model = toolOnly([answer(PARIS)]);
    const result = await runAgent({ model, prompt: 'Weather?', output: Weather });
    expect(result.status).toBe('completed');
    expect(result.output).toEqual(PARIS);
    const request = model.requests[0];
    expect(request?.responseFormat).toBeUndefined();
    expect(request?.tools?.map((tool) => tool.name)).toEqual(['final_answer']);
    expect(request?.tools?.[0]?.inputSchema).toMatchObject({ required: ['city', 'celsius'] });
    // The transcript stays well-formed for a follow-up: the call has its result.
    expect(result.messages.at(-1)).toEqual({
      role: 'tool',
      content: [expect.objectContaining({ toolName: 'final_answer', isError: false })],
    });
  });

  it('sends invalid input back as a tool error, then accepts the fixed call', async () => {
    const model = toolOnly([answer({ city: 'Paris', celsius: 500 }), answer(PARIS)]);
    const log = eventLog();
    const result = await runAgent({
      model,
      prompt: 'Weather?',
      output: Weather,
      onEvent: log.onEvent,
    });
    expect(result.status).toBe('completed');
    expect(result.output).toEqual(PARIS);
    const error = model.requests[1]?.messages.at(-1);
    expect(error).toMatchObject({
      role: 'tool',
      content: [
        { toolName: 'final_answer', isError: true, output: expect.stringMatching(/celsius: .*60/) },
      ],
    });
    expect(log.ofType('output-rejected')).toHaveLength(1);
    expect(result.state.output?.refused).toBe(1);
  });

  it('accepts a plain-text JSON answer, and asks for the tool when the text is not one', async () => {
    const model = toolOnly([{ text: 'It is sunny in Paris.' }, { text: JSON.stringify(PARIS) }]);
    const result = await runAgent({ model, prompt: 'Weather?', output: Weather });
    expect(result.output).toEqual(PARIS);
    expect(lastUserText(model, 1)).toContain('Call the final_answer tool with your answer');
  });

  it('outputMode tool overrides a model with native support', async () => {
    const model = native([answer(PARIS)]);
    const result = await runAgent({
      model,
      prompt: 'Weather?',
      output: Weather,
      outputMode: 'tool',
    });
    expect(result.output).toEqual(PARIS);
    expect(model.requests[0]?.responseFormat).toBeUndefined();
  });
});

describe('a run that cannot get a valid answer ends without one', () => {
  it('fails with OutputValidationError once maxOutputRetries answers were refused', async () => {
    const model = native([{ text: 'nope' }, { text: '{}' }, { text: '[]' }]);
    const result = await runAgent({
      model,
      prompt: 'Weather?',
      output: Weather,
      maxOutputRetries: 2,
    });
    expect(result.status).toBe('failed');
    expect(result.output).toBeUndefined();
    expect(model.requests).toHaveLength(3);
    const error = result.error as OutputValidationError;
    expect(OutputValidationError.isInstance(error)).toBe(true);
    expect(error.code).toBe('invalid_output');
    expect(error.retryable).toBe(false);
    expect(error.refused).toBe(3);
    expect(error.issues).toMatch(/does not match the schema: .*expected object/);
    expect(error.message).toMatch(/3 answer\(s\) failed validation, more than maxOutputRetries/);
    expect(result.state.error).toEqual({ code: 'invalid_output', message: error.message });
  });

  it('maxOutputRetries 0 fails on the first refused answer (tool mode too)', async () => {
    const model = toolOnly([answer({ city: 1 })]);
    const result = await runAgent({
      model,
      prompt: 'Weather?',
      output: Weather,
      maxOutputRetries: 0,
    });
    expect(result.status).toBe('failed');
    expect((result.error as OutputValidationError).issues).toMatch(
      /Invalid input for tool "final_answer"/,
    );
    expect(model.requests).toHaveLength(1);
  });

  it('retries count as turns: maxTurns ends the run with the last issues', async () => {
    const model = native([
      { text: '{"city":"Paris"}' },
      { text: '{"city":"Paris","celsius":"x"}' },
    ]);
    const result = await runAgent({ model, prompt: 'Weather?', output: Weather, maxTurns: 2 });
    expect(result.status).toBe('max_turns');
    expect(result.output).toBeUndefined();
    const error = result.error as OutputValidationError;
    expect(error.code).toBe('invalid_output');
    expect(error.issues).toMatch(/^the answer does not match the schema: celsius/);
    expect(error.message).toContain(
      'the run ended (max_turns) before the model gave a valid answer',
    );
  });

  it('retries are paid from the budget: a cost budget ends the run while retrying', async () => {
    const model = native([
      { text: 'garbage', usage: { inputTokens: 1000, outputTokens: 1000 } },
      { text: 'more garbage', usage: { inputTokens: 1000, outputTokens: 1000 } },
      { text: JSON.stringify(PARIS) },
    ]);
    const result = await runAgent({
      model,
      prompt: 'Weather?',
      output: Weather,
      maxCostUsd: 0.03,
      prices: scriptedPrice(10, 10),
      minTokensPerCall: 100,
    });
    expect(result.status).toBe('budget_exceeded');
    expect(result.budget).toBe('cost_usd');
    expect(result.output).toBeUndefined();
    expect(result.costUsd).toBeLessThanOrEqual(0.03);
    expect((result.error as OutputValidationError).issues).toMatch(/not valid JSON/);
  });

  it('an abort while correcting ends the run aborted, with no output', async () => {
    const controller = new AbortController();
    const model = native([{ text: 'bad' }, { text: JSON.stringify(PARIS) }]);
    const result = await runAgent({
      model,
      prompt: 'Weather?',
      output: Weather,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'output-rejected') controller.abort();
      },
    });
    expect(result.status).toBe('aborted');
    expect(result.output).toBeUndefined();
    expect(model.requests).toHaveLength(1);
  });
});

describe('checkpoints and resumes', () => {
  it('a run stopped right after its answer turn is checked on resume, without a model call', async () => {
    const store = createMemorySessionStore();
    const controller = new AbortController();
    const recording = recordingStore({
      inner: store,
      afterSave: (count) => {
        if (count === 1) controller.abort(); // after the turn's own checkpoint
      },
    });
    const first = await runAgent({
      model: native([{ text: JSON.stringify(PARIS) }]),
      prompt: 'Weather?',
      output: Weather,
      runId: 'r1',
      checkpoints: recording,
      signal: controller.signal,
    });
    expect(first.status).toBe('aborted');
    expect(first.output).toBeUndefined();
    const model = native([]);
    const second = await runAgent({
      model,
      prompt: 'Weather?',
      output: Weather,
      runId: 'r1',
      checkpoints: store,
    });
    expect(second.status).toBe('completed');
    expect(second.output).toEqual(PARIS);
    expect(model.requests).toHaveLength(0);
  });

  it('refused answers survive a resume (they count toward maxOutputRetries) and load through parseRunState', async () => {
    const store = createMemorySessionStore();
    const controller = new AbortController();
    const first = await runAgent({
      model: toolOnly([answer({ city: 'Paris' })]),
      prompt: 'Weather?',
      output: Weather,
      runId: 'r2',
      checkpoints: store,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'output-rejected') controller.abort();
      },
    });
    expect(first.status).toBe('aborted');
    const saved = await store.load('r2');
    const state = parseRunState(JSON.parse(JSON.stringify(saved?.state)));
    expect(state.output).toMatchObject({ refused: 1, lastError: expect.stringMatching(/celsius/) });
    const model = toolOnly([answer({ city: 'Paris', celsius: 'hot' })]);
    const second = await runAgent({
      model,
      output: Weather,
      runId: 'r2',
      checkpoints: store,
      maxOutputRetries: 1,
    });
    expect(second.status).toBe('failed');
    expect((second.error as OutputValidationError).refused).toBe(2);
  });

  it('a follow-up in the same session asks for a new answer', async () => {
    const store = createMemorySessionStore();
    const model = native([
      { text: JSON.stringify(PARIS) },
      { text: '{"city":"Oslo","celsius":-3}' },
    ]);
    const first = await runAgent({
      model,
      prompt: 'Paris?',
      output: Weather,
      runId: 's',
      checkpoints: store,
    });
    expect(first.output).toEqual(PARIS);
    const second = await runAgent({
      model,
      followUp: 'And Oslo?',
      output: Weather,
      runId: 's',
      checkpoints: store,
    });
    expect(second.status).toBe('completed');
    expect(second.output).toEqual({ city: 'Oslo', celsius: -3 });
    expect(model.requests).toHaveLength(2);
  });

  it('streamAgent resolves with the same typed output', async () => {
    const run = streamAgent({
      model: native([{ text: JSON.stringify(PARIS) }]),
      prompt: 'Weather?',
      output: Weather,
    });
    const types: string[] = [];
    for await (const event of run) types.push(event.type);
    expect((await run.result).output).toEqual(PARIS);
    expect(types.at(-1)).toBe('run-finished');
  });
});

describe('options', () => {
  const model = native([]);
  it.each([
    [{ output: { parse: () => 1 } }, /output must be a schema/],
    [
      { output: z3.object({ a: z3.string() }) },
      /cannot derive a JSON Schema from a zod schema; use a zod 4 schema/,
    ],
    [
      { output: z.array(z.string()) },
      /output must be an object schema .* got JSON Schema type "array"/,
    ],
    [
      { output: Weather, outputMode: 'json' },
      /outputMode must be 'auto', 'native' or 'tool', got "json"/,
    ],
    [
      { output: Weather, maxOutputRetries: -1 },
      /maxOutputRetries must be a non-negative integer, got -1/,
    ],
  ])('refuses %o', async (extra, message) => {
    const error = await rejectionOf(() => runAgent({ model, prompt: 'x', ...(extra as object) }));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses native mode on a model without a response format', async () => {
    const error = await rejectionOf(() =>
      runAgent({ model: toolOnly([]), prompt: 'x', output: Weather, outputMode: 'native' }),
    );
    expect((error as Error).message).toMatch(/outputMode is 'native' but model "scripted"/);
  });

  it('refuses a tool named final_answer next to an output schema', async () => {
    const tool = defineTool({
      name: 'final_answer',
      description: 'd',
      input: z.object({}),
      execute: () => '',
    });
    const error = await rejectionOf(() =>
      runAgent({ model, prompt: 'x', output: Weather, tools: [tool] }),
    );
    expect((error as Error).message).toMatch(/tools: a tool is named "final_answer"/);
  });
});
