import { ConflictError } from '../errors';
import { DeltaEncoder, replayCheckpoint } from '../store/checkpoint-delta';
import type { SessionStore, StoredRunState } from '../store/session-store';

/**
 * In-process {@link SessionStore}: the embedded default and the reference implementation.
 * States are copied through JSON on the way in and out, as a real store would serialize them,
 * so a caller mutating its objects never changes what is stored. Saves are delta checkpoints
 * (see `checkpoint-delta.ts`): a save serializes what the run appended since the last one, so
 * its cost does not grow with the transcript.
 *
 * @example
 * ```ts
 * const checkpoints = createMemorySessionStore();
 * await runAgent({ model, prompt, checkpoints, runId: 'run-1' });
 * ```
 */
export function createMemorySessionStore(): SessionStore {
  const entries = new Map<string, { snapshot: string; deltas: string[]; version: number }>();
  const encoder = new DeltaEncoder();
  return {
    specificationVersion: 'loopwork.session-store.v1',
    async load(key): Promise<StoredRunState | undefined> {
      const entry = entries.get(key);
      return (
        entry && { state: replayCheckpoint(entry.snapshot, entry.deltas), version: entry.version }
      );
    },
    async save(key, state, expectedVersion) {
      const entry = entries.get(key);
      const actual = entry?.version ?? null;
      if (actual !== expectedVersion) {
        encoder.forget(key);
        throw new ConflictError(
          `[loopwork:memory] checkpoint "${key}" is at version ${actual}, the write expected ${expectedVersion}; reload and retry`,
          expectedVersion,
          actual,
        );
      }
      const version = (actual ?? 0) + 1;
      const write = encoder.encode(key, state, expectedVersion);
      if (write.kind === 'delta' && entry) {
        entry.deltas.push(write.json);
        entry.version = version;
      } else {
        entries.set(key, { snapshot: write.json, deltas: [], version });
      }
      encoder.committed(key, state, version, write);
      return version;
    },
    async delete(key) {
      entries.delete(key);
      encoder.forget(key);
    },
    async version(key) {
      return entries.get(key)?.version;
    },
  };
}
