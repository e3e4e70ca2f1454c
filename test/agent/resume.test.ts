// Promise 2 of DESIGN.md: a run stopped after any step continues from its checkpoint to the same
// transcript as a run that was never interrupted, and no tool call that finished runs again.
import {
  ConflictError,
  createMemorySessionStore,
  defineTool,
  InvalidOptionError,
  type RunResult,
  type RunState,
  runAgent,
  type SessionStore,
} from 'loopwork';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deferred, eventLog, recordingStore, rejectionOf } from './helpers';

// Explicit ids: a fresh model continuing the script must produce the same tool call ids.
const SCRIPT: ScriptedTurn[] = [
  {
    text: 'Let me look both up.',
    toolCalls: [
      { name: 'lookup', input: { key: 'a' }, id: 'c1' },
      { name: 'lookup', input: { key: 'b' }, id: 'c2' },
    ],
  },
  { toolCalls: [{ name: 'compute', input: { x: 1 }, id: 'c3' }] },
  {
    text: 'Almost there.',
    toolCalls: [
      { name: 'lookup', input: { key: 'c' }, id: 'c4' },
      { name: 'compute', input: { x: 2 }, id: 'c5' },
      { name: 'lookup', input: { key: 'd' }, id: 'c6' },
    ],
  },
  { text: 'The answer is 42.' },
];
const CALL_IDS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];

/** The scenario's tools, counting executions by idempotency key. */
function scenarioTools() {
  const executions = new Map<string, number>();
  const count = (key: string) => executions.set(key, (executions.get(key) ?? 0) + 1);
  const tools = [
    defineTool({
      name: 'lookup',
      description: 'Looks a key up',
      input: z.object({ key: z.string() }),
      execute: ({ key }, { idempotencyKey }) => {
        count(idempotencyKey);
        return { key, value: key.toUpperCase().repeat(3) };
      },
    }),
    defineTool({
      name: 'compute',
      description: 'Computes',
      input: z.object({ x: z.number() }),
      execute: ({ x }, { idempotencyKey }) => {
        count(idempotencyKey);
        return `x*21=${x * 21}`;
      },
    }),
  ];
  return { tools, executions };
}

const RUN_ID = 'resume-run';
const baseOptions = {
  prompt: 'What is the answer?',
  system: 'You are thorough.',
  runId: RUN_ID,
  toolConcurrency: 1,
};

/** The uninterrupted run, with a snapshot of every checkpoint and of the executions at that moment. */
async function uninterrupted() {
  const { tools, executions } = scenarioTools();
  const executedAt: Array<Map<string, number>> = [];
  const store = recordingStore({ afterSave: () => void executedAt.push(new Map(executions)) });
  const model = new ScriptedModel({ turns: SCRIPT });
  const result = await runAgent({ ...baseOptions, model, tools, checkpoints: store });
  expect(result.status, result.error?.message).toBe('completed');
  expect(model.requests).toHaveLength(SCRIPT.length);
  expect([...executions.values()]).toEqual(CALL_IDS.map(() => 1));
  return { result, snapshots: store.snapshots, executedAt };
}

/** Continues the run in `store` with a fresh model that picks the script up where it stopped. */
async function resume(store: SessionStore, tools: ReturnType<typeof scenarioTools>['tools']) {
  const saved = await store.load(RUN_ID);
  const turnsDone = saved?.state.turns.length ?? 0;
  const model = new ScriptedModel({ turns: SCRIPT.slice(turnsDone) });
  const log = eventLog();
  // Restarted with the very same options as the first invocation: `prompt` is ignored because
  // the checkpoint already holds the run.
  const result = await runAgent({
    ...baseOptions,
    model,
    tools,
    checkpoints: store,
    onEvent: log.onEvent,
  });
  return { result, model, log, turnsDone };
}

function expectSameTranscript(actual: RunResult, expected: RunResult, context: string) {
  expect(actual.status, context).toBe('completed');
  expect(actual.messages, context).toEqual(expected.messages);
  expect(actual.turns, context).toEqual(expected.turns);
  expect(actual.usage, context).toEqual(expected.usage);
  expect(actual.text, context).toBe('The answer is 42.');
}

