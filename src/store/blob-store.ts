/** Binary objects by key (working-directory bundles, large payloads, artifacts). */
export interface BlobStore {
  /** Contract version this object implements. */
  readonly specificationVersion: 'loopwork.blob-store.v1';
  /** Stores bytes under `key`, replacing what was there. */
  put(key: string, data: Uint8Array, options?: { contentType?: string }): Promise<void>;
  /** The bytes under `key`, or undefined. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Removes `key`; a no-op when absent. */
  delete(key: string): Promise<void>;
  /** Keys starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
}
