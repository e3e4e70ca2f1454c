import assert from 'node:assert/strict';
import { RUN_STATE_SCHEMA_VERSION, type RunState } from '../../agent/run-state';
import { ConflictError } from '../../errors';
import type { SessionStore } from '../../store/session-store';
import { type ConformanceRunner, defineTest, rejectsWith, uniqueName } from './harness';

/** Options of {@link sessionStoreConformance}. */
export interface SessionStoreConformanceOptions extends ConformanceRunner {
  /** Builds the store for one test; tests use random keys, so stores may share a server. */
  createStore: () => Promise<SessionStore>;
  /** Runs after each test. */
  cleanup?: (store: SessionStore) => Promise<void>;
}

/** A run state exercising every message part, so serialization bugs show. */
function sampleState(runId: string, note: string): RunState {
  return {
    schemaVersion: RUN_STATE_SCHEMA_VERSION,
    runId,
    status: 'running',
    system: `You are careful. ${note}`,
    messages: [
      { role: 'user', content: 'Find the bug — ünïcode ✓' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Reading the file.' },
          { type: 'tool-call', id: 'call_1', name: 'read', input: { path: 'a.ts', lines: [1, 2] } },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'call_1',
            toolName: 'read',
            output: 'x',
            isError: false,
          },
        ],
      },
    ],
    turns: [
      {
        turn: 1,
        modelId: 'scripted',
        usage: {
          inputTokens: 10,
          outputTokens: 5,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
        },
        costUsd: 0.000125,
        stopReason: 'tool_use',
      },
    ],
    toolResults: [],
    suspensions: [],
  };
}

/**
 * Registers the conformance tests of the {@link SessionStore} contract: optimistic concurrency
 * (a stale save is refused with `ConflictError` and changes nothing), load, delete.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { createMemorySessionStore } from 'loopwork';
 * import { sessionStoreConformance } from 'loopwork/testing';
 *
 * sessionStoreConformance({ describe, it, createStore: async () => createMemorySessionStore() });
 * ```
 */
export function sessionStoreConformance(options: SessionStoreConformanceOptions): void {
  const test = (name: string, body: (store: SessionStore, key: string) => Promise<void>) =>
    defineTest(
      options.it,
      name,
      options.createStore,
      async (store) => options.cleanup?.(store),
      (store) => body(store, uniqueName('conformance-session')),
    );
  const isConflict = ConflictError.isInstance;

  options.describe('session store conformance (loopwork.session-store.v1)', () => {
    test('declares its contract version', async (store) => {
      assert.equal(store.specificationVersion, 'loopwork.session-store.v1');
    });

    test('load of a key never saved resolves undefined', async (store, key) => {
      assert.equal(await store.load(key), undefined);
    });

    test('save with null on a new key resolves 1; load returns an equal copy', async (store, key) => {
      const state = sampleState(key, 'first');
      assert.equal(await store.save(key, state, null), 1);
      const loaded = await store.load(key);
      assert.deepEqual(loaded, { state, version: 1 });
      assert.notEqual(loaded!.state, state, 'load must not hand back the saved object itself');
    });

    test('each save with the current version increments it', async (store, key) => {
      assert.equal(await store.save(key, sampleState(key, 'v1'), null), 1);
      assert.equal(await store.save(key, sampleState(key, 'v2'), 1), 2);
      assert.equal(await store.save(key, sampleState(key, 'v3'), 2), 3);
      assert.deepEqual(await store.load(key), { state: sampleState(key, 'v3'), version: 3 });
    });

    test('a stale save rejects with ConflictError and changes nothing', async (store, key) => {
      await store.save(key, sampleState(key, 'v1'), null);
      await store.save(key, sampleState(key, 'v2'), 1);
      await rejectsWith(store.save(key, sampleState(key, 'lost'), 1), isConflict, 'stale save');
      await rejectsWith(store.save(key, sampleState(key, 'lost'), null), isConflict, 'save null');
      await rejectsWith(store.save(key, sampleState(key, 'lost'), 7), isConflict, 'future version');
      assert.deepEqual(await store.load(key), { state: sampleState(key, 'v2'), version: 2 });
    });

    test('save with a version on a key never saved rejects with ConflictError', async (store, key) => {
      await rejectsWith(store.save(key, sampleState(key, 'x'), 1), isConflict, 'save on new key');
      assert.equal(await store.load(key), undefined);
    });

    test('concurrent saves of one version: exactly one wins, the others conflict', async (store, key) => {
      await store.save(key, sampleState(key, 'base'), null);
      const writers = ['w0', 'w1', 'w2', 'w3', 'w4'];
      const results = await Promise.allSettled(
        writers.map((w) => store.save(key, sampleState(key, w), 1)),
      );
      const winners = writers.filter((_, i) => results[i]!.status === 'fulfilled');
      assert.equal(winners.length, 1, `${winners.length} concurrent saves of version 1 succeeded`);
      for (const result of results) {
        if (result.status === 'rejected') {
          await rejectsWith(Promise.reject(result.reason), isConflict, 'a losing concurrent save');
        }
      }
      assert.deepEqual(await store.load(key), { state: sampleState(key, winners[0]!), version: 2 });
    });

    test('keys are independent', async (store, key) => {
      await store.save(`${key}-a`, sampleState(key, 'a'), null);
      assert.equal(await store.load(`${key}-b`), undefined);
      assert.equal(await store.save(`${key}-b`, sampleState(key, 'b'), null), 1);
      assert.deepEqual((await store.load(`${key}-a`))?.state, sampleState(key, 'a'));
    });

    test('delete removes the state; a new save starts again from null', async (store, key) => {
      await store.save(key, sampleState(key, 'v1'), null);
      await store.delete(key);
      assert.equal(await store.load(key), undefined);
      // The contract does not say whether versions restart after a delete, only that null works.
      const version = await store.save(key, sampleState(key, 'again'), null);
      assert.deepEqual(await store.load(key), { state: sampleState(key, 'again'), version });
      await store.delete(`${key}-missing`);
    });

    test('version (when implemented) reports the stored version, undefined when none', async (store, key) => {
      // Optional member: a store without it is never asked (callers then load the state instead).
      assert.ok(
        store.version === undefined || typeof store.version === 'function',
        'version is a method',
      );
      if (!store.version) return;
      assert.equal(await store.version(key), undefined);
      const first = await store.save(key, sampleState(key, 'v1'), null);
      assert.equal(await store.version(key), first);
      const second = await store.save(key, sampleState(key, 'v2'), first);
      assert.equal(await store.version(key), second);
      await store.delete(key);
      assert.equal(await store.version(key), undefined);
    });
  });
}