const keys = (executions: Map<string, number>) => [...executions.keys()].sort();
const merged = (a: Map<string, number>, b: Map<string, number>) => {
  const sum = new Map(a);
  for (const [key, n] of b) sum.set(key, (sum.get(key) ?? 0) + n);
  return sum;
};

describe('resume after a stop at every step', async () => {
  const baseline = await uninterrupted();
  const steps = baseline.snapshots.length - 1; // the last save is the final (completed) state

  it('every model call and every tool result is checkpointed on its own', () => {
    const snapshots = baseline.snapshots;
    // Each model call: a checkpoint right after it, with nothing else new yet.
    for (let turn = 1; turn <= SCRIPT.length; turn++) {
      expect(
        snapshots.some(
          (s) =>
            s.turns.length === turn &&
            s.messages.at(-1)?.role === 'assistant' &&
            s.toolResults.length === 0,
        ),
      ).toBe(true);
    }
    // Each tool result: a checkpoint holding exactly the results finished so far.
    for (const id of CALL_IDS) {
      expect(snapshots.some((s) => s.toolResults.at(-1)?.toolCallId === id)).toBe(true);
    }
    expect(snapshots.length).toBeGreaterThanOrEqual(SCRIPT.length + CALL_IDS.length + 1);
    expect(snapshots.at(-1)?.status).toBe('completed');
    expect(snapshots.slice(0, -1).every((s) => s.status === 'running')).toBe(true);
  });

  it.each(Array.from({ length: steps + 1 }, (_, k) => k))(
    'aborted after step %i, resumed from the store',
    async (k) => {
      const { tools, executions } = scenarioTools();
      const controller = new AbortController();
      const store = recordingStore({
        afterSave: (count) => {
          if (count === k) controller.abort();
        },
      });
      const model = new ScriptedModel({ turns: SCRIPT });
      const first = await runAgent({
        ...baseOptions,
        model,
        tools,
        checkpoints: store,
        signal: k === 0 ? AbortSignal.abort() : controller.signal,
      });
      expect(first.status).toBe('aborted');
      expect(store.snapshots.at(-1)?.status).toBe('aborted');

      const second = await resume(store, tools);
      expectSameTranscript(second.result, baseline.result, `stopped after step ${k}`);
      // No model call was made twice, and every tool call ran exactly once over both invocations.
      expect(model.requests.length + second.model.requests.length).toBe(SCRIPT.length);
      expect(second.turnsDone).toBe(model.requests.length);
      expect(keys(executions)).toEqual(CALL_IDS.map((id) => `${RUN_ID}:${id}`));
      expect([...executions.values()]).toEqual(CALL_IDS.map(() => 1));
      expect(second.log.ofType('run-started')[0]).toMatchObject({
        resumed: true,
        turnsSoFar: second.turnsDone,
      });
    },
  );

  it.each(Array.from({ length: steps }, (_, k) => k))(
    'crashed after step %i (no final save), resumed on another worker',
    async (k) => {
      // The process died right after checkpoint k: a new worker finds exactly that state.
      const snapshot = baseline.snapshots[k] as RunState;
      const store = createMemorySessionStore();
      await store.save(RUN_ID, snapshot, null);
      const { tools, executions } = scenarioTools();
      const second = await resume(store, tools);
      expectSameTranscript(second.result, baseline.result, `crashed after step ${k}`);
      const before = baseline.executedAt[k] as Map<string, number>;
      const total = merged(before, executions);
      expect(keys(total)).toEqual(CALL_IDS.map((id) => `${RUN_ID}:${id}`));
      expect([...total.values()]).toEqual(CALL_IDS.map(() => 1));
      expect(second.model.requests.length).toBe(SCRIPT.length - snapshot.turns.length);
    },
  );

  it.each([1, 2, 3, 4])(
    'failed on a model error at call %i, resumed with the state',
    async (failAt) => {
      const { tools, executions } = scenarioTools();
      const script = [...SCRIPT.slice(0, failAt - 1), { error: { kind: 'auth' as const } }];
      const first = await runAgent({
        ...baseOptions,
        model: new ScriptedModel({ turns: script }),
        tools,
      });
      expect(first.status).toBe('failed');
      expect(first.turns).toHaveLength(failAt - 1);
      const rest = new ScriptedModel({ turns: SCRIPT.slice(failAt - 1) });
      const second = await runAgent({ model: rest, tools, state: first.state });
      expectSameTranscript(second, baseline.result, `failed at call ${failAt}`);
      expect([...executions.values()]).toEqual(CALL_IDS.map(() => 1));
    },
  );
});

