import {
  InvalidOptionError,
  RUN_STATE_SCHEMA_VERSION,
  type RunRecord,
  type RunRecordStatus,
  type RunState,
} from 'loopwork';
import {
  createPostgresEventLog,
  createPostgresHeartbeatStore,
  createPostgresQueue,
  createPostgresRunStore,
  createPostgresSessionStore,
  migrate,
  prune,
} from 'loopwork/postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSchema } from '../../helpers/postgres';
import { rejectionOf } from '../../helpers/rejection';

const DAY = 24 * 3_600_000;
let pool: pg.Pool;
let schema: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ pool, schema, drop } = await freshSchema('lw_prune'));
  await migrate({ pool, schema });
});
afterAll(() => drop());

const stateOf = (runId: string): RunState => ({
  schemaVersion: RUN_STATE_SCHEMA_VERSION,
  runId,
  status: 'running',
  messages: [{ role: 'user', content: 'Write the report' }],
  turns: [],
  toolResults: [],
  suspensions: [],
});

const stores = () => ({
  runs: createPostgresRunStore({ pool, schema }),
  events: createPostgresEventLog({ pool, schema }),
  checkpoints: createPostgresSessionStore({ pool, schema }),
  heartbeats: createPostgresHeartbeatStore({ pool, schema }),
  queue: createPostgresQueue({ pool, schema }),
});

/** A run last written `ageMs` ago, with two events and a checkpoint (snapshot + a delta). */
async function seed(runId: string, status: RunRecordStatus, ageMs: number) {
  const { runs, events, checkpoints } = stores();
  const at = Date.now() - ageMs;
  const record: RunRecord = {
    runId,
    taskType: 'report',
    status,
    payload: {},
    attempt: 1,
    maxAttempts: 3,
    version: 1,
    queuedAt: at,
    updatedAt: at,
  };
  await runs.create(record);
  await events.append(runId, { type: 'turn-started', runId, turn: 1 } as never);
  await events.append(runId, { type: 'turn-finished', runId, turn: 1 } as never);
  const state = stateOf(runId);
  const version = await checkpoints.save(runId, state, null);
  const reply: RunState['messages'][number] = {
    role: 'assistant',
    content: [{ type: 'text', text: 'Here it is' }],
  };
  await checkpoints.save(runId, { ...state, messages: [...state.messages, reply] }, version);
}

const count = async (table: string, where = 'true') =>
  Number(
    (await pool.query(`select count(*) from "${schema}".${table} where ${where}`)).rows[0].count,
  );

