import assert from 'node:assert/strict';
import type { HeartbeatStore } from '../../store/heartbeat-store';
import {
  type ConformanceRunner,
  type ConformanceTiming,
  defineTest,
  pollUntil,
  resolveTiming,
  uniqueName,
} from './harness';

/** Options of {@link heartbeatStoreConformance}. */
export interface HeartbeatStoreConformanceOptions extends ConformanceRunner {
  /** Builds the store for one test; tests use random keys, so stores may share a server. */
  createStore: () => Promise<HeartbeatStore>;
  /** Runs after each test. */
  cleanup?: (store: HeartbeatStore) => Promise<void>;
  /** `leaseMs` is the short TTL of the expiry test; widen it for servers with coarse TTLs. */
  timing?: ConformanceTiming;
}

/**
 * Registers the conformance tests of the {@link HeartbeatStore} contract: beat, get, expiry
 * after the TTL, remove, list by prefix.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { createMemoryHeartbeatStore } from 'loopwork';
 * import { heartbeatStoreConformance } from 'loopwork/testing';
 *
 * heartbeatStoreConformance({ describe, it, createStore: async () => createMemoryHeartbeatStore() });
 * ```
 */
export function heartbeatStoreConformance(options: HeartbeatStoreConformanceOptions): void {
  const timing = resolveTiming(options.timing);
  const long = 60_000;
  const test = (name: string, body: (store: HeartbeatStore, key: string) => Promise<void>) =>
    defineTest(
      options.it,
      name,
      options.createStore,
      async (store) => options.cleanup?.(store),
      (store) => body(store, uniqueName('conformance-beat')),
    );

  options.describe('heartbeat store conformance (loopwork.heartbeat-store.v1)', () => {
    test('declares its contract version', async (store) => {
      assert.equal(store.specificationVersion, 'loopwork.heartbeat-store.v1');
    });

    test('beat then get returns the data and a future expiry', async (store, key) => {
      const data = { workerId: 'w1', lastClaimAt: 1_700_000_000_000, tags: ['a', 'b'] };
      await store.beat(key, long, data);
      const beat = await store.get(key);
      assert.deepEqual(beat?.data, data);
      assert.ok(beat!.expiresAt > Date.now(), 'expiresAt is in the future');
      assert.equal(await store.get(`${key}-never`), undefined);
    });

    test('a beat without data stores an empty object', async (store, key) => {
      await store.beat(key, long);
      assert.deepEqual((await store.get(key))?.data, {});
    });

    test('a new beat replaces the data and pushes the expiry', async (store, key) => {
      await store.beat(key, long / 2, { n: 1 });
      const first = await store.get(key);
      await store.beat(key, long, { n: 2 });
      const second = await store.get(key);
      assert.deepEqual(second?.data, { n: 2 });
      assert.ok(second!.expiresAt > first!.expiresAt, 'the later, longer beat expires later');
    });

    test('a heartbeat is gone once its TTL has passed', async (store, key) => {
      await store.beat(key, timing.leaseMs, { n: 1 });
      await pollUntil(
        async () => ((await store.get(key)) === undefined ? true : undefined),
        timing.leaseMs + timing.patienceMs,
        `the heartbeat was still alive ${timing.leaseMs + timing.patienceMs} ms after a ${timing.leaseMs} ms TTL`,
      );
      assert.deepEqual(await store.list(key), [], 'list leaves out expired heartbeats');
    });

    test('beatMany (optional): each key beaten with its own data, listed, and gone after the TTL', async (store, key) => {
      const beatMany = store.beatMany?.bind(store);
      assert.ok(store.beatMany === undefined || typeof beatMany === 'function', 'beatMany');
      if (!beatMany) return; // a store without beatMany() has nothing more to prove here
      await beatMany([], long);
      await store.beat(`${key}:w1`, long, { n: 0 });
      await beatMany(
        [{ key: `${key}:w1`, data: { n: 1, tags: ['a'] } }, { key: `${key}:w2` }],
        timing.leaseMs,
      );
      assert.deepEqual((await store.get(`${key}:w1`))?.data, { n: 1, tags: ['a'] });
      assert.deepEqual((await store.get(`${key}:w2`))?.data, {});
      assert.deepEqual((await store.list(`${key}:`)).map((b) => [b.key, b.data]).sort(), [
        [`${key}:w1`, { n: 1, tags: ['a'] }],
        [`${key}:w2`, {}],
      ]);
      // One TTL for all, shorter than the earlier beat's: the batch sets it, as a beat would.
      await pollUntil(
        async () => ((await store.list(`${key}:`)).length === 0 ? true : undefined),
        timing.leaseMs + timing.patienceMs,
        `the heartbeats were still alive ${timing.leaseMs + timing.patienceMs} ms after a ${timing.leaseMs} ms TTL`,
      );
      assert.equal(await store.get(`${key}:w1`), undefined);
    });

    test('remove ends a heartbeat; removing a missing key is a no-op', async (store, key) => {
      await store.beat(key, long, { n: 1 });
      await store.remove(key);
      assert.equal(await store.get(key), undefined);
      await store.remove(`${key}-missing`);
    });

    test('list returns the live heartbeats whose key starts with the prefix', async (store, key) => {
      await store.beat(`${key}:w2`, long, { n: 2 });
      await store.beat(`${key}:w1`, long, { n: 1 });
      await store.beat(`${key}-other:w3`, long, { n: 3 });
      await store.beat(`${key}:gone`, long, { n: 4 });
      await store.remove(`${key}:gone`);
      const listed = await store.list(`${key}:`);
      assert.deepEqual(listed.map((b) => [b.key, b.data]).sort(), [
        [`${key}:w1`, { n: 1 }],
        [`${key}:w2`, { n: 2 }],
      ]);
      for (const b of listed) assert.ok(b.expiresAt > Date.now(), `${b.key} expiresAt`);
    });
  });
}