describe('a crash between parallel tool results', () => {
  function parallelTools(gateOpen: boolean) {
    const started = new Map<string, number>();
    const finished = new Map<string, number>();
    const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    const gate = deferred();
    if (gateOpen) gate.resolve();
    const work = defineTool({
      name: 'work',
      description: 'works',
      input: z.object({ slow: z.boolean() }),
      execute: async ({ slow }, { idempotencyKey, signal }) => {
        bump(started, idempotencyKey);
        if (slow) {
          await Promise.race([
            gate.promise,
            new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason)),
            ),
          ]);
        }
        bump(finished, idempotencyKey);
        return `${idempotencyKey} done`;
      },
    });
    return { tools: [work], started, finished };
  }
  const script: ScriptedTurn[] = [
    {
      toolCalls: [
        { name: 'work', input: { slow: false }, id: 'p1' },
        { name: 'work', input: { slow: true }, id: 'p2' },
        { name: 'work', input: { slow: false }, id: 'p3' },
      ],
    },
    { text: 'all three done' },
  ];

  it('the results already checkpointed are not run again; the interrupted one is', async () => {
    const expected = await runAgent({
      model: new ScriptedModel({ turns: script }),
      prompt: 'go',
      runId: 'par',
      tools: parallelTools(true).tools,
    });

    const crashed = parallelTools(false);
    const controller = new AbortController();
    const store = recordingStore({
      afterSave: (_count, state) => {
        if (state.toolResults.length === 2) controller.abort();
      },
    });
    const first = await runAgent({
      model: new ScriptedModel({ turns: script }),
      prompt: 'go',
      runId: 'par',
      tools: crashed.tools,
      checkpoints: store,
      toolConcurrency: 3,
      signal: controller.signal,
    });
    expect(first.status).toBe('aborted');
    expect(first.state.toolResults.map((r) => r.toolCallId).sort()).toEqual(['p1', 'p3']);

    const resumed = parallelTools(true);
    const model = new ScriptedModel({ turns: script.slice(1) });
    const second = await runAgent({
      model,
      runId: 'par',
      tools: resumed.tools,
      checkpoints: store,
    });
    expect(second.messages).toEqual(expected.messages);
    expect(second.status).toBe('completed');
    expect([...resumed.started.keys()]).toEqual(['par:p2']);
    // Over both invocations each call finished once; only the interrupted p2 started twice, with
    // the same idempotency key both times.
    expect(Object.fromEntries(merged(crashed.finished, resumed.finished))).toEqual({
      'par:p1': 1,
      'par:p2': 1,
      'par:p3': 1,
    });
    expect(Object.fromEntries(merged(crashed.started, resumed.started))).toEqual({
      'par:p1': 1,
      'par:p2': 2,
      'par:p3': 1,
    });
  });
});

