// The loopwork checkpointer: a LangGraph thread saved in a SessionStore (memory and a private
// redis-server) continues in another saver, as in another process, with its history and pending
// writes; interrupts round-trip; concurrent writers and foreign states are refused.
import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { Command, interrupt, MessagesAnnotation, StateGraph } from '@langchain/langgraph';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import {
  ConflictError,
  createMemorySessionStore,
  defineTool,
  InvalidStateError,
  type ModelRequest,
  parseRunState,
  RUN_STATE_SCHEMA_VERSION,
  type SessionStore,
} from 'loopwork';
import { langChainTools, loopworkCheckpointer, scriptedChatModel } from 'loopwork/langgraph';
import { createRedisSessionStore } from 'loopwork/redis';
import type { ScriptedTurn } from 'loopwork/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';
import { rejectionOf } from '../../helpers/rejection';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const assistants = (request: ModelRequest) =>
  request.messages.filter((message) => message.role === 'assistant').length;

/** Turn 0 calls `step`, turn 1 answers; a follow-up (turn 2) answers again. */
const script = (request: ModelRequest): ScriptedTurn => {
  const n = assistants(request);
  if (n === 0) return { toolCalls: [{ name: 'step', id: 'c1', input: { n: 1 } }] };
  const users = request.messages.filter((m) => m.role === 'user');
  return { text: `answer ${n} to ${users.length} user messages` };
};

async function agent(
  store: SessionStore,
  executions: Map<string, number>,
  keepCheckpoints?: number,
) {
  const step = defineTool({
    name: 'step',
    description: 'Does step n',
    input: z.object({ n: z.number() }),
    execute: ({ n }, { idempotencyKey }) => {
      executions.set(idempotencyKey, (executions.get(idempotencyKey) ?? 0) + 1);
      return `step ${n} done`;
    },
  });
  const checkpointer = await loopworkCheckpointer({
    store,
    ...(keepCheckpoints ? { keepCheckpoints } : {}),
  });
  const graph = createReactAgent({
    llm: await scriptedChatModel({ turns: script }),
    tools: await langChainTools([step], { runId: 'thread-run' }),
    checkpointer,
    version: 'v2',
  });
  return { graph, checkpointer };
}

const stores: Array<[string, () => SessionStore]> = [
  ['memory', () => createMemorySessionStore()],
  [
    'redis',
    () => createRedisSessionStore({ client: redis.client(), prefix: `lg${Math.random()}` }),
  ],
];

