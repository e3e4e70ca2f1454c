import type { RunState } from '../agent/run-state';
import { ConflictError } from '../errors';
import type { SessionStore, StoredRunState } from '../store/session-store';

/**
 * In-process {@link SessionStore}: the embedded default and the reference implementation.
 * States are copied through JSON on the way in and out, as a real store would serialize them,
 * so a caller mutating its objects never changes what is stored.
 *
 * @example
 * ```ts
 * const checkpoints = createMemorySessionStore();
 * await runAgent({ model, prompt, checkpoints, runId: 'run-1' });
 * ```
 */
export function createMemorySessionStore(): SessionStore {
  const entries = new Map<string, { json: string; version: number }>();
  return {
    specificationVersion: 'loopwork.session-store.v1',
    async load(key): Promise<StoredRunState | undefined> {
      const entry = entries.get(key);
      return entry && { state: JSON.parse(entry.json) as RunState, version: entry.version };
    },
    async save(key, state, expectedVersion) {
      const actual = entries.get(key)?.version ?? null;
      if (actual !== expectedVersion) {
        throw new ConflictError(
          `[loopwork:memory] checkpoint "${key}" is at version ${actual}, the write expected ${expectedVersion}; reload and retry`,
          expectedVersion,
          actual,
        );
      }
      const version = (actual ?? 0) + 1;
      entries.set(key, { json: JSON.stringify(state), version });
      return version;
    },
    async delete(key) {
      entries.delete(key);
    },
    async version(key) {
      return entries.get(key)?.version;
    },
  };
}