describe('continuing finished runs', () => {
  it('resuming a completed run makes no model call (with or without the original prompt)', async () => {
    const store = createMemorySessionStore();
    const first = await runAgent({
      model: new ScriptedModel({ turns: [{ text: 'done' }] }),
      prompt: 'hi',
      checkpoints: store,
      runId: 'c',
    });
    const model = new ScriptedModel({ turns: [] });
    const again = await runAgent({ model, checkpoints: store, runId: 'c' });
    expect(
      (await runAgent({ model, prompt: 'hi', checkpoints: store, runId: 'c' })).messages,
    ).toEqual(first.messages);
    expect(again.status).toBe('completed');
    expect(model.requests).toHaveLength(0);
    expect(again.messages).toEqual(first.messages);
    expect(again.text).toBe('done');
  });

  it('followUp on a completed run adds a user message: the model sees the whole conversation', async () => {
    const store = createMemorySessionStore();
    await runAgent({
      model: new ScriptedModel({ turns: [{ text: 'Paris.' }] }),
      prompt: 'Capital of France?',
      system: 'Be brief.',
      checkpoints: store,
      runId: 'chat',
    });
    const model = new ScriptedModel({ turns: [{ text: 'About 2 million.' }] });
    const second = await runAgent({
      model,
      followUp: 'Population?',
      checkpoints: store,
      runId: 'chat',
    });
    expect(second.status).toBe('completed');
    expect(model.requests[0]?.system).toBe('Be brief.');
    expect(model.requests[0]?.messages).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: [{ type: 'text', text: 'Paris.' }] },
      { role: 'user', content: 'Population?' },
    ]);
    expect(second.turns.map((t) => t.turn)).toEqual([1, 2]);
    expect(second.text).toBe('About 2 million.');
    expect((await store.load('chat'))?.state.messages).toHaveLength(4);
  });

  it('followUp while tool calls are pending is refused', async () => {
    const controller = new AbortController();
    const tool = defineTool({
      name: 'stop',
      description: 'stops the run',
      input: z.object({}),
      execute: () => {
        controller.abort();
        return 'never recorded';
      },
    });
    const first = await runAgent({
      model: new ScriptedModel({ turns: [{ toolCalls: [{ name: 'stop', input: {} }] }] }),
      prompt: 'go',
      tools: [tool],
      signal: controller.signal,
    });
    expect(first.status).toBe('aborted');
    const model = new ScriptedModel({ turns: [{ text: 'never' }] });
    const error = await rejectionOf(() =>
      runAgent({ model, state: first.state, followUp: 'actually, stop', tools: [tool] }),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe(
      `followUp: run "${first.runId}" is waiting on tool calls; continue it without followUp (answer suspended calls with answers)`,
    );
    expect(model.requests).toHaveLength(0);
  });

  it('maxTurns and budgets count the whole run, resumes included', async () => {
    const tool = scenarioTools().tools[0]!;
    const looping = () =>
      new ScriptedModel({
        turns: (_r, i) => ({ toolCalls: [{ name: 'lookup', input: { key: 'k' }, id: `l${i}` }] }),
      });
    const first = await runAgent({ model: looping(), prompt: 'go', tools: [tool], maxTurns: 2 });
    expect(first.status).toBe('max_turns');
    const model = looping();
    const second = await runAgent({ model, state: first.state, tools: [tool], maxTurns: 2 });
    expect(second.status).toBe('max_turns');
    expect(model.requests).toHaveLength(0);
    const third = await runAgent({ model, state: first.state, tools: [tool], maxTurns: 3 });
    expect(model.requests).toHaveLength(1);
    expect(third.turns).toHaveLength(3);
  });
});

describe('two writers of one run', () => {
  it('the second writer fails with a conflict and does not overwrite the first', async () => {
    const inner = createMemorySessionStore();
    const bothLoaded = deferred();
    const store = recordingStore({ inner });
    const loadOnce = store.load;
    store.load = async (key) => {
      const loaded = await loadOnce(key);
      if (store.loads() === 2) bothLoaded.resolve();
      return loaded;
    };
    // A waits until both have read the (empty) checkpoint; B waits until A has finished.
    const a = runAgent({
      model: new ScriptedModel({ turns: [{ text: 'from A' }] }),
      prompt: 'hi',
      checkpoints: store,
      runId: 'shared',
      hooks: { beforeModelCall: async () => void (await bothLoaded.promise) },
    });
    const b = runAgent({
      model: new ScriptedModel({ turns: [{ text: 'from B' }] }),
      prompt: 'hi',
      checkpoints: store,
      runId: 'shared',
      hooks: { beforeModelCall: async () => void (await a) },
    });
    const [resultA, resultB] = await Promise.all([a, b]);
    expect(resultA.status).toBe('completed');
    expect(resultB.status).toBe('failed');
    expect(ConflictError.isInstance(resultB.error)).toBe(true);
    expect((resultB.error as ConflictError).code).toBe('conflict');
    expect(resultB.state.error?.code).toBe('conflict');
    expect((await inner.load('shared'))?.state.messages.at(-1)).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'from A' }],
    });
  });
});
