import assert from 'node:assert/strict';
import type { BlobStore } from '../../store/blob-store';
import { type ConformanceRunner, defineTest, uniqueName } from './harness';

/** Options of {@link blobStoreConformance}. */
export interface BlobStoreConformanceOptions extends ConformanceRunner {
  /** Builds the store for one test; tests use random key prefixes, so stores may share a bucket. */
  createStore: () => Promise<BlobStore>;
  /** Runs after each test. */
  cleanup?: (store: BlobStore) => Promise<void>;
}

/** Every byte value, forwards then backwards, so encoding bugs (UTF-8, base64, NUL) show. */
function allBytes(): Uint8Array {
  const bytes = new Uint8Array(512);
  for (let i = 0; i < 256; i++) {
    bytes[i] = i;
    bytes[511 - i] = i;
  }
  return bytes;
}

function assertBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  assert.ok(actual instanceof Uint8Array, `${what}: get should resolve a Uint8Array`);
  // Compare values, not classes: a Buffer is a fine Uint8Array.
  assert.deepEqual(Array.from(actual), Array.from(expected), `${what}: bytes differ`);
}

/**
 * Registers the conformance tests of the {@link BlobStore} contract: exact bytes (all 256
 * values), overwrite, delete, list by prefix in sorted order.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { createMemoryBlobStore } from 'loopwork';
 * import { blobStoreConformance } from 'loopwork/testing';
 *
 * blobStoreConformance({ describe, it, createStore: async () => createMemoryBlobStore() });
 * ```
 */
export function blobStoreConformance(options: BlobStoreConformanceOptions): void {
  const test = (name: string, body: (store: BlobStore, prefix: string) => Promise<void>) =>
    defineTest(
      options.it,
      name,
      options.createStore,
      async (store) => options.cleanup?.(store),
      (store) => body(store, `${uniqueName('conformance-blob')}/`),
    );

  options.describe('blob store conformance (loopwork.blob-store.v1)', () => {
    test('declares its contract version', async (store) => {
      assert.equal(store.specificationVersion, 'loopwork.blob-store.v1');
    });

    test('put then get returns the exact bytes, every byte value included', async (store, p) => {
      const bytes = allBytes();
      await store.put(`${p}bundle`, bytes, { contentType: 'application/octet-stream' });
      assertBytes(await store.get(`${p}bundle`), allBytes(), 'all 256 byte values');
      bytes[0] = 99;
      assertBytes(await store.get(`${p}bundle`), allBytes(), 'after the caller changed its array');
    });

    test('an empty blob is stored as empty, not as missing', async (store, p) => {
      await store.put(`${p}empty`, new Uint8Array(0));
      assertBytes(await store.get(`${p}empty`), new Uint8Array(0), 'empty blob');
    });

    test('get of a missing key resolves undefined', async (store, p) => {
      assert.equal(await store.get(`${p}missing`), undefined);
    });

    test('put replaces what was stored, even with fewer bytes', async (store, p) => {
      await store.put(`${p}k`, allBytes());
      await store.put(`${p}k`, new Uint8Array([1, 2, 3]));
      assertBytes(await store.get(`${p}k`), new Uint8Array([1, 2, 3]), 'overwritten blob');
    });

    test('delete removes the key; deleting a missing key is a no-op', async (store, p) => {
      await store.put(`${p}k`, new Uint8Array([1]));
      await store.delete(`${p}k`);
      assert.equal(await store.get(`${p}k`), undefined);
      assert.deepEqual(await store.list(p), []);
      await store.delete(`${p}missing`);
    });

    test('list returns the keys starting with the prefix, sorted', async (store, p) => {
      for (const key of ['b', 'a/2', 'a/1', 'c.txt', 'a']) {
        await store.put(`${p}${key}`, new Uint8Array([1]));
      }
      await store.put(`${p.slice(0, -1)}-other/a`, new Uint8Array([1]));
      assert.deepEqual(
        await store.list(p),
        ['a', 'a/1', 'a/2', 'b', 'c.txt'].map((key) => `${p}${key}`),
      );
      assert.deepEqual(await store.list(`${p}a/`), [`${p}a/1`, `${p}a/2`]);
    });
  });
}
