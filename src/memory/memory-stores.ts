import { ConflictError, InvalidOptionError } from '../errors';
import { isFinal } from '../queue/lifecycle';
import type { BlobStore } from '../store/blob-store';
import { STORE_DEFAULTS } from '../store/defaults';
import { compareEventIds, type EventLog, type LoggedEvent } from '../store/event-log';
import { createEventEncoder } from '../store/event-size';
import type { Heartbeat, HeartbeatStore } from '../store/heartbeat-store';
import {
  decodeCursor,
  encodeCursor,
  isAfter,
  limitOf,
  matches,
  scoreOf,
  stalenessClock,
} from '../store/run-list';
import type { RunRecord, RunStore } from '../store/run-store';

const copy = <T>(value: T): T => structuredClone(value);

/** Options of {@link createMemoryRunStore}. */
export interface MemoryRunStoreOptions {
  /** Final runs are dropped this long after they end. @defaultValue STORE_DEFAULTS.runRetentionMs (7 days) */
  retainMs?: number;
  /** Clock, for tests. @defaultValue Date.now */
  now?: () => number;
}

/**
 * In-process {@link RunStore}: the reference implementation. Final runs expire `retainMs` after
 * they end (swept lazily, at most once a second).
 *
 * @example
 * ```ts
 * const runs = createMemoryRunStore();
 * ```
 */
export function createMemoryRunStore(options: MemoryRunStoreOptions = {}): RunStore {
  const retainMs = options.retainMs ?? STORE_DEFAULTS.runRetentionMs;
  if (!(Number.isFinite(retainMs) && retainMs > 0))
    throw new InvalidOptionError(`retainMs must be a positive number, got ${retainMs}`);
  const now = options.now ?? Date.now;
  const records = new Map<string, RunRecord>();
  let sweptAt = 0;
  const sweep = () => {
    const at = now();
    if (at - sweptAt < 1_000) return;
    sweptAt = at;
    for (const [runId, record] of records)
      if (isFinal(record.status) && record.updatedAt + retainMs <= at) records.delete(runId);
  };
  return {
    specificationVersion: 'loopwork.run-store.v2',
    async create(record) {
      sweep();
      if (records.has(record.runId)) {
        throw new ConflictError(`[loopwork:memory] run "${record.runId}" already exists`, null, 1);
      }
      records.set(record.runId, copy(record));
    },
    async get(runId) {
      sweep();
      const record = records.get(runId);
      return record && copy(record);
    },
    async transition(runId, transition) {
      const record = records.get(runId);
      if (!record || !transition.from.includes(record.status)) return undefined;
      if (transition.version !== undefined && record.version !== transition.version)
        return undefined;
      if (transition.attempt !== undefined && record.attempt !== transition.attempt)
        return undefined;
      // Strictly increasing, so two writes in one millisecond still tell apart.
      const updatedAt = Math.max(now(), record.updatedAt + 1);
      Object.assign(record, copy(transition.set ?? {}), {
        status: transition.to,
        version: record.version + 1,
        updatedAt,
      });
      for (const field of transition.unset ?? []) delete record[field];
      return copy(record);
    },
    async list(query = {}) {
      sweep();
      const limit = limitOf(query);
      const cursor = decodeCursor(query.cursor);
      const page = [...records.values()]
        .filter((record) => matches(record, query))
        .map((record) => ({
          record,
          position: { score: scoreOf(record, query), runId: record.runId },
        }))
        .filter(({ position }) => isAfter(position, cursor))
        .sort(
          (a, b) =>
            b.position.score - a.position.score || (a.position.runId < b.position.runId ? 1 : -1),
        )
        .slice(0, limit + 1);
      const more = page.length > limit;
      const runs = page.slice(0, limit);
      const last = runs.at(-1);
      return {
        runs: runs.map(({ record }) => copy(record)),
        ...(more && last ? { cursor: encodeCursor(last.position) } : {}),
      };
    },
    async listStale(status, before, limit = 100) {
      sweep();
      return [...records.values()]
        .filter((record) => record.status === status && stalenessClock(record) < before)
        .sort((a, b) => stalenessClock(a) - stalenessClock(b))
        .slice(0, limit)
        .map(copy);
    },
    async getStandings(runIds) {
      sweep();
      return runIds.map((runId) => {
        const record = records.get(runId);
        if (!record) return undefined;
        const { status, attempt, cancel } = record;
        return cancel === undefined
          ? { status, attempt }
          : { status, attempt, cancel: copy(cancel) };
      });
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
    async beatMany(many, ttlMs) {
      const expiresAt = Date.now() + ttlMs;
      for (const { key, data = {} } of many) beats.set(key, { data: copy(data), expiresAt });
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
  /** A run's events are dropped this long after its last one. @defaultValue STORE_DEFAULTS.eventRetentionMs (7 days) */
  retainMs?: number;
}

/**
 * In-process {@link EventLog} with Redis-Streams-style ids (`<ms>-<seq>`): the reference
 * implementation. Events are stored as JSON, as a durable log would (an event over
 * `maxEventBytes` as an `event-too-large` placeholder), and a run's log is dropped `retainMs`
 * after its last event. Rejects data that has no JSON (a cycle, a BigInt), as every log must.
 *
 * @example
 * ```ts
 * const events = createMemoryEventLog({ maxEventBytes: 256 * 1024 });
 * ```
 */
export function createMemoryEventLog(options: MemoryEventLogOptions = {}): EventLog {
  const encode = createEventEncoder(options.maxEventBytes);
  const retainMs = options.retainMs ?? STORE_DEFAULTS.eventRetentionMs;
  if (!(Number.isFinite(retainMs) && retainMs > 0))
    throw new InvalidOptionError(`retainMs must be a positive number, got ${retainMs}`);
  const logs = new Map<string, LoggedEvent[]>();
  const lastAppend = new Map<string, number>();
  let sweptAt = 0;
  /** Drops the logs of runs quiet for longer than retainMs (at most once a second). */
  const sweep = (now: number) => {
    if (now - sweptAt < 1_000) return;
    sweptAt = now;
    for (const [runId, at] of lastAppend) {
      if (at + retainMs > now) continue;
      logs.delete(runId);
      lastAppend.delete(runId);
    }
  };
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

  // Encoded before an id is taken, so a rejected append leaves no gap; kept as parsed JSON, so
  // what JSON cannot carry (a Date's methods, undefined fields) does not reach clients.
  const parsed = (data: unknown) => JSON.parse(encode(data).json) as unknown;
  const store = (runId: string, stored: unknown): string => {
    const now = Date.now();
    sweep(now);
    const ms = Math.max(now, lastMs);
    lastSeq = ms === lastMs ? lastSeq + 1 : 0;
    lastMs = ms;
    lastAppend.set(runId, now);
    const event = { id: `${ms}-${lastSeq}`, data: stored };
    const events = logs.get(runId) ?? [];
    events.push(event);
    logs.set(runId, events);
    for (const wake of waiters.get(runId) ?? []) wake();
    return event.id;
  };

  return {
    specificationVersion: 'loopwork.event-log.v1',
    async append(runId, data) {
      return store(runId, parsed(data));
    },
    async appendMany(runId, data) {
      // All encoded first: a batch with an event that cannot be stored stores none of it.
      return data.map(parsed).map((stored) => store(runId, stored));
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
