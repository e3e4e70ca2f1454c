import type { RunState } from '../agent/run-state';

/** A run state as stored, with the version that the next write must name. */
export interface StoredRunState {
  state: RunState;
  /** Increases by one on every successful save. */
  version: number;
}

/**
 * Where run checkpoints live. Writes use optimistic concurrency: a save names the version it
 * read, and a stale save is refused with a `ConflictError`, never silently lost.
 */
export interface SessionStore {
  /** Contract version this object implements. */
  readonly specificationVersion: 'loopwork.session-store.v1';
  /** The latest state under `key`, or undefined when there is none. */
  load(key: string): Promise<StoredRunState | undefined>;
  /**
   * Writes `state` if the stored version still equals `expectedVersion` (`null`: nothing stored
   * yet) and resolves with the new version; otherwise rejects with `ConflictError`.
   */
  save(key: string, state: RunState, expectedVersion: number | null): Promise<number>;
  /** Removes the state under `key`; a no-op when there is none. */
  delete(key: string): Promise<void>;
  /** Optional: the current version alone, without the state (lets callers use a cached copy). */
  version?(key: string): Promise<number | undefined>;
}
