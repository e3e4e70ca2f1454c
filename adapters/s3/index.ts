/**
 * Amazon S3 adapters for loopwork (`loopwork/s3`): a blob store on S3 (or anything speaking its
 * API), and helpers that persist and restore a git working directory as a bundle in any blob store.
 * Needs the optional peer dependency `@aws-sdk/client-s3` (the git helpers need only `git`).
 *
 * @packageDocumentation
 */

export type { S3BlobStoreOptions } from './s3-blob-store';
export { createS3BlobStore } from './s3-blob-store';
