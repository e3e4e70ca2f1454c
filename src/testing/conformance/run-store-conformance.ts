import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { ConflictError, InvalidOptionError } from '../../errors';
import type { RunQuery, RunRecord, RunStore } from '../../store/run-store';
import { type ConformanceRunner, defineTest, rejectsWith, uniqueName } from './harness';

/** Options of {@link runStoreConformance}. */
export interface RunStoreConformanceOptions extends ConformanceRunner {
  /** Builds the store for one test; tests use random run ids and task types, so stores may share a server. */
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
    payload: { prompt: 'héllo', n: [1, 2, { deep: true }], empty: [], none: {} },
    groupId: 'g1',
    attempt: 0,
    maxAttempts: 3,
    version: 1,
    queuedAt: at,
    updatedAt: at,
    ...overrides,
  };
}

/** Every page of a query, in order. */
async function listAll(store: RunStore, query: RunQuery): Promise<RunRecord[]> {
  const all: RunRecord[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1_000; page++) {
    const result = await store.list({ ...query, ...(cursor === undefined ? {} : { cursor }) });
    assert.ok(result.runs.length <= (query.limit ?? 50), 'a page holds at most limit runs');
    all.push(...result.runs);
    if (result.cursor === undefined) return all;
    cursor = result.cursor;
  }
  throw new assert.AssertionError({ message: 'list() never returned a last page' });
}

