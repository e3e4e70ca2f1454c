// Promise 6: secrets (API keys, configured patterns) never appear in events, logs or error messages.
import { inspect } from 'node:util';
import {
  type AgentEvent,
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createRedactor,
  createWorker,
  defineTask,
  defineTool,
  type EventLog,
  handleTask,
  type RunState,
  runAgent,
  type SessionStore,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const KEY = 'sk-ant-api03-THISISAFAKEKEYFORTESTS-1234567890abcdef';
const TOKEN = 'tok_live_7f3a9c2e';
let saved: string | undefined;
beforeEach(() => {
  saved = process.env.ANTHROPIC_API_KEY;
  process.env.ANTHROPIC_API_KEY = KEY;
});
afterEach(() => {
  if (saved === undefined) delete process.env.ANTHROPIC_API_KEY;
  else process.env.ANTHROPIC_API_KEY = saved;
});

const leaks = (value: unknown) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return [KEY, TOKEN, KEY.slice(8, 30)].filter((secret) => text.includes(secret));
};

describe('createRedactor', () => {
  it('hides literals, built-in key formats and custom patterns, longest literal first', () => {
    const redact = createRedactor({
      secrets: ['abcdefgh', 'abcdefgh-longer'],
      patterns: [/acct_[0-9]+/],
      defaults: true,
    });
    expect(redact.string('a abcdefgh-longer b abcdefgh c acct_123 d')).toBe(
      'a [REDACTED] b [REDACTED] c [REDACTED] d',
    );
    expect(redact.string(`Authorization: Bearer ${TOKEN}xyz`)).toBe(
      'Authorization: Bearer [REDACTED]',
    );
    expect(redact.string('AKIAABCDEFGHIJKLMNOP and sk-proj-abcdefghijklmnopqrstu')).toBe(
      '[REDACTED] and [REDACTED]',
    );
    expect(redact.string(`env key ${KEY}`)).toBe('env key [REDACTED]');
  });

  it('copies only what changes and never mutates its input', () => {
    const redact = createRedactor({ secrets: [TOKEN] });
    const input = { a: { b: [`x ${TOKEN}`, 1] }, c: 'clean', d: { e: 'clean' } };
    const out = redact.value(input);
    expect(out).toEqual({ a: { b: ['x [REDACTED]', 1] }, c: 'clean', d: { e: 'clean' } });
    expect(input.a.b[0]).toBe(`x ${TOKEN}`);
    expect(out.d).toBe(input.d);
  });

  it('ignores secrets shorter than 8 characters (they would match ordinary text)', () => {
    expect(createRedactor({ secrets: ['abc'], defaults: false }).string('abc abc')).toBe('abc abc');
  });
});

