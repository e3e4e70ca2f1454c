import {
  defineTool,
  InvalidOptionError,
  runAgent,
  type StandardSchemaV1,
  type ToolContext,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { z as z3 } from 'zod/v3';
import { deferred, eventLog, forever, lastToolResults, rejectionOf } from './helpers';

const noop = () => 'ok';

describe('tool specs sent to the model', () => {
  it('a zod 4 schema becomes an input JSON Schema without $schema', async () => {
    const weather = defineTool({
      name: 'get_weather',
      description: 'Current weather for a city',
      input: z.object({
        city: z.string().describe('City name'),
        days: z.number().int().min(1).optional(),
        unit: z.enum(['c', 'f']).default('c'),
      }),
      execute: noop,
    });
    const model = new ScriptedModel({ turns: [{ text: 'hi' }] });
    await runAgent({ model, prompt: 'hi', tools: [weather] });
    expect(model.requests[0]?.tools).toEqual([
      {
        name: 'get_weather',
        description: 'Current weather for a city',
        inputSchema: {
          type: 'object',
          properties: {
            city: { type: 'string', description: 'City name' },
            days: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            // io: 'input': a field with a default is optional for the model.
            unit: { type: 'string', enum: ['c', 'f'], default: 'c' },
          },
          required: ['city'],
        },
      },
    ]);
  });

  it('a zod 3 schema goes through zod-to-json-schema and keeps its properties', async () => {
    const search = defineTool({
      name: 'search',
      description: 'Searches',
      input: z3.object({
        query: z3.string().describe('What to look for'),
        limit: z3.number().int().optional(),
      }),
      execute: ({ query }) => `results for ${query}`,
    });
    const model = new ScriptedModel({
      turns: [{ toolCalls: [{ name: 'search', input: { query: 'cats' } }] }, { text: 'done' }],
    });
    const result = await runAgent({ model, prompt: 'find cats', tools: [search] });
    const schema = model.requests[0]?.tools?.[0]?.inputSchema;
    expect(schema).not.toHaveProperty('$schema');
    expect(schema).toEqual({
      type: 'object',
      properties: {
        query: { type: 'string', description: 'What to look for' },
        limit: { type: 'integer' },
      },
      required: ['query'],
      additionalProperties: false,
    });
    // The zod 3 schema also validates the input.
    expect(lastToolResults(result.messages)[0]?.output).toBe('results for cats');
  });

  it('an explicit jsonSchema is sent as given', async () => {
    const jsonSchema = { type: 'object', properties: { x: { type: 'number' } } };
    const tool = defineTool({
      name: 'raw',
      description: 'd',
      input: z.object({ x: z.number() }),
      jsonSchema,
      execute: noop,
    });
    const model = new ScriptedModel({ turns: [{ text: 'hi' }] });
    await runAgent({ model, prompt: 'hi', tools: [tool] });
    expect(model.requests[0]?.tools?.[0]?.inputSchema).toEqual(jsonSchema);
  });

  it('no tools: the request has no tools field', async () => {
    const model = new ScriptedModel({ turns: [{ text: 'hi' }] });
    await runAgent({ model, prompt: 'hi' });
    expect(model.requests[0]).not.toHaveProperty('tools');
  });
});

describe('tool definitions that cannot work are refused before any model call', () => {
  const attempt = async (tools: Parameters<typeof runAgent>[0]['tools']) => {
    const model = new ScriptedModel({ turns: [{ text: 'hi' }] });
    const error = await rejectionOf(() => runAgent({ model, prompt: 'hi', tools }));
    expect(model.requests).toHaveLength(0);
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    return error.message;
  };

  it('a non-object schema', async () => {
    const message = await attempt([
      defineTool({ name: 'str', description: 'd', input: z.string(), execute: noop }),
    ]);
    expect(message).toBe(
      'tools: tool "str" input must be an object schema (z.object({...})), got JSON Schema type "string"',
    );
    const zod3 = await attempt([
      defineTool({ name: 'arr', description: 'd', input: z3.array(z3.string()), execute: noop }),
    ]);
    expect(zod3).toContain('tool "arr" input must be an object schema');
    expect(zod3).toContain('"array"');
  });

  it('duplicate names', async () => {
    const tool = defineTool({ name: 'twin', description: 'd', input: z.object({}), execute: noop });
    expect(await attempt([tool, { ...tool }])).toBe(
      'tools: two tools are named "twin"; tool names must be unique',
    );
  });

  it('invalid names', async () => {
    for (const name of ['', 'has space', 'dot.name', 'x'.repeat(65)]) {
      const message = await attempt([
        defineTool({ name, description: 'd', input: z.object({}), execute: noop }),
      ]);
      expect(message).toBe(
        `tools: name ${JSON.stringify(name)} is invalid; use 1-64 letters, digits, "_" or "-"`,
      );
    }
    // The longest valid name, with every allowed kind of character, is accepted.
    const longest = defineTool({
      name: `A-z_9${'x'.repeat(59)}`,
      description: 'd',
      input: z.object({}),
      execute: noop,
    });
    const model = new ScriptedModel({ turns: [{ text: 'hi' }] });
    expect((await runAgent({ model, prompt: 'hi', tools: [longest] })).status).toBe('completed');
    expect(model.requests[0]?.tools?.[0]?.name).toHaveLength(64);
  });

  it('a schema that is not a zod schema and has no jsonSchema', async () => {
    const custom: StandardSchemaV1<{ a: number }> = {
      '~standard': {
        version: 1,
        vendor: 'custom',
        validate: (value) => ({ value: value as { a: number } }),
      },
    };
    const message = await attempt([
      defineTool({ name: 'custom', description: 'd', input: custom, execute: noop }),
    ]);
    expect(message).toBe(
      'tool "custom": cannot derive a JSON Schema from a custom schema; pass jsonSchema',
    );
  });

  it('a tool without execute or schema', async () => {
    expect(await attempt([{ name: 'x', description: 'd', input: z.object({}) } as never])).toBe(
      'tools: tool "x" has no execute function',
    );
    expect(await attempt([{ name: 'y', description: 'd', execute: noop } as never])).toContain(
      'tool "y" needs an input schema',
    );
  });
});

describe('tool failures go back to the model as error results', () => {
  const add = defineTool({
    name: 'add',
    description: 'Adds two numbers',
    input: z.object({ a: z.number(), b: z.number() }),
    execute: ({ a, b }) => a + b,
  });

  async function callOnce(
    tool: Parameters<typeof runAgent>[0]['tools'],
    call: { name: string; input: unknown },
    extra = {},
  ) {
    const model = new ScriptedModel({
      turns: [{ toolCalls: [{ ...call, id: 'c1' }] }, { text: 'ok' }],
    });
    const log = eventLog();
    const result = await runAgent({
      model,
      prompt: 'go',
      tools: tool,
      onEvent: log.onEvent,
      ...extra,
    });
    expect(result.status).toBe('completed');
    const [toolResult] = lastToolResults(model.requests[1]?.messages ?? []);
    return { toolResult, log, result };
  }

  it('unknown tool: names the tools that exist', async () => {
    const { toolResult, log } = await callOnce([add], { name: 'multiply', input: { a: 1 } });
    expect(toolResult).toEqual({
      type: 'tool-result',
      toolCallId: 'c1',
      toolName: 'multiply',
      output: 'Unknown tool "multiply". Available tools: add.',
      isError: true,
    });
    expect(log.ofType('tool-call-failed')).toMatchObject([
      { toolCallId: 'c1', reason: 'unknown_tool', message: toolResult?.output },
    ]);
  });

  it('invalid input: names each bad field, and the tool does not run', async () => {
    let ran = false;
    const strict = defineTool({
      name: 'add',
      description: 'Adds',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: () => {
        ran = true;
      },
    });
    const { toolResult, log } = await callOnce([strict], { name: 'add', input: { a: 'two' } });
    expect(ran).toBe(false);
    expect(toolResult?.isError).toBe(true);
    expect(toolResult?.output).toMatch(
      /^Invalid input for tool "add": a: .*string.*; b: .*\. Fix the input and call the tool again\.$/,
    );
    expect(log.ofType('tool-call-failed')[0]?.reason).toBe('invalid_input');
  });

  it('a thrown error: its message, for Errors and other values', async () => {
    const boom = defineTool({
      name: 'boom',
      description: 'fails',
      input: z.object({ how: z.string() }),
      execute: ({ how }) => {
        if (how === 'error') throw new Error('disk full');
        throw how;
      },
    });
    const first = await callOnce([boom], { name: 'boom', input: { how: 'error' } });
    expect(first.toolResult).toMatchObject({
      isError: true,
      output: 'Tool "boom" failed: disk full',
    });
    expect(first.log.ofType('tool-call-failed')[0]?.reason).toBe('threw');
    const second = await callOnce([boom], { name: 'boom', input: { how: 'plain string' } });
    expect(second.toolResult?.output).toBe('Tool "boom" failed: plain string');
  });

  it('a per-tool timeout (tool.timeoutMs) aborts the tool’s signal', async () => {
    let signal: AbortSignal | undefined;
    const slow = defineTool({
      name: 'slow',
      description: 'slow',
      input: z.object({}),
      timeoutMs: 10,
      execute: (_input, context) => {
        signal = context.signal;
        return new Promise((_, reject) =>
          context.signal.addEventListener('abort', () => reject(context.signal.reason)),
        );
      },
    });
    // The tool's own timeout wins over the agent's default.
    const { toolResult, log } = await callOnce(
      [slow],
      { name: 'slow', input: {} },
      { toolTimeoutMs: 60_000 },
    );
    expect(toolResult).toMatchObject({
      isError: true,
      output: 'Tool "slow" timed out after 10 ms and was stopped.',
    });
    expect(log.ofType('tool-call-failed')[0]?.reason).toBe('timeout');
    expect(signal?.aborted).toBe(true);
  });

  it('the agent-wide toolTimeoutMs applies to tools without their own, even tools that ignore the signal', async () => {
    const hang = defineTool({
      name: 'hang',
      description: 'hangs',
      input: z.object({}),
      execute: forever,
    });
    const { toolResult, log } = await callOnce(
      [hang],
      { name: 'hang', input: {} },
      { toolTimeoutMs: 10 },
    );
    expect(toolResult).toMatchObject({
      isError: true,
      output: 'Tool "hang" timed out after 10 ms and was stopped.',
    });
    expect(log.ofType('tool-call-failed')[0]?.reason).toBe('timeout');
  });
});

describe('tool outputs', () => {
  it('strings are sent as is; anything else as JSON', async () => {
    const outputs: unknown[] = ['plain', { a: 1, b: [2, 'three'] }, 42, null, undefined, true];
    const tool = defineTool({
      name: 'value',
      description: 'returns a value',
      input: z.object({ i: z.number() }),
      execute: async ({ i }) => outputs[i],
    });
    const model = new ScriptedModel({
      turns: [
        { toolCalls: outputs.map((_, i) => ({ name: 'value', input: { i } })) },
        { text: 'ok' },
      ],
    });
    const result = await runAgent({ model, prompt: 'go', tools: [tool] });
    expect(lastToolResults(result.messages).map((r) => r.output)).toEqual([
      'plain',
      '{"a":1,"b":[2,"three"]}',
      '42',
      'null',
      'null',
      'true',
    ]);
    expect(lastToolResults(result.messages).every((r) => !r.isError)).toBe(true);
  });
});

describe('parallel tool calls', () => {
  async function measure(calls: number, toolConcurrency?: number) {
    let inFlight = 0;
    let maxInFlight = 0;
    const work = defineTool({
      name: 'work',
      description: 'works a bit',
      input: z.object({ n: z.number() }),
      execute: async ({ n }) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // Yield several times so other calls get the chance to start.
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return `done ${n}`;
      },
    });
    const model = new ScriptedModel({
      turns: [
        { toolCalls: Array.from({ length: calls }, (_, n) => ({ name: 'work', input: { n } })) },
        { text: 'ok' },
      ],
    });
    const result = await runAgent({
      model,
      prompt: 'go',
      tools: [work],
      ...(toolConcurrency ? { toolConcurrency } : {}),
    });
    return { maxInFlight, result };
  }

  it('never runs more than toolConcurrency at once, and uses all of it', async () => {
    expect((await measure(7, 2)).maxInFlight).toBe(2);
    expect((await measure(7, 1)).maxInFlight).toBe(1);
    expect((await measure(7)).maxInFlight).toBe(4); // AGENT_DEFAULTS.toolConcurrency
    expect((await measure(3, 8)).maxInFlight).toBe(3);
  });

  it('appends results in call order, whatever order they finish in', async () => {
    const gates = [deferred(), deferred(), deferred(), deferred()];
    let started = 0;
    const all = deferred();
    const finished: number[] = [];
    const gated = defineTool({
      name: 'gated',
      description: 'waits for its gate',
      input: z.object({ n: z.number() }),
      execute: async ({ n }) => {
        if (++started === gates.length) all.resolve();
        await gates[n]?.promise;
        finished.push(n);
        return `result ${n}`;
      },
    });
    void all.promise.then(async () => {
      // Open the gates last to first, one at a time.
      for (const n of [3, 1, 2, 0]) {
        gates[n]?.resolve();
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    const model = new ScriptedModel({
      turns: [
        { toolCalls: [0, 1, 2, 3].map((n) => ({ name: 'gated', input: { n }, id: `id${n}` })) },
        { text: 'ok' },
      ],
    });
    const result = await runAgent({ model, prompt: 'go', tools: [gated] });
    expect(finished).toEqual([3, 1, 2, 0]);
    expect(lastToolResults(result.messages).map((r) => [r.toolCallId, r.output])).toEqual([
      ['id0', 'result 0'],
      ['id1', 'result 1'],
      ['id2', 'result 2'],
      ['id3', 'result 3'],
    ]);
  });

  it('every tool call gets an AbortSignal and the idempotency key <runId>:<toolCallId>', async () => {
    const contexts: ToolContext[] = [];
    const spy = defineTool({
      name: 'spy',
      description: 'records its context',
      input: z.object({}),
      execute: (_input, context) => {
        contexts.push(context);
        return 'ok';
      },
    });
    const model = new ScriptedModel({
      turns: [
        {
          toolCalls: [
            { name: 'spy', input: {} },
            { name: 'spy', input: {}, id: 'custom-id' },
          ],
        },
        { toolCalls: [{ name: 'spy', input: {} }] },
        { text: 'ok' },
      ],
    });
    await runAgent({ model, prompt: 'go', tools: [spy], runId: 'run-42' });
    expect(contexts.map((c) => [c.runId, c.toolCallId, c.idempotencyKey, c.turn])).toEqual([
      ['run-42', 'call_1_0', 'run-42:call_1_0', 1],
      ['run-42', 'custom-id', 'run-42:custom-id', 1],
      ['run-42', 'call_2_0', 'run-42:call_2_0', 2],
    ]);
    for (const context of contexts) {
      expect(context.signal).toBeInstanceOf(AbortSignal);
      expect(context.signal.aborted).toBe(false);
    }
  });
});
