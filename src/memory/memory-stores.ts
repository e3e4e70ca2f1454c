import { ConflictError } from '../errors';
import type { BlobStore } from '../store/blob-store';
import { compareEventIds, type EventLog, type LoggedEvent } from '../store/event-log';
import { createEventEncoder } from '../store/event-size';
import type { Heartbeat, HeartbeatStore } from '../store/heartbeat-store';
import type { RunRecord, RunStore } from '../store/run-store';

const copy = <T>(value: T): T => structuredClone(value);

/**
 * In-process {@link RunStore}: the reference implementation.
 *
 * @example
 * ```ts
 * const runs = createMemoryRunStore();
 * ```
 */
export function createMemoryRunStore(): RunStore {
  const records = new Map<string, RunRecord>();
  return {
    specificationVersion: 'loopwork.run-store.v1',
    async create(record) {
      if (records.has(record.runId)) {
        throw new ConflictError(`[loopwork:memory] run "${record.runId}" already exists`, null, 1);
      }
      records.set(record.runId, copy(record));
    },
    async get(runId) {
      const record = records.get(runId);
      return record && copy(record);
    },
    async transition(runId, transition) {
      const record = records.get(runId);
      if (!record || !transition.from.includes(record.status)) return undefined;
      if (transition.attempt !== undefined && record.attempt !== transition.attempt) {
        return undefined;
      }
      if (
        transition.unchangedSince !== undefined &&
        record.updatedAt !== transition.unchangedSince
      ) {
        return undefined;
      }
      // Strictly increasing, so `unchangedSince` tells two transitions in one millisecond apart.
      const updatedAt = Math.max(Date.now(), record.updatedAt + 1);
      Object.assign(record, transition.set, { status: transition.to, updatedAt });
      return copy(record);
    },
    async listStale(status, updatedBefore, limit = 100) {
      return [...records.values()]
        .filter((record) => record.status === status && record.updatedAt < updatedBefore)
        .sort((a, b) => a.updatedAt - b.updatedAt)
        .slice(0, limit)
        .map(copy);
    },
  };
}

/** In-process {@link HeartbeatStore}: the reference implementation. */
export function createMemoryHeartbeatStore(): HeartbeatStore {
  const beats = new Map<string, Heartbeat>();
  const live = (key: string): Heartbeat | undefined => {
    const beat = beats.get(key);
    if (beat && beat.expiresAt <= Date.now()) beats.delete(key);
    return beats.get(key);
  };
  return {
    specificationVersion: 'loopwork.heartbeat-store.v1',
    async beat(key, ttlMs, data = {}) {
      beats.set(key, { data: copy(data), expiresAt: Date.now() + ttlMs });
    },
    async get(key) {
      const beat = live(key);
      return beat && copy(beat);
    },
    async remove(key) {
      beats.delete(key);
    },
    async list(prefix) {
      return [...beats.keys()]
        .filter((key) => key.startsWith(prefix) && live(key))
        .sort()
        .map((key) => ({ key, ...copy(beats.get(key) as Heartbeat) }));
    },
  };
}

/** Options of {@link createMemoryEventLog}. */
export interface MemoryEventLogOptions {
  /**
   * Largest event stored as is, in UTF-8 bytes of its JSON; a larger one is stored as an
   * `event-too-large` placeholder. @defaultValue `EVENT_LOG_DEFAULTS.maxEventBytes` (1 MiB)
   */
  maxEventBytes?: number;
}

/**
 * In-process {@link EventLog} with Redis-Streams-style ids (`<ms>-<seq>`): the reference
 * implementation. Rejects data that has no JSON (a cycle, a BigInt), as every log must.
 *
 * @example
 * ```ts
 * const events = createMemoryEventLog({ maxEventBytes: 256 * 1024 });
 * ```
 */
export function createMemoryEventLog(options: MemoryEventLogOptions = {}): EventLog {
  const encode = createEventEncoder(options.maxEventBytes);
  const logs = new Map<string, LoggedEvent[]>();
  const waiters = new Map<string, Set<() => void>>();
  let lastMs = 0;
  let lastSeq = 0;

  const after = (events: LoggedEvent[], id: string | undefined): LoggedEvent[] => {
    if (id === undefined) return events;
    // Ids only grow, so binary search for the first one greater than `id`.
    let low = 0;
    let high = events.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareEventIds((events[mid] as LoggedEvent).id, id) <= 0) low = mid + 1;
      else high = mid;
    }
    return events.slice(low);
  };

  return {
    specificationVersion: 'loopwork.event-log.v1',
    async append(runId, data) {
      // Checked before an id is taken, so a rejected append leaves no gap.
      const stored = copy(encode(data).data);
      const ms = Math.max(Date.now(), lastMs);
      lastSeq = ms === lastMs ? lastSeq + 1 : 0;
      lastMs = ms;
      const event = { id: `${ms}-${lastSeq}`, data: stored };
      const events = logs.get(runId) ?? [];
      events.push(event);
      logs.set(runId, events);
      for (const wake of waiters.get(runId) ?? []) wake();
      return event.id;
    },
    async read(runId, options = {}) {
      return after(logs.get(runId) ?? [], options.after)
        .slice(0, options.limit ?? Number.POSITIVE_INFINITY)
        .map(copy);
    },
    async *follow(runId, options = {}) {
      let cursor = options.after;
      const signal = options.signal;
      while (!signal?.aborted) {
        const batch = after(logs.get(runId) ?? [], cursor);
        for (const event of batch) {
          if (signal?.aborted) return;
          cursor = event.id;
          yield copy(event);
        }
        if (batch.length > 0) continue;
        await new Promise<void>((resolve) => {
          const set = waiters.get(runId) ?? new Set();
          waiters.set(runId, set);
          const done = () => {
            set.delete(done);
            if (set.size === 0) waiters.delete(runId);
            signal?.removeEventListener('abort', done);
            resolve();
          };
          set.add(done);
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    },
  };
}

/** In-process {@link BlobStore}: the reference implementation. */
export function createMemoryBlobStore(): BlobStore {
  const blobs = new Map<string, Uint8Array>();
  return {
    specificationVersion: 'loopwork.blob-store.v1',
    async put(key, data) {
      blobs.set(key, new Uint8Array(data));
    },
    async get(key) {
      const data = blobs.get(key);
      return data && new Uint8Array(data);
    },
    async delete(key) {
      blobs.delete(key);
    },
    async list(prefix) {
      return [...blobs.keys()].filter((key) => key.startsWith(prefix)).sort();
    },
  };
}