describe('the agent loop', () => {
  it('hides secrets in events and error messages, from tools and from the model', async () => {
    const leak = defineTool({
      name: 'leak',
      description: 'fails with a credential in its message',
      input: z.object({}),
      execute: () => {
        throw new Error(`upstream refused key ${KEY} and token ${TOKEN}`);
      },
    });
    const model = new ScriptedModel({
      turns: [
        { toolCalls: [{ name: 'leak', input: {} }] },
        { error: { kind: 'rate_limit', message: `429 for key ${KEY}`, retryAfterMs: 1 } },
        { error: { kind: 'auth', message: `401: invalid x-api-key ${KEY}`, status: 401 } },
      ],
    });
    const events: AgentEvent[] = [];
    const result = await runAgent({
      model,
      prompt: 'go',
      tools: [leak],
      redact: { secrets: [TOKEN] },
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe('failed');
    expect(events.some((event) => event.type === 'tool-call-failed')).toBe(true);
    expect(events.some((event) => event.type === 'model-retry')).toBe(true);
    expect(leaks(events)).toEqual([]);
    expect(leaks(result.error?.message)).toEqual([]);
    expect(leaks(result.error?.stack)).toEqual([]);
    expect(leaks(result.state.error)).toEqual([]);
    expect(result.error?.message).toContain('[REDACTED]');
  });

  it('redact: false turns it off (the secret shows, proving the check above can fail)', async () => {
    const model = new ScriptedModel({
      turns: [{ error: { kind: 'auth', message: `bad key ${KEY}` } }],
    });
    const result = await runAgent({ model, prompt: 'go', redact: false });
    expect(leaks(result.error?.message)).toEqual([KEY, KEY.slice(8, 30)]);
  });
});

describe('the worker', () => {
  it('hides secrets in failure reasons, dead letters, task events and logged errors', async () => {
    const queue = createMemoryQueue();
    const runs = createMemoryRunStore();
    const events = createMemoryEventLog();
    const task = defineTask({
      type: 'leaky',
      payload: z.object({ poison: z.boolean() }),
      maxAttempts: 1,
    });
    const logged: unknown[] = [];
    const worker = createWorker({
      queue,
      runs,
      events,
      redact: { secrets: [TOKEN] },
      onError: (error) => logged.push(error),
      handlers: [
        handleTask(task, async (_payload, context) => {
          context.emit({ type: 'progress', note: `using ${TOKEN}` });
          throw new Error(`charge failed for ${KEY}`);
        }),
      ],
    });
    const dispatcher = createDispatcher({ queue, runs });
    const { runId } = await dispatcher.dispatch(task, { poison: false });
    // A malformed message whose reason quotes the secret-bearing payload.
    await queue.enqueue(
      task.queue,
      JSON.stringify({ v: 1, type: 'leaky', runId: 'r2', attempt: 1, payload: { poison: TOKEN } }),
    );
    await runs.create({
      runId: 'r2',
      taskType: 'leaky',
      status: 'queued',
      attempt: 0,
      maxAttempts: 1,
      version: 1,
      payload: {},
      queuedAt: 0,
      updatedAt: 0,
    });
    expect(await worker.runOnce({ waitMs: 10 })).toBe('failed');
    expect(await worker.runOnce({ waitMs: 10 })).toBe('dead_lettered');

    const record = await runs.get(runId);
    expect(record?.error?.message).toContain('[REDACTED]');
    expect(leaks(record)).toEqual([]);
    expect(leaks(await runs.get('r2'))).toEqual([]);
    // The dead letter keeps the body as sent (it is data to reprocess); its reason is a message.
    const [dead] = await queue.deadLetters(task.queue);
    expect(dead?.body).toContain(TOKEN);
    expect(dead?.reason).toMatch(/payload of task "leaky" is invalid/);
    expect(leaks(dead?.reason)).toEqual([]);
    expect(leaks(await events.read(runId))).toEqual([]);
    expect(leaks(logged.map(String))).toEqual([]);
  });
});

/** Everything a log line or a store could show of a value. */
const rendered = (value: unknown) => {
  const text = inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true });
  let json: string;
  try {
    json = JSON.stringify(value) ?? '';
  } catch (error) {
    json = String(error);
  }
  return `${text}\n${json}`;
};

