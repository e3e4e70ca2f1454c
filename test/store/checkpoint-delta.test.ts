// Delta checkpoints (issue 13): a save writes what the run appended, a load replays it, and the
// state loaded is always exactly the state saved — on the memory store, Redis and Postgres, through a
// seeded random walk of every way a run's state changes (appends, a step's results, their tool
// message, resets, edits that are not appends, conflicts, restarts of the store).
import type { Redis } from 'ioredis';
import {
  ConflictError,
  createMemorySessionStore,
  emptyUsage,
  type Message,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  type SessionStore,
  type ToolResultPart,
} from 'loopwork';
import { DeltaEncoder, replayCheckpoint } from 'loopwork/adapter-kit';
import { createPostgresSessionStore, migrate } from 'loopwork/postgres';
import { createRedisSessionStore } from 'loopwork/redis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../helpers/fuzz';
import { freshSchema } from '../helpers/postgres';
import { type RedisServer, startRedisServer } from '../helpers/redis-server';

let server: RedisServer;
let client: Redis;
let pool: pg.Pool;
let schema: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
  ({ pool, schema, drop } = await freshSchema());
  await migrate({ pool, schema });
});
afterAll(async () => {
  await drop();
  await server.stop();
});

const SEED = Number(process.env.LOOPWORK_FUZZ_SEED ?? 20_261_204);

function freshState(runId: string): RunState {
  return {
    schemaVersion: RUN_STATE_SCHEMA_VERSION,
    runId,
    status: 'running',
    messages: [{ role: 'user', content: 'go' }],
    turns: [],
    toolResults: [],
    suspensions: [],
  };
}

const usage = { ...emptyUsage(), inputTokens: 10, outputTokens: 5 };

/** One random change of the kinds a run makes (and some it does not), without mutating `state`. */
function change(state: RunState, random: () => number, n: number): RunState {
  const pick = Math.floor(random() * 7);
  switch (pick) {
    case 0: {
      const message: Message = {
        role: 'assistant',
        content: [{ type: 'tool-call', id: `c${n}`, name: 'step', input: { n } }],
      };
      const turn = {
        turn: state.turns.length + 1,
        modelId: 'm',
        usage,
        costUsd: 0.01,
        stopReason: 'tool_use' as const,
      };
      return { ...state, messages: [...state.messages, message], turns: [...state.turns, turn] };
    }
    case 1: {
      const result: ToolResultPart = {
        type: 'tool-result',
        toolCallId: `c${n}`,
        toolName: 'step',
        output: 'r'.repeat(Math.floor(random() * 2_000)),
        isError: random() < 0.1,
      };
      return { ...state, toolResults: [...state.toolResults, result] };
    }
    case 2: {
      // The step's tool message, from its results in another order, and the results cleared.
      if (state.toolResults.length === 0) return { ...state, status: 'running' };
      const content = [...state.toolResults].reverse();
      return {
        ...state,
        messages: [...state.messages, { role: 'tool', content }],
        toolResults: [],
      };
    }
    case 3:
      // An in-place push onto the arrays saved last (as applying answers does).
      state.toolResults.push({
        type: 'tool-result',
        toolCallId: `a${n}`,
        toolName: 'ask',
        output: 'yes',
        isError: false,
      });
      return state;
    case 4:
      return {
        ...state,
        status: random() < 0.5 ? 'suspended' : 'running',
        suspensions:
          random() < 0.5 ? [] : [{ toolCallId: `c${n}`, toolName: 'ask', payload: { n } }],
      };
    case 5:
      // Not an append: an edited transcript (a hook trimming history).
      return random() < 0.3 ? { ...state, messages: state.messages.slice(0, 1) } : state;
    default:
      return { ...state, messages: [...state.messages, { role: 'user', content: `more ${n}` }] };
  }
}

const stores: Array<[string, () => SessionStore]> = [
  ['memory', () => createMemorySessionStore()],
  [
    'redis',
    () =>
      createRedisSessionStore({ client, prefix: `cd${Math.random().toString(36).slice(2, 8)}` }),
  ],
  ['postgres', () => createPostgresSessionStore({ pool, schema })],
];

describe.each(stores)('delta checkpoints on the %s store', (_name, create) => {
  it('loads exactly the state saved, after each of 400 random changes', async () => {
    const random = prng(SEED);
    const store = create();
    let state = freshState('walk');
    let version: number | null = null;
    for (let n = 0; n < 400; n++) {
      state = change(state, random, n);
      version = await store.save('walk', state, version);
      const loaded = await store.load('walk');
      expect(loaded?.version).toBe(version);
      expect(loaded?.state, `after change ${n}`).toEqual(JSON.parse(JSON.stringify(state)));
    }
  });

  it('a conflict, or a second store instance (another process), falls back to a snapshot', async () => {
    const store = create();
    let state = freshState('two');
    const v1 = await store.save('two', state, null);
    state = change(state, prng(1), 1);
    await expect(store.save('two', state, 7)).rejects.toBeInstanceOf(ConflictError);
    const v2 = await store.save('two', state, v1);
    const loaded = await store.load('two');
    expect(loaded).toEqual({ state: JSON.parse(JSON.stringify(state)), version: v2 });
    // A process that loaded the state continues it (its objects are new: a snapshot, then deltas).
    const next = {
      ...loaded!.state,
      messages: [...loaded!.state.messages, { role: 'user', content: 'x' } as Message],
    };
    const v3 = await store.save('two', next, v2);
    expect((await store.load('two'))?.state).toEqual(next);
    expect(v3).toBe(v2 + 1);
  });
});

describe('what a long run writes', () => {
  it('stays within 3x of the final state over 500 turns with 2 KB tool results', () => {
    const encoder = new DeltaEncoder();
    let state = freshState('long');
    let written = 0;
    let version = 0;
    let snapshots = 0;
    const writes: string[] = [];
    const save = () => {
      const write = encoder.encode('long', state, version === 0 ? null : version);
      written += write.json.length;
      if (write.kind === 'snapshot') {
        snapshots++;
        writes.length = 0;
      }
      writes.push(write.json);
      encoder.committed('long', state, ++version, write);
    };
    save();
    for (let turn = 1; turn <= 500; turn++) {
      state = change({ ...state }, () => 0, turn); // an assistant message with a tool call
      save();
      const result: ToolResultPart = {
        type: 'tool-result',
        toolCallId: `c${turn}`,
        toolName: 'step',
        output: 'r'.repeat(2_048),
        isError: false,
      };
      state = { ...state, toolResults: [result] };
      save();
      state = {
        ...state,
        messages: [...state.messages, { role: 'tool', content: [result] }],
        toolResults: [],
      };
    }
    save();
    const final = JSON.stringify(state).length;
    const [snapshot, ...deltas] = writes;
    expect(replayCheckpoint(snapshot as string, deltas)).toEqual(state);
    expect(written / final).toBeLessThanOrEqual(3);
    expect(snapshots).toBeGreaterThan(1);
  });
});
