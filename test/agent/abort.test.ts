import {
  createMemorySessionStore,
  defineTool,
  runAgent,
  type SessionStore,
  streamAgent,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deferred, eventLog, forever } from './helpers';

describe('abort', () => {
  it('before the start: no model call, the run still starts and finishes with events and a checkpoint', async () => {
    const store = createMemorySessionStore();
    const model = new ScriptedModel({ turns: [{ text: 'never' }] });
    const log = eventLog();
    const result = await runAgent({
      model,
      prompt: 'hi',
      signal: AbortSignal.abort(),
      checkpoints: store,
      runId: 'a0',
      onEvent: log.onEvent,
    });
    expect(result.status).toBe('aborted');
    expect(model.requests).toHaveLength(0);
    expect(log.types()).toEqual(['run-started', 'run-finished']);
    expect(log.ofType('run-finished')[0]?.status).toBe('aborted');
    expect((await store.load('a0'))?.state).toMatchObject({
      status: 'aborted',
      messages: [{ role: 'user', content: 'hi' }],
    });
  });

  it('mid model call (streaming and not): the call’s own signal is aborted', async () => {
    for (const streaming of [true, false]) {
      const controller = new AbortController();
      let callSignal: AbortSignal | undefined;
      const model = new ScriptedModel({ streaming, turns: [{ text: 'never', delayMs: 60_000 }] });
      const original = streaming ? model.stream?.bind(model) : model.generate.bind(model);
      const spy = (request: never, options: { signal: AbortSignal }) => {
        callSignal = options.signal;
        setTimeout(() => controller.abort(), 1);
        return (original as (r: never, o: unknown) => never)(request, options);
      };
      if (streaming) model.stream = spy;
      else model.generate = spy;
      const result = await runAgent({ model, prompt: 'hi', signal: controller.signal });
      expect(result.status).toBe('aborted');
      expect(callSignal?.aborted).toBe(true);
      expect(result.turns).toHaveLength(0);
    }
  });

  it('mid tool: the tool’s signal aborts; a tool that ignores it does not hold the run', async () => {
    const controller = new AbortController();
    const started = deferred();
    const signals: AbortSignal[] = [];
    const hang = defineTool({
      name: 'hang',
      description: 'ignores its signal',
      input: z.object({}),
      execute: (_input, { signal }) => {
        signals.push(signal);
        started.resolve();
        return forever();
      },
    });
    const model = new ScriptedModel({
      turns: [{ toolCalls: [{ name: 'hang', input: {} }] }, { text: 'never' }],
    });
    void started.promise.then(() => controller.abort(new Error('user pressed stop')));
    const result = await runAgent({
      model,
      prompt: 'hi',
      tools: [hang],
      signal: controller.signal,
    });
    expect(result.status).toBe('aborted');
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(result.error).toBeUndefined();
    expect(model.requests).toHaveLength(1);
  });

  it('a tool that aborts the run from its synchronous part stops it, whether it then answers or hangs', async () => {
    for (const then of ['answers', 'hangs'] as const) {
      const controller = new AbortController();
      const signals: AbortSignal[] = [];
      const seen: boolean[] = [];
      const stopper = defineTool({
        name: 'stopper',
        description: 'aborts the run before it returns',
        input: z.object({}),
        execute: (_input, context) => {
          controller.abort(new Error('stopped from inside a tool'));
          // Its signal, first read after the run's abort, already says so.
          seen.push(context.signal.aborted);
          signals.push(context.signal);
          return then === 'answers' ? 'done' : forever();
        },
      });
      const model = new ScriptedModel({
        turns: [{ toolCalls: [{ name: 'stopper', input: {} }] }, { text: 'never' }],
      });
      const result = await runAgent({
        model,
        prompt: 'hi',
        tools: [stopper],
        signal: controller.signal,
      });
      expect(result.status, then).toBe('aborted');
      expect(model.requests, then).toHaveLength(1);
      expect(seen, then).toEqual([true]);
      expect(signals[0]?.aborted, then).toBe(true);
    }
  });

  it('a tool that read its signal sees the run’s abort while its synchronous part still runs', async () => {
    const controller = new AbortController();
    const seen: boolean[] = [];
    const tool = defineTool({
      name: 'watcher',
      description: 'reads its signal, then aborts the run, then looks again',
      input: z.object({}),
      execute: (_input, { signal }) => {
        seen.push(signal.aborted);
        controller.abort(new Error('stop'));
        seen.push(signal.aborted);
        return 'done';
      },
    });
    const model = new ScriptedModel({
      turns: [{ toolCalls: [{ name: 'watcher', input: {} }] }, { text: 'never' }],
    });
    const result = await runAgent({
      model,
      prompt: 'hi',
      tools: [tool],
      signal: controller.signal,
    });
    expect(result.status).toBe('aborted');
    expect(seen).toEqual([false, true]);
  });

  it('a tool that answers a few microtasks late still gets its timeout and the run’s abort', async () => {
    const ticks = async (n: number) => {
      for (let i = 0; i < n; i++) await undefined;
    };
    const controller = new AbortController();
    const later = defineTool({
      name: 'later',
      description: 'settles after some microtasks, then hangs on the second call',
      input: z.object({ hang: z.boolean() }),
      timeoutMs: 50,
      execute: async ({ hang }) => {
        await ticks(20);
        if (hang) return forever();
        return 'ok';
      },
    });
    const model = new ScriptedModel({
      turns: [
        { toolCalls: [{ name: 'later', input: { hang: false } }] },
        { toolCalls: [{ name: 'later', input: { hang: true } }] },
        { text: 'after the timeout' },
      ],
    });
    const result = await runAgent({
      model,
      prompt: 'hi',
      tools: [later],
      signal: controller.signal,
    });
    expect(result.status).toBe('completed');
    const outputs = (model.requests.at(-1)?.messages ?? [])
      .filter((message) => message.role === 'tool')
      .flatMap((message) => (message.role === 'tool' ? message.content : []))
      .map((part) => [part.output, part.isError]);
    expect(outputs).toEqual([
      ['ok', false],
      ['Tool "later" timed out after 50 ms and was stopped.', true],
    ]);
  });

  it('mid tool: a tool that reads its signal only after the abort gets it already aborted, with the reason', async () => {
    const controller = new AbortController();
    const started = deferred();
    const late: AbortSignal[] = [];
    const slow = defineTool({
      name: 'slow',
      description: 'looks at its signal late',
      input: z.object({}),
      execute: async (_input, context) => {
        started.resolve();
        await new Promise((resolve) => setTimeout(resolve, 30));
        late.push(context.signal); // first read, after the run was aborted
        return 'late';
      },
    });
    const model = new ScriptedModel({
      turns: [{ toolCalls: [{ name: 'slow', input: {} }] }, { text: 'never' }],
    });
    void started.promise.then(() => controller.abort(new Error('user pressed stop')));
    const result = await runAgent({
      model,
      prompt: 'hi',
      tools: [slow],
      signal: controller.signal,
    });
    expect(result.status).toBe('aborted');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(late).toHaveLength(1);
    expect(late[0]?.aborted).toBe(true);
    expect(String(late[0]?.reason)).toMatch(/run aborted/);
  });

  it('mid tool batch: finished results are kept in the state, the interrupted call stays pending', async () => {
    const controller = new AbortController();
    const tools = [
      defineTool({
        name: 'quick',
        description: 'q',
        input: z.object({}),
        execute: () => 'quick result',
      }),
      defineTool({
        name: 'slow',
        description: 's',
        input: z.object({}),
        execute: async (_input, { signal }) => {
          // Abort the run once the quick result is in; then wait for our own abort.
          setTimeout(() => controller.abort(), 5);
          await new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason)),
          );
        },
      }),
    ];
    const model = new ScriptedModel({
      turns: [
        {
          toolCalls: [
            { name: 'quick', input: {}, id: 'q' },
            { name: 'slow', input: {}, id: 's' },
          ],
        },
      ],
    });
    const result = await runAgent({ model, prompt: 'hi', tools, signal: controller.signal });
    expect(result.status).toBe('aborted');
    expect(result.state.toolResults).toEqual([
      {
        type: 'tool-result',
        toolCallId: 'q',
        toolName: 'quick',
        output: 'quick result',
        isError: false,
      },
    ]);
    expect(result.messages.at(-1)?.role).toBe('assistant');
  });

  it('while a checkpoint write is in flight: still aborted, and the final state is saved', async () => {
    // A store with latency, like a real database: each save takes a few milliseconds.
    const inner = createMemorySessionStore();
    const controller = new AbortController();
    const store: SessionStore = {
      specificationVersion: 'loopwork.session-store.v1',
      load: (key) => inner.load(key),
      delete: (key) => inner.delete(key),
      async save(key, state, expected) {
        // The quick tool's result is being saved: the user aborts right now.
        if (state.toolResults.length === 1 && state.status === 'running') controller.abort();
        await new Promise((resolve) => setTimeout(resolve, 5));
        return inner.save(key, state, expected);
      },
    };
    const tools = [
      defineTool({
        name: 'quick',
        description: 'q',
        input: z.object({}),
        execute: () => 'quick result',
      }),
      defineTool({ name: 'hang', description: 'h', input: z.object({}), execute: forever }),
    ];
    const model = new ScriptedModel({
      turns: [
        {
          toolCalls: [
            { name: 'hang', input: {}, id: 'h' },
            { name: 'quick', input: {}, id: 'q' },
          ],
        },
      ],
    });
    const result = await runAgent({
      model,
      prompt: 'hi',
      tools,
      signal: controller.signal,
      checkpoints: store,
      runId: 'slow-store',
    });
    expect(result.error?.message).toBeUndefined();
    expect(result.status).toBe('aborted');
    const saved = await inner.load('slow-store');
    expect(saved?.state.status).toBe('aborted');
    expect(saved?.state.toolResults.map((r) => r.toolCallId)).toEqual(['q']);
  });

  it('streamAgent: an aborted run still ends its event stream with run-finished', async () => {
    const controller = new AbortController();
    const model = new ScriptedModel({ turns: [{ text: 'never', delayMs: 60_000 }] });
    const run = streamAgent({ model, prompt: 'hi', signal: controller.signal });
    const types: string[] = [];
    for await (const event of run) {
      types.push(event.type);
      if (event.type === 'turn-started') controller.abort();
    }
    expect(types).toEqual(['run-started', 'turn-started', 'run-finished']);
    expect((await run.result).status).toBe('aborted');
  });

  it('a run that fails mid-batch aborts the tools still running', async () => {
    let slowSignal: AbortSignal | undefined;
    const tools = [
      defineTool({
        name: 'slow',
        description: 's',
        input: z.object({}),
        execute: (_input, { signal }) => {
          slowSignal = signal;
          return forever();
        },
      }),
      defineTool({ name: 'quick', description: 'q', input: z.object({}), execute: () => 'ok' }),
    ];
    const model = new ScriptedModel({
      turns: [
        {
          toolCalls: [
            { name: 'slow', input: {} },
            { name: 'quick', input: {} },
          ],
        },
      ],
    });
    const result = await runAgent({
      model,
      prompt: 'hi',
      tools,
      hooks: {
        afterToolCall: ({ toolCall }) => {
          if (toolCall.name === 'quick') throw new Error('audit failed');
        },
      },
    });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toBe('audit failed');
    expect(slowSignal?.aborted).toBe(true);
  });
});