// Each of these leaked before the redactor walked more than arrays, plain objects and an error's
// message and stack (the hostile-input issue); each fails on that code.
describe('hostile input (regressions)', () => {
  class ApiClient {
    constructor(readonly apiKey: string) {}
  }
  const emitted: Array<[string, () => unknown]> = [
    ['a class instance', () => ({ client: new ApiClient(KEY) })],
    [
      'a null-prototype object',
      () => ({ bare: Object.assign(Object.create(null), { token: TOKEN }) }),
    ],
    ['a URL (userinfo)', () => ({ endpoint: new URL(`https://bot:${KEY}@api.example.com/v1`) })],
    ['a URL (query)', () => ({ endpoint: new URL(`https://api.example.com/v1?token=${TOKEN}`) })],
    ['a property name', () => ({ seen: { [`${TOKEN}`]: 'first use' } })],
  ];

  it.each(emitted)(
    'a worker emit hides a secret in %s, in the event log and in what a store writes',
    async (_, data) => {
      const queue = createMemoryQueue();
      const runs = createMemoryRunStore();
      const memory = createMemoryEventLog();
      const written: string[] = [];
      // What a Redis or Postgres event log stores: the event as JSON, at append time.
      const events: EventLog = {
        specificationVersion: memory.specificationVersion,
        append: (runId, event) => {
          written.push(JSON.stringify(event));
          return memory.append(runId, event);
        },
        read: (runId, options) => memory.read(runId, options),
        follow: (runId, options) => memory.follow(runId, options),
      };
      const task = defineTask({ type: 'emits', payload: z.object({}) });
      const worker = createWorker({
        queue,
        runs,
        events,
        redact: { secrets: [TOKEN] },
        handlers: [
          handleTask(task, async (_payload, context) => {
            context.emit({ type: 'progress', ...(data() as object) });
          }),
        ],
      });
      const { runId } = await createDispatcher({ queue, runs }).dispatch(task, {});
      expect(await worker.runOnce({ waitMs: 10 })).toBe('completed');
      expect(written.length).toBeGreaterThan(0);
      expect(leaks(written.join('\n'))).toEqual([]);
      expect(leaks(rendered(await events.read(runId)))).toEqual([]);
    },
  );

  const logged: Array<[string, () => Error]> = [
    [
      'its cause chain',
      () => new Error('append failed', { cause: new Error(`auth rejected ${KEY}`) }),
    ],
    [
      "its own properties (an HTTP client error's config.headers)",
      () =>
        Object.assign(new Error('append failed'), { config: { headers: { 'x-api-key': TOKEN } } }),
    ],
    [
      'AggregateError.errors',
      () => new AggregateError([new Error(`refused ${KEY}`)], 'append failed'),
    ],
  ];

  it.each(logged)('a logged error hides a secret in %s', async (_, failure) => {
    const queue = createMemoryQueue();
    const runs = createMemoryRunStore();
    const memory = createMemoryEventLog();
    const events: EventLog = { ...memory, append: async () => Promise.reject(failure()) };
    const task = defineTask({ type: 'logs', payload: z.object({}) });
    const errors: unknown[] = [];
    const worker = createWorker({
      queue,
      runs,
      events,
      redact: { secrets: [TOKEN] },
      onError: (error) => errors.push(error),
      handlers: [handleTask(task, async (_payload, context) => context.emit({ type: 'progress' }))],
    });
    await createDispatcher({ queue, runs }).dispatch(task, {});
    await worker.runOnce({ waitMs: 10 });
    // The emit's append and the final task event's append both failed, and both were logged.
    expect(errors).toHaveLength(2);
    expect(rendered(errors)).toContain('append failed');
    expect(leaks(rendered(errors))).toEqual([]);
  });

  it('an error from the final checkpoint reaches result.error and state.error redacted', async () => {
    const checkpoints: SessionStore = {
      specificationVersion: 'loopwork.session-store.v1',
      load: async () => undefined,
      save: async (_key, state: RunState) => {
        if (state.status !== 'running')
          throw new Error(`save refused for token ${TOKEN}`, { cause: { apiKey: KEY } });
        return 1;
      },
      delete: async () => {},
    };
    const result = await runAgent({
      model: new ScriptedModel({ turns: [{ text: 'done' }] }),
      prompt: 'go',
      checkpoints,
      redact: { secrets: [TOKEN] },
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toBe('save refused for token [REDACTED]');
    expect(result.state.error).toEqual({
      code: 'error',
      message: 'save refused for token [REDACTED]',
    });
    expect(leaks(rendered(result.error))).toEqual([]);
  });

  it('an error loading the checkpoint rejects runAgent redacted', async () => {
    const checkpoints: SessionStore = {
      specificationVersion: 'loopwork.session-store.v1',
      load: async () => {
        throw new Error(`connect to redis://:${TOKEN}@cache:6379 failed`);
      },
      save: async () => 1,
      delete: async () => {},
    };
    const failure = await runAgent({
      model: new ScriptedModel({ turns: [{ text: 'done' }] }),
      prompt: 'go',
      checkpoints,
      redact: { secrets: [TOKEN] },
    }).catch((error: unknown) => error);
    expect(String(failure)).toContain('redis://:[REDACTED]@cache');
    expect(leaks(rendered(failure))).toEqual([]);
  });
});