describe.each(stores)('loopworkCheckpointer on the %s SessionStore', (_name, makeStore) => {
  it('a thread saved by one saver continues in another, with its history', async () => {
    const store = makeStore();
    const executions = new Map<string, number>();
    const config = { configurable: { thread_id: 't1' } };
    const first = await agent(store, executions);
    const out = await first.graph.invoke({ messages: [new HumanMessage('hello')] }, config);
    expect(out.messages.at(-1)?.content).toBe('answer 1 to 1 user messages');

    // A second saver on the same store, as another worker would have.
    const second = await agent(store, executions);
    const before = await second.graph.getState(config);
    expect(before.values.messages.map((m: AIMessage) => m.getType())).toEqual([
      'human',
      'ai',
      'tool',
      'ai',
    ]);
    const next = await second.graph.invoke({ messages: [new HumanMessage('and then?')] }, config);
    expect(next.messages.at(-1)?.content).toBe('answer 2 to 2 user messages');
    expect(Object.fromEntries(executions)).toEqual({ 'thread-run:c1': 1 });

    // What the store holds is a valid loopwork run state, with the transcript for viewers.
    const saved = await store.load('langgraph:t1');
    expect(saved).toBeDefined();
    const state = parseRunState(saved?.state);
    expect(state.runtime?.name).toBe('langgraph');
    expect(state.messages).toEqual([
      { role: 'user', content: 'hello' },
      {
        role: 'assistant',
        content: [{ type: 'tool-call', id: 'c1', name: 'step', input: { n: 1 } }],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'step',
            output: 'step 1 done',
            isError: false,
          },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'answer 1 to 1 user messages' }] },
      { role: 'user', content: 'and then?' },
      { role: 'assistant', content: [{ type: 'text', text: 'answer 2 to 2 user messages' }] },
    ]);
  });

  it('an interrupt and its pending writes survive the saver: Command({ resume }) continues elsewhere', async () => {
    const store = makeStore();
    const calls: string[] = [];
    const build = async () =>
      new StateGraph(MessagesAnnotation)
        .addNode('ask', () => {
          const answer = interrupt({ question: 'proceed?' });
          calls.push(`ask:${answer}`);
          return { messages: [new AIMessage(`you said ${answer}`)] };
        })
        .addNode('side', () => {
          calls.push('side');
          return {};
        })
        .addEdge('__start__', 'ask')
        .addEdge('__start__', 'side')
        .compile({ checkpointer: await loopworkCheckpointer({ store }) });
    const config = { configurable: { thread_id: 'hitl' } };
    const first = await build();
    await first.invoke({ messages: [new HumanMessage('go')] }, config);
    const waiting = await first.getState(config);
    const pending = waiting.tasks.flatMap((task) => task.interrupts);
    expect(pending.map((p) => p.value)).toEqual([{ question: 'proceed?' }]);
    expect(calls).toEqual(['side']);

    const second = await build();
    const out = await second.invoke(new Command({ resume: 'yes' }), config);
    expect(out.messages.at(-1)?.content).toBe('you said yes');
    // `side` finished in the first call: its writes were saved, so it did not run again.
    expect(calls).toEqual(['side', 'ask:yes']);
  });

  it('keeps the newest keepCheckpoints checkpoints; list, getTuple by id and deleteThread work', async () => {
    const store = makeStore();
    const config = { configurable: { thread_id: 'h' } };
    const { graph, checkpointer } = await agent(store, new Map(), 3);
    await graph.invoke({ messages: [new HumanMessage('hello')] }, config);
    const listed = [];
    for await (const tuple of checkpointer.list(config)) listed.push(tuple);
    expect(listed).toHaveLength(3);
    const ids = listed.map((t) => t.config.configurable?.checkpoint_id as string);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect(listed[0]?.parentConfig?.configurable?.checkpoint_id).toBe(ids[1]);
    const older = await checkpointer.getTuple({
      configurable: { thread_id: 'h', checkpoint_ns: '', checkpoint_id: ids[2] },
    });
    expect(older?.checkpoint.id).toBe(ids[2]);
    const limited = [];
    for await (const tuple of checkpointer.list(config, { limit: 1, before: listed[0]?.config }))
      limited.push(tuple.checkpoint.id);
    expect(limited).toEqual([ids[1]]);

    await checkpointer.deleteThread('h');
    expect(await store.load('langgraph:h')).toBeUndefined();
    expect(await checkpointer.getTuple(config)).toBeUndefined();
  });

  it('refuses a concurrent writer of the same thread with a ConflictError, losing nothing silently', async () => {
    const store = makeStore();
    const config = { configurable: { thread_id: 'both' } };
    const a = await agent(store, new Map());
    const b = await agent(store, new Map());
    await a.graph.invoke({ messages: [new HumanMessage('one')] }, config);
    await b.graph.getState(config); // b reads version n
    await a.graph.invoke({ messages: [new HumanMessage('two')] }, config); // a moves on
    const error = await rejectionOf(() =>
      b.checkpointer.putWrites(
        { configurable: { ...config.configurable, checkpoint_ns: '', checkpoint_id: 'x' } },
        [['messages', []]],
        'task',
      ),
    );
    expect(ConflictError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(
      /^\[loopwork:langgraph\] thread "both" was saved by another writer/,
    );
  });

  it('refuses a key that holds another runtime’s state instead of overwriting it', async () => {
    const store = makeStore();
    await store.save(
      'langgraph:foreign',
      {
        schemaVersion: RUN_STATE_SCHEMA_VERSION,
        runId: 'foreign',
        status: 'completed',
        messages: [{ role: 'user', content: 'hi' }],
        turns: [],
        toolResults: [],
        suspensions: [],
      },
      null,
    );
    const { graph } = await agent(store, new Map());
    const error = await rejectionOf(() =>
      graph.invoke(
        { messages: [new HumanMessage('x')] },
        { configurable: { thread_id: 'foreign' } },
      ),
    );
    expect(InvalidStateError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/not a LangGraph thread/);
  });
});
