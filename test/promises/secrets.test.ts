// Promise 6: secrets (API keys, configured patterns) never appear in events, logs or error messages.
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
  handleTask,
  runAgent,
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
