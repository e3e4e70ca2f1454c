// The blob store conformance suite against S3, on fauxqs's S3 emulation (the real
// @aws-sdk/client-s3, path-style), started in this process on a free port.
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3BlobStore } from 'loopwork/s3';
import { blobStoreConformance } from 'loopwork/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../helpers/fauxqs';

let emulator: Emulator;
const bucket = 'loopwork-conformance';
beforeAll(async () => {
  emulator = await startEmulator();
  await emulator.s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(() => emulator?.stop());

describe('without a prefix', () => {
  blobStoreConformance({
    describe,
    it,
    createStore: async () => createS3BlobStore({ client: emulator.s3, bucket }),
  });
});

describe('with a prefix', () => {
  blobStoreConformance({
    describe,
    it,
    createStore: async () =>
      createS3BlobStore({ client: emulator.s3, bucket, prefix: 'tenant-a/' }),
  });
});

describe('createS3BlobStore', () => {
  it('keeps its keys under the prefix and lists past one page of 1000 keys', async () => {
    const store = createS3BlobStore({ client: emulator.s3, bucket, prefix: 'paged/' });
    const keys = Array.from({ length: 1_005 }, (_, i) => `k${String(i).padStart(4, '0')}`);
    await Promise.all(keys.map((key) => store.put(key, new Uint8Array([1]))));
    // A key beside the prefix, written directly: not the store's.
    await emulator.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'paged-not/k0000', Body: 'x' }),
    );
    expect(await store.list('')).toEqual(keys);
    expect(await store.list('k100')).toEqual(['k1000', 'k1001', 'k1002', 'k1003', 'k1004']);
  });

  it('names the adapter, bucket and key when S3 fails', async () => {
    const store = createS3BlobStore({ client: emulator.s3, bucket: 'no-such-bucket' });
    await expect(store.put('a/b', new Uint8Array([1]))).rejects.toThrow(
      /^\[loopwork:s3\] PutObject s3:\/\/no-such-bucket\/a\/b failed: NoSuchBucket/,
    );
    expect(() => createS3BlobStore({ client: emulator.s3, bucket: '' })).toThrow(
      /^\[loopwork:s3\] bucket must be a non-empty string/,
    );
  });
});
