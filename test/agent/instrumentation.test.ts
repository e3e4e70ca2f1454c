import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentTask,
  createDispatcher,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
  type Instrumentation,
  InvalidOptionError,
  type ModelCallInfo,
  runAgent,
} from 'loopwork';
import { parseEnvelope } from 'loopwork/adapter-kit';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rejectionOf } from '../helpers/rejection';

const model = () => new ScriptedModel({ turns: [{ text: 'hi' }] });

describe('the instrumentation option', () => {
  it('is refused, naming the option, when it is not an Instrumentation', async () => {
    const runError = await rejectionOf(() =>
      runAgent({ model: model(), prompt: 'x', instrumentation: {} as Instrumentation }),
    );
    expect(InvalidOptionError.isInstance(runError)).toBe(true);
    expect(runError.message).toMatch(/^instrumentation must be an Instrumentation/);
    const queue = createMemoryQueue();
    const runs = createMemoryRunStore();
    const bad = { specificationVersion: 'loopwork.instrumentation.v1', attempt: 5 };
    expect(() =>
      createWorker({
        queue,
        runs,
        handlers: [
          agentTask({ checkpoints: createMemorySessionStore(), agent: { model: model() } }).handler,
        ],
        instrumentation: bad as unknown as Instrumentation,
      }),
    ).toThrow('instrumentation.attempt must be a function, got number');
    expect(() =>
      createDispatcher({ queue, runs, instrumentation: 'otel' as unknown as Instrumentation }),
    ).toThrow(/^instrumentation must be an Instrumentation .* got string$/);
  });

  it('calls only the members it has, each around the work it names', async () => {
    const calls: ModelCallInfo[] = [];
    const instrumentation: Instrumentation = {
      specificationVersion: 'loopwork.instrumentation.v1',
      async modelCall(info, execute) {
        calls.push(info);
        return execute();
      },
    };
    const echo = defineTool({
      name: 'echo',
      description: 'Echoes',
      input: z.object({ text: z.string() }),
      execute: async ({ text }) => text,
    });
    const result = await runAgent({
      model: new ScriptedModel({
        turns: [{ toolCalls: [{ name: 'echo', input: { text: 'a' } }] }, { text: 'done' }],
      }),
      tools: [echo],
      prompt: 'x',
      runId: 'r1',
      instrumentation,
    });
    expect(result.status).toBe('completed');
    expect(
      calls.map(({ runId, turn, attempt, provider }) => ({ runId, turn, attempt, provider })),
    ).toEqual([
      { runId: 'r1', turn: 1, attempt: 1, provider: 'scripted' },
      { runId: 'r1', turn: 2, attempt: 1, provider: 'scripted' },
    ]);
  });

  it('a toolCall wrapper that never runs the call fails the run, saying so', async () => {
    const result = await runAgent({
      model: new ScriptedModel({ turns: [{ toolCalls: [{ name: 'echo', input: {} }] }] }),
      tools: [
        defineTool({
          name: 'echo',
          description: 'e',
          input: z.object({}),
          execute: async () => 'x',
        }),
      ],
      prompt: 'x',
      instrumentation: {
        specificationVersion: 'loopwork.instrumentation.v1',
        toolCall: async () => ({ kind: 'output' }),
      },
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain(
      'instrumentation.toolCall resolved without running tool call',
    );
  });

  it('without one, the dispatcher writes no trace context into the message', async () => {
    const queue = createMemoryQueue();
    const bodies: string[] = [];
    const recording = {
      ...queue,
      enqueue: (name: string, body: string, options?: Parameters<typeof queue.enqueue>[2]) => {
        bodies.push(body);
        return queue.enqueue(name, body, options);
      },
    };
    const task = agentTask({
      checkpoints: createMemorySessionStore(),
      agent: { model: model() },
    }).task;
    await createDispatcher({ queue: recording, runs: createMemoryRunStore() }).dispatch(task, {
      prompt: 'x',
    });
    expect(Object.keys(JSON.parse(bodies[0] as string))).toEqual([
      'v',
      'type',
      'runId',
      'payload',
      'dispatchedAt',
    ]);
  });

  it('the core imports no OpenTelemetry package (loopwork/otel alone does)', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
      );
    const offenders = files('src').filter((file) =>
      /from ['"]@opentelemetry|import\(['"]@opentelemetry/.test(readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});

describe('trace context in the task envelope', () => {
  const body = (extra: Record<string, unknown>) =>
    JSON.stringify({ v: 2, type: 't', runId: 'r', payload: {}, dispatchedAt: 1, ...extra });
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('is kept when it is a small object of strings', () => {
    expect(parseEnvelope(body({ trace: { traceparent, tracestate: 'k=v' } })).trace).toEqual({
      traceparent,
      tracestate: 'k=v',
    });
  });

  it('old envelopes without it still parse, with no trace', () => {
    const old = parseEnvelope(
      JSON.stringify({ v: 1, type: 't', runId: 'r', attempt: 2, payload: 1 }),
    );
    expect(old).toEqual({ v: 2, type: 't', runId: 'r', payload: 1, dispatchedAt: 0 });
    expect('trace' in parseEnvelope(body({}))).toBe(false);
  });

  it.each([
    ['a string', traceparent],
    ['an array', [traceparent]],
    ['null', null],
    ['an empty object', {}],
    ['a non-string value', { traceparent: 1 }],
    ['a nested object', { traceparent: { a: 'b' } }],
    ['too many entries', Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v']))],
    ['an oversized value', { traceparent: 'x'.repeat(2000) }],
  ])('a malformed one (%s) is dropped, and the message still parses', (_name, trace) => {
    const parsed = parseEnvelope(body({ trace }));
    expect(parsed.runId).toBe('r');
    expect('trace' in parsed).toBe(false);
  });
});
