import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type BlobStore, InvalidOptionError } from 'loopwork';

/** Options of {@link createS3BlobStore}. */
export interface S3BlobStoreOptions {
  /** The S3 client; the store never destroys it. Emulators and MinIO need `forcePathStyle: true`. */
  client: S3Client;
  /** The bucket; it must exist. */
  bucket: string;
  /** Prepended to every key, so several stores can share a bucket. @defaultValue '' */
  prefix?: string;
}

/** Wraps an SDK error so the message says where it came from; keeps the original as `cause`. */
function s3Failure(what: string, error: unknown): Error {
  const name = (error as { name?: string } | undefined)?.name ?? 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`[loopwork:s3] ${what} failed: ${name}: ${message}`, { cause: error });
}

/**
 * A {@link BlobStore} on Amazon S3 (`@aws-sdk/client-s3`), or anything speaking its API (MinIO,
 * R2, emulators). One object per key under `prefix`; `list` pages through ListObjectsV2.
 * Objects are written whole with PutObject (S3 takes up to 5 GB in one request), so a bundle is
 * held in memory once while it is stored or read.
 *
 * @example
 * ```ts
 * import { S3Client } from '@aws-sdk/client-s3';
 * import { createS3BlobStore } from 'loopwork/s3';
 *
 * const blobs = createS3BlobStore({ client: new S3Client({}), bucket: 'agent-state', prefix: 'prod/' });
 * ```
 */
export function createS3BlobStore(options: S3BlobStoreOptions): BlobStore {
  const { client, bucket } = options;
  const prefix = options.prefix ?? '';
  if (typeof bucket !== 'string' || bucket === '') {
    throw new InvalidOptionError(
      `[loopwork:s3] bucket must be a non-empty string, got ${JSON.stringify(bucket)}`,
    );
  }
  const keyOf = (key: string) => `${prefix}${key}`;
  const where = (key: string) => `s3://${bucket}/${keyOf(key)}`;

  return {
    specificationVersion: 'loopwork.blob-store.v1',

    async put(key, data, putOptions = {}) {
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: keyOf(key),
            // A copy: the caller may change its array while the request is in flight.
            Body: Uint8Array.from(data),
            ContentType: putOptions.contentType ?? 'application/octet-stream',
          }),
        );
      } catch (error) {
        throw s3Failure(`PutObject ${where(key)}`, error);
      }
    },

    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(key) }));
        return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey') return undefined;
        throw s3Failure(`GetObject ${where(key)}`, error);
      }
    },

    async delete(key) {
      try {
        // S3 answers 204 for a missing key too.
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyOf(key) }));
      } catch (error) {
        throw s3Failure(`DeleteObject ${where(key)}`, error);
      }
    },

    async list(listPrefix) {
      const keys: string[] = [];
      let token: string | undefined;
      try {
        do {
          const out = await client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: keyOf(listPrefix),
              ...(token === undefined ? {} : { ContinuationToken: token }),
            }),
          );
          for (const object of out.Contents ?? []) {
            if (object.Key !== undefined) keys.push(object.Key.slice(prefix.length));
          }
          token = out.IsTruncated ? out.NextContinuationToken : undefined;
        } while (token !== undefined);
      } catch (error) {
        throw s3Failure(`ListObjectsV2 s3://${bucket}/${keyOf(listPrefix)}`, error);
      }
      // S3 sorts by UTF-8 bytes; the contract sorts as JavaScript does (UTF-16 code units).
      return keys.sort();
    },
  };
}
