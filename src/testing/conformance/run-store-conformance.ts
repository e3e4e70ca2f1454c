import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { ConflictError } from '../../errors';
import type { RunRecord, RunStore } from '../../store/run-store';
import { type ConformanceRunner, defineTest, rejectsWith, uniqueName } from './harness';

/** Options of {@link runStoreConformance}. */
export interface RunStoreConformanceOptions extends ConformanceRunner {
  /** Builds the store for one test; tests use random run ids, so stores may share a server. */
  createStore: () => Promise<RunStore>;
  /** Runs after each test. */
  cleanup?: (store: RunStore) => Promise<void>;
}

const MINUTE = 60_000;

function record(runId: string, overrides: Partial<RunRecord> = {}): RunRecord {
  const at = Date.now() - 10 * MINUTE;
  return {
    runId,
    taskType: 'conformance',
    status: 'queued',
    attempt: 1,
    payload: { prompt: 'héllo', n: [1, 2, { deep: true }] },
    groupId: 'g1',
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

/**
 * Registers the conformance tests of the {@link RunStore} contract: create, compare-and-set
 * transitions (exactly one of several racing writers wins) and the stale-run query.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { createMemoryRunStore } from 'loopwork';
 * import { runStoreConformance } from 'loopwork/testing';
 *
 * runStoreConformance({ describe, it, createStore: async () => createMemoryRunStore() });
 * ```
 */
export function runStoreConformance(options: RunStoreConformanceOptions): void {
  const test = (name: string, body: (store: RunStore, runId: string) => Promise<void>) =>
    defineTest(
      options.it,
      name,
      options.createStore,
      async (store) => options.cleanup?.(store),
      (store) => body(store, uniqueName('conformance-run')),
    );

  options.describe('run store conformance (loopwork.run-store.v1)', () => {
    test('declares its contract version', async (store) => {
      assert.equal(store.specificationVersion, 'loopwork.run-store.v1');
    });

    test('create then get returns an equal record; unknown ids resolve undefined', async (store, id) => {
      const created = record(id, { workerId: 'w1' });
      await store.create(created);
      assert.deepEqual(await store.get(id), created);
      assert.equal(await store.get(`${id}-missing`), undefined);
    });

    test('a second create of the same run id rejects with ConflictError', async (store, id) => {
      await store.create(record(id));
      await rejectsWith(
        store.create(record(id, { taskType: 'other' })),
        ConflictError.isInstance,
        'duplicate create',
      );
      assert.equal((await store.get(id))?.taskType, 'conformance', 'the first record is kept');
    });

    test('transition from a matching status applies it, sets fields and updatedAt', async (store, id) => {
      const created = record(id);
      await store.create(created);
      const updated = await store.transition(id, {
        from: ['queued', 'waiting_input'],
        to: 'running',
        set: { workerId: 'w7', attempt: 2 },
      });
      assert.ok(updated, 'the transition applied');
      assert.deepEqual(
        { ...updated, updatedAt: created.updatedAt },
        { ...created, status: 'running', workerId: 'w7', attempt: 2 },
      );
      assert.ok(updated.updatedAt > created.updatedAt, 'updatedAt moves with each transition');
      assert.deepEqual(await store.get(id), updated);
    });

    test('transition from a status the run is not in resolves undefined and changes nothing', async (store, id) => {
      await store.create(record(id));
      const before = await store.get(id);
      assert.equal(await store.transition(id, { from: ['running'], to: 'completed' }), undefined);
      assert.deepEqual(await store.get(id), before);
      assert.equal(
        await store.transition(`${id}-missing`, { from: ['queued'], to: 'running' }),
        undefined,
      );
    });

    test('transition with an attempt applies only at that attempt', async (store, id) => {
      await store.create(record(id, { status: 'running', attempt: 2 }));
      const before = await store.get(id);
      const stale = { from: ['running'] as const, to: 'failed' as const, attempt: 1 };
      assert.equal(await store.transition(id, { ...stale, set: { reason: 'x' } }), undefined);
      assert.deepEqual(await store.get(id), before);
      const current = await store.transition(id, {
        ...stale,
        attempt: 2,
        set: { reason: 'timeout' },
      });
      assert.deepEqual([current?.status, current?.reason], ['failed', 'timeout']);
    });

    test('transition with unchangedSince applies only if nothing moved the run since', async (store, id) => {
      await store.create(record(id, { status: 'running' }));
      const seen = (await store.get(id))!;
      // Someone else touches the run (a worker picking it up again), even in the same millisecond.
      const touched = await store.transition(id, {
        from: ['running'],
        to: 'running',
        set: { workerId: 'w2' },
      });
      assert.ok(touched, 'a plain transition applies');
      assert.ok(touched.updatedAt > seen.updatedAt, 'updatedAt grows on every transition');
      const guarded = {
        from: ['running'] as const,
        to: 'failed' as const,
        set: { reason: 'stuck' },
      };
      assert.equal(
        await store.transition(id, { ...guarded, unchangedSince: seen.updatedAt }),
        undefined,
      );
      assert.equal((await store.get(id))?.status, 'running');
      const applied = await store.transition(id, { ...guarded, unchangedSince: touched.updatedAt });
      assert.equal(applied?.status, 'failed');
    });

    test('concurrent transitions from the same status: exactly one wins', async (store, id) => {
      await store.create(record(id));
      const workers = ['w0', 'w1', 'w2', 'w3', 'w4', 'w5'];
      const results = await Promise.all(
        workers.map((w) =>
          store.transition(id, { from: ['queued'], to: 'running', set: { workerId: w } }),
        ),
      );
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1, `${winners.length} racing transitions applied`);
      assert.equal((await store.get(id))?.workerId, winners[0]!.workerId);
    });

    test('listStale: runs in a status updated before a time, oldest first, at most limit', async (store, id) => {
      // RunStore has no namespaces: keep our times far in the past, at a random spot, and
      // tolerate other records of a shared store in the results.
      const base = randomInt(1_000_000, 1_000_000_000) * 1000;
      const mine = [
        record(`${id}-b`, { updatedAt: base + 2000 }),
        record(`${id}-a`, { updatedAt: base + 1000 }),
        record(`${id}-c`, { updatedAt: base + 3000 }),
        record(`${id}-fresh`, { updatedAt: base + 9000 }),
        record(`${id}-running`, { status: 'running', updatedAt: base }),
      ];
      for (const r of mine) await store.create(r);
      const ids = new Set(mine.map((r) => r.runId));

      const stale = await store.listStale('queued', base + 5000);
      for (const r of stale) {
        assert.equal(r.status, 'queued', `${r.runId} is not in the requested status`);
        assert.ok(r.updatedAt < base + 5000, `${r.runId} was updated after the cut-off`);
      }
      const times = stale.map((r) => r.updatedAt);
      assert.deepEqual(
        times,
        [...times].sort((x, y) => x - y),
        'oldest first',
      );
      assert.deepEqual(
        stale.filter((r) => ids.has(r.runId)).map((r) => r.runId),
        [`${id}-a`, `${id}-b`, `${id}-c`],
      );
      assert.deepEqual(
        stale.find((r) => r.runId === `${id}-a`),
        mine[1],
      );

      const limited = await store.listStale('queued', base + 5000, 2);
      assert.deepEqual(
        limited.map((r) => r.runId),
        stale.slice(0, 2).map((r) => r.runId),
      );
    });
  });
}
