// Retention of run records: a final run expires `retainMs` after it ended, an open run never does,
// and the indexes that list runs do not keep ids of expired records. Event logs are kept
// `retainMs` after a run's last event (7 days by default, as long as its record).
import type { Redis } from 'ioredis';
import {
  createMemoryEventLog,
  createMemoryRunStore,
  InvalidOptionError,
  type RunRecord,
  type RunStore,
  STORE_DEFAULTS,
} from 'loopwork';
import { createRedisEventLog, createRedisRunStore, createRedisSessionStore } from 'loopwork/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../helpers/redis-server';

const record = (runId: string, fields: Partial<RunRecord> = {}): RunRecord => ({
  runId,
  taskType: 'retention',
  status: 'queued',
  payload: {},
  attempt: 0,
  maxAttempts: 3,
  version: 1,
  queuedAt: Date.now(),
  updatedAt: Date.now(),
  ...fields,
});

async function finishOne(runs: RunStore, runId: string) {
  await runs.create(record(runId));
  await runs.transition(runId, { from: ['queued'], to: 'running' });
  return runs.transition(runId, { from: ['running'], to: 'completed', set: { output: 'x' } });
}

describe('memory run store retention', () => {
  it('drops final runs retainMs after they ended; keeps open runs however old', async () => {
    let now = Date.now();
    const runs = createMemoryRunStore({ retainMs: 60_000, now: () => now });
    await finishOne(runs, 'done');
    await runs.create(record('waiting', { queuedAt: 0, updatedAt: 0 }));
    now += 59_000;
    expect((await runs.get('done'))?.status).toBe('completed');
    now += 2_000;
    expect(await runs.get('done')).toBeUndefined();
    expect((await runs.get('waiting'))?.status).toBe('queued');
    expect((await runs.list()).runs.map((run) => run.runId)).toEqual(['waiting']);
  });

  it('refuses a retention that cannot work', () => {
    for (const retainMs of [0, -1, Number.NaN]) {
      expect(() => createMemoryRunStore({ retainMs })).toThrow(InvalidOptionError);
    }
  });
});

describe('memory event log retention', () => {
  it('drops a run’s events retainMs after its last one, and keeps a run still appending', async () => {
    const log = createMemoryEventLog({ retainMs: 50 });
    await log.append('old', { type: 'a' });
    await log.append('busy', { type: 'a' });
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // sweeps run at most once a second
    await log.append('busy', { type: 'b' }); // this append sweeps
    expect(await log.read('old')).toEqual([]);
    expect((await log.read('busy')).map((event) => (event.data as { type: string }).type)).toEqual([
      'b',
    ]);
    expect(() => createMemoryEventLog({ retainMs: 0 })).toThrow(
      'retainMs must be a positive number, got 0',
    );
  });
});

describe('redis run store retention', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    client = server.client();
  });
  afterAll(() => server.stop());
  const prefix = () => `ret${Math.random().toString(36).slice(2, 8)}`;

  it('a final run’s hash expires after retainMs; an open run’s never does', async () => {
    const p = prefix();
    const runs = createRedisRunStore({ client, prefix: p, retainMs: 60_000 });
    await finishOne(runs, 'done');
    await runs.create(record('open'));
    const ttl = await client.pttl(`{${p}}:run:done`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await client.pttl(`{${p}}:run:open`)).toBe(-1);
  });

  it('ids of expired records leave the listing and its indexes', async () => {
    const p = prefix();
    const runs = createRedisRunStore({ client, prefix: p, retainMs: 50 });
    for (const runId of ['a', 'b', 'c']) await finishOne(runs, runId);
    await runs.create(record('open'));
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await runs.list()).runs.map((run) => run.runId)).toEqual(['open']);
    expect((await runs.list({ status: 'completed' })).runs).toEqual([]);
    // Listing swept them from the indexes, so they are not read again.
    expect(await client.zcard(`{${p}}:runs-all`)).toBe(1);
    expect(await client.zcard(`{${p}}:runs:completed`)).toBe(0);
    expect(await runs.listStale('completed', Date.now() + 1)).toEqual([]);
  });

  it('checkpoints are kept by default; with retainMs each save sets their time to live', async () => {
    const p = prefix();
    const state = { schemaVersion: 1 } as never;
    const kept = createRedisSessionStore({ client, prefix: p });
    await kept.save('run-1', state, null);
    expect(await client.pttl(`{${p}:session:run-1}`)).toBe(-1);
    const expiring = createRedisSessionStore({ client, prefix: p, retainMs: 30_000 });
    await expiring.save('run-2', state, null);
    expect(await client.pttl(`{${p}:session:run-2}`)).toBeGreaterThan(25_000);
  });

  it('a run’s event stream expires 7 days after its last event by default, retainMs when set', async () => {
    const p = prefix();
    await createRedisEventLog({ client, prefix: p }).append('r1', { type: 'a' });
    const ttl = await client.pttl(`{${p}:events:r1}`);
    expect(ttl).toBeGreaterThan(STORE_DEFAULTS.eventRetentionMs - 60_000);
    expect(ttl).toBeLessThanOrEqual(STORE_DEFAULTS.eventRetentionMs);
    await createRedisEventLog({ client, prefix: p, retainMs: 30_000 }).append('r2', { type: 'a' });
    expect(await client.pttl(`{${p}:events:r2}`)).toBeLessThanOrEqual(30_000);
  });

  it('refuses a retention that cannot work, naming the adapter', () => {
    expect(() => createRedisEventLog({ client, retainMs: -1 })).toThrow(
      /^\[loopwork:redis\] retainMs must be a positive number, got -1$/,
    );
    expect(() => createRedisRunStore({ client, retainMs: 0 })).toThrow(
      /^\[loopwork:redis\] retainMs must be a positive number, got 0$/,
    );
  });
});