/**
 * Registers the conformance tests of the {@link RunStore} contract: records with their results
 * kept exactly, compare-and-set transitions fenced by status, version and attempt (exactly one of
 * several racing writers wins), the listing with its filters, order and cursor, and the stale-run
 * query.
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

  options.describe('run store conformance (loopwork.run-store.v2)', () => {
    test('declares its contract version', async (store) => {
      assert.equal(store.specificationVersion, 'loopwork.run-store.v2');
    });

    test('create then get returns an equal record; unknown ids resolve undefined', async (store, id) => {
      const created = record(id, { workerId: 'w1', priority: 'high', availableAt: Date.now() });
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

    test('results are kept exactly: output, usage, cost, error, cancel, outputRef', async (store, id) => {
      await store.create(record(id, { status: 'running', attempt: 1, messageId: 'm1' }));
      const output = {
        text: 'done ✓ "quoted"\n🚀',
        list: [],
        map: {},
        big: 2 ** 53 - 1,
        tiny: 1e-7,
        nested: [[1, [2, [3]]], { a: null, b: false }],
      };
      const usage = {
        inputTokens: 1_234_567,
        outputTokens: 89,
        cacheReadTokens: 0,
        cacheWriteTokens: 17,
        reasoningTokens: 5,
      };
      const ended = await store.transition(id, {
        from: ['running'],
        to: 'completed',
        set: {
          output,
          usage,
          costUsd: 0.012345678901,
          finishedAt: 1_700_000_000_123,
          outputRef: { bytes: 70_000, blobKey: 'runs/x/output.json' },
          error: { code: 'handler_error', message: 'first attempt: boom' },
          cancel: { reason: 'too late', requestedAt: 1_700_000_000_000 },
          budget: 'cost_usd',
        },
        unset: ['messageId'],
      });
      assert.ok(ended, 'the transition applied');
      const stored = (await store.get(id))!;
      assert.deepEqual(stored, ended, 'get returns what transition returned');
      assert.deepEqual(
        stored.output,
        output,
        'output kept exactly ([] and {} stay, numbers exact)',
      );
      assert.deepEqual(stored.usage, usage);
      assert.equal(stored.costUsd, 0.012345678901);
      assert.equal(stored.finishedAt, 1_700_000_000_123);
      assert.deepEqual(stored.outputRef, { bytes: 70_000, blobKey: 'runs/x/output.json' });
      assert.deepEqual(stored.error, { code: 'handler_error', message: 'first attempt: boom' });
      assert.deepEqual(stored.cancel, { reason: 'too late', requestedAt: 1_700_000_000_000 });
      assert.equal(stored.budget, 'cost_usd');
      assert.equal('messageId' in stored, false, 'unset removes the field');
    });

    test('transition sets fields, increments version by one and moves updatedAt forward', async (store, id) => {
      const created = record(id);
      await store.create(created);
      const updated = await store.transition(id, {
        from: ['queued'],
        to: 'running',
        set: { workerId: 'w7', attempt: 1, startedAt: 42 },
      });
      assert.ok(updated, 'the transition applied');
      assert.deepEqual(
        { ...updated, updatedAt: created.updatedAt },
        { ...created, status: 'running', workerId: 'w7', attempt: 1, startedAt: 42, version: 2 },
      );
      assert.ok(updated.updatedAt > created.updatedAt, 'updatedAt moves with each transition');
      const again = await store.transition(id, { from: ['running'], to: 'running' });
      assert.equal(again?.version, 3);
      assert.ok(again!.updatedAt > updated.updatedAt, 'even within one millisecond');
      assert.deepEqual(await store.get(id), again);
    });

    test('getStandings (optional): status, attempt and cancel of each run, in order; undefined for none', async (store, id) => {
      const getStandings = store.getStandings?.bind(store);
      assert.ok(
        store.getStandings === undefined || typeof getStandings === 'function',
        'getStandings',
      );
      if (!getStandings) return; // a store without getStandings() has nothing more to prove here
      assert.deepEqual(await getStandings([]), []);
      await store.create(record(`${id}-queued`));
      await store.create(record(`${id}-running`));
      const running = await store.transition(`${id}-running`, {
        from: ['queued'],
        to: 'running',
        set: { attempt: 2, workerId: 'w1' },
      });
      const cancel = { reason: 'the user closed the tab', requestedAt: 1_700_000_000_123 };
      await store.transition(`${id}-running`, {
        from: ['running'],
        to: 'running',
        version: running!.version,
        set: { cancel },
      });
      assert.deepEqual(await getStandings([`${id}-running`, `${id}-none`, `${id}-queued`]), [
        { status: 'running', attempt: 2, cancel },
        undefined,
        { status: 'queued', attempt: 0 },
      ]);
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

    test('transition with a version applies only at that version', async (store, id) => {
      await store.create(record(id, { status: 'running', version: 4 }));
      const before = await store.get(id);
      const write = { from: ['running'] as const, to: 'failed' as const };
      const error = { code: 'x', message: 'stale' };
      assert.equal(await store.transition(id, { ...write, version: 3, set: { error } }), undefined);
      assert.deepEqual(await store.get(id), before, 'a stale version changes nothing');
      const applied = await store.transition(id, { ...write, version: 4, set: { error } });
      assert.deepEqual([applied?.status, applied?.version], ['failed', 5]);
    });

    test('transition with an attempt applies only at that attempt', async (store, id) => {
      await store.create(record(id, { status: 'running', attempt: 2 }));
      const before = await store.get(id);
      const stale = { from: ['running'] as const, to: 'failed' as const, attempt: 1 };
      assert.equal(await store.transition(id, stale), undefined);
      assert.deepEqual(await store.get(id), before);
      const current = await store.transition(id, { ...stale, attempt: 2 });
      assert.equal(current?.status, 'failed');
    });

    test('concurrent transitions at one version: exactly one wins', async (store, id) => {
      await store.create(record(id));
      const workers = ['w0', 'w1', 'w2', 'w3', 'w4', 'w5'];
      const results = await Promise.all(
        workers.map((w) =>
          store.transition(id, {
            from: ['queued'],
            to: 'queued',
            version: 1,
            set: { workerId: w },
          }),
        ),
      );
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1, `${winners.length} racing transitions applied`);
      assert.equal((await store.get(id))?.workerId, winners[0]!.workerId);
      assert.equal((await store.get(id))?.version, 2);
    });

    test('listStale: runs in a status not written before a time, oldest first, at most limit', async (store, id) => {
      // The store may be shared: keep our times far in the past, at a random spot, and
      // tolerate other records in the results.
      const base = randomInt(1_000_000, 1_000_000_000) * 1000;
      const mine = [
        record(`${id}-b`, { updatedAt: base + 2000 }),
        record(`${id}-a`, { updatedAt: base + 1000 }),
        record(`${id}-c`, { updatedAt: base + 3000 }),
        record(`${id}-fresh`, { updatedAt: base + 9000 }),
        // Delayed on purpose until after the cut-off: not stale, however old its last write.
        record(`${id}-delayed`, { updatedAt: base, availableAt: base + 8000 }),
        record(`${id}-running`, { status: 'running', updatedAt: base }),
      ];
      for (const r of mine) await store.create(r);
      const ids = new Set(mine.map((r) => r.runId));

      const stale = await store.listStale('queued', base + 5000);
      for (const r of stale) {
        assert.equal(r.status, 'queued', `${r.runId} is not in the requested status`);
        assert.ok(r.updatedAt < base + 5000, `${r.runId} was written after the cut-off`);
      }
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
      const later = await store.listStale('queued', base + 8500);
      assert.ok(
        later.some((r) => r.runId === `${id}-delayed`),
        'a delayed run is stale once its delay is over',
      );
    });

    test('list: newest first by queuedAt, filtered by task type and group, paged by cursor', async (store, id) => {
      const taskType = uniqueName('list-type');
      const base = Date.now() - 60 * MINUTE;
      const mine: RunRecord[] = [];
      for (let i = 0; i < 7; i++) {
        mine.push(
          record(`${id}-${i}`, {
            taskType,
            groupId: i % 2 === 0 ? `${id}-even` : `${id}-odd`,
            queuedAt: base + i * 1000,
            updatedAt: base + i * 1000,
          }),
        );
      }
      // Two with the same queuedAt: the cursor must not lose or repeat one of them.
      mine.push(record(`${id}-7`, { taskType, queuedAt: base + 6000, updatedAt: base + 6000 }));
      for (const r of [...mine].sort(() => Math.random() - 0.5)) await store.create(r);
      await store.create(record(`${id}-other`, { taskType: `${taskType}-other` }));

      const newestFirst = [...mine].sort(
        (a, b) => b.queuedAt - a.queuedAt || (a.runId < b.runId ? 1 : -1),
      );
      const all = await listAll(store, { taskType, limit: 3 });
      assert.deepEqual(
        all.map((r) => r.runId),
        newestFirst.map((r) => r.runId),
        'every run of the type once, newest first, across pages',
      );
      assert.deepEqual(all[0], newestFirst[0], 'listed records are whole');

      const even = await listAll(store, { taskType, groupId: `${id}-even`, limit: 2 });
      assert.deepEqual(
        even.map((r) => r.runId),
        [`${id}-6`, `${id}-4`, `${id}-2`, `${id}-0`],
      );

      const unfiltered = await listAll(store, { limit: 1000 });
      const ours = unfiltered.filter((r) => r.taskType === taskType).map((r) => r.runId);
      assert.deepEqual(
        ours,
        newestFirst.map((r) => r.runId),
        'without filters too',
      );
    });

    test('list by status: only that status, the latest to enter it first', async (store, id) => {
      const taskType = uniqueName('list-status');
      for (let i = 0; i < 4; i++) await store.create(record(`${id}-${i}`, { taskType }));
      // Fail them in the order 2, 0, 3: the latest failure comes first.
      for (const i of [2, 0, 3]) {
        await store.transition(`${id}-${i}`, { from: ['queued'], to: 'failed' });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const failed = await listAll(store, { status: 'failed', taskType, limit: 2 });
      assert.deepEqual(
        failed.map((r) => r.runId),
        [`${id}-3`, `${id}-0`, `${id}-2`],
      );
      const queued = await listAll(store, { status: 'queued', taskType });
      assert.deepEqual(
        queued.map((r) => r.runId),
        [`${id}-1`],
      );
    });

    test('list refuses a bad limit or cursor with InvalidOptionError naming it', async (store) => {
      for (const limit of [0, -1, 1.5, 100_000]) {
        await assert.rejects(
          store.list({ limit }),
          (error: unknown) =>
            InvalidOptionError.isInstance(error) && /limit/.test((error as Error).message),
          `limit ${limit}`,
        );
      }
      await assert.rejects(
        store.list({ cursor: 'not-a-cursor' }),
        (error: unknown) =>
          InvalidOptionError.isInstance(error) && /cursor/.test((error as Error).message),
      );
    });
  });
}