describe('prune (loopwork/postgres)', () => {
  it('deletes old final runs with their events and checkpoints, and nothing else', async () => {
    const { events, checkpoints, heartbeats, runs } = stores();
    await seed('old-done', 'completed', 10 * DAY);
    await seed('old-dead', 'dead_lettered', 9 * DAY);
    await seed('old-running', 'running', 10 * DAY); // open: a stuck run is the watchdog's
    await seed('new-done', 'completed', DAY);
    await checkpoints.save('session:chat-1', stateOf('old-done'), null);
    expect(await count('session_deltas', `key = 'old-done'`)).toBeGreaterThan(0);
    await events.append('no-record', {
      type: 'turn-started',
      runId: 'no-record',
      turn: 1,
    } as never);
    await heartbeats.beat('run:gone', 1);
    await heartbeats.beat('run:alive', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 5));

    const result = await prune({ pool, schema, olderThanMs: 7 * DAY, batchSize: 1 });
    expect(result).toEqual({ runs: 2, events: 4, checkpoints: 2, heartbeats: 1, deadLetters: 0 });
    for (const runId of ['old-done', 'old-dead']) {
      expect(await runs.get(runId)).toBeUndefined();
      expect(await events.read(runId)).toEqual([]);
      expect(await checkpoints.load(runId)).toBeUndefined();
      expect(await count('session_deltas', `key = '${runId}'`)).toBe(0);
      expect(await count('event_seq', `run_id = '${runId}'`)).toBe(0);
    }
    for (const runId of ['old-running', 'new-done']) {
      expect((await runs.get(runId))?.runId).toBe(runId);
      expect(await events.read(runId)).toHaveLength(2);
      expect((await checkpoints.load(runId))?.state.messages).toHaveLength(2);
    }
    expect(await checkpoints.load('session:chat-1')).toBeDefined();
    expect(await events.read('no-record')).toHaveLength(1);
    expect(await heartbeats.get('run:alive')).toBeDefined();
    // A deleted run's id starts a fresh log: the event counter went with it.
    await events.append('old-done', { type: 'turn-started', runId: 'old-done', turn: 1 } as never);
    expect((await events.read('old-done')).map((event) => event.id)).toHaveLength(1);
    expect(await prune({ pool, schema, olderThanMs: 7 * DAY })).toMatchObject({ runs: 0 });
  });

  it('keeps dead letters unless asked, then deletes the old ones only', async () => {
    const { queue } = stores();
    await queue.enqueue('prune-q', 'a');
    const [message] = await queue.claim(['prune-q'], { consumer: 't', leaseMs: 60_000 });
    if (!message) throw new Error('claimable');
    await queue.deadLetter(message, 'poison');
    await pool.query(
      `update "${schema}".dead_letters set dead_at = now() - interval '40 days' where queue = 'prune-q'`,
    );
    await queue.enqueue('prune-q', 'b');
    const [fresh] = await queue.claim(['prune-q'], { consumer: 't', leaseMs: 60_000 });
    if (!fresh) throw new Error('claimable');
    await queue.deadLetter(fresh, 'poison too');

    expect((await prune({ pool, schema, olderThanMs: DAY })).deadLetters).toBe(0);
    expect(await queue.deadLetters('prune-q')).toHaveLength(2);
    const result = await prune({
      pool,
      schema,
      olderThanMs: DAY,
      deadLettersOlderThanMs: 30 * DAY,
    });
    expect(result.deadLetters).toBe(1);
    expect((await queue.deadLetters('prune-q')).map((letter) => letter.body)).toEqual(['b']);
  });

  it('stops between batches when its signal aborts', async () => {
    for (let i = 0; i < 3; i++) await seed(`batch-${i}`, 'failed', 30 * DAY);
    const controller = new AbortController();
    controller.abort();
    expect(
      await prune({ pool, schema, olderThanMs: DAY, batchSize: 1, signal: controller.signal }),
    ).toEqual({ runs: 0, events: 0, checkpoints: 0, heartbeats: 0, deadLetters: 0 });
    expect((await prune({ pool, schema, olderThanMs: DAY, batchSize: 2 })).runs).toBe(3);
  });

  it('names a bad option and deletes nothing', async () => {
    await seed('kept', 'completed', 30 * DAY);
    for (const [options, pattern] of [
      [{ olderThanMs: -1 }, /olderThanMs must be a number of milliseconds >= 0 .* got -1/],
      [{ olderThanMs: '7d' }, /olderThanMs must be .* got "7d"/],
      [{}, /olderThanMs must be .* got undefined/],
      [{ olderThanMs: 1, deadLettersOlderThanMs: Number.NaN }, /deadLettersOlderThanMs must be/],
      [{ olderThanMs: 1, batchSize: 0 }, /batchSize must be an integer from 1 to 10000, got 0/],
      [{ olderThanMs: 1, schema: 'Bad-Name' }, /schema must be a lower-case identifier/],
    ] as const) {
      const error = await rejectionOf(() => prune({ pool, schema, ...options } as never));
      expect(InvalidOptionError.isInstance(error), String(error)).toBe(true);
      expect(String(error)).toMatch(pattern);
    }
    expect((await stores().runs.get('kept'))?.status).toBe('completed');
  });
});
