import {
  type BlobStore,
  type CheckpointWrite,
  ConflictError,
  type Heartbeat,
  type HeartbeatStore,
  InvalidOptionError,
  parseRunState,
  type RunState,
  type SessionStore,
  STORE_DEFAULTS,
} from 'loopwork';
import { DeltaEncoder, replayCheckpoint } from 'loopwork/adapter-kit';
import type { RedisClient } from './client';
import { HEARTBEAT_STORE_HANDLE, type HeartbeatStoreHandle } from './handles';
import { storeKeys } from './keys';

/** Options shared by the Redis stores. */
export interface RedisStoreOptions {
  /** A connected ioredis client, `Redis` or `Cluster` (see docs/scaling.md); the store never closes it. */
  client: RedisClient;
  /** Prefix of every key. @defaultValue 'loopwork' */
  prefix?: string;
}

const STORE_SCRIPTS = {
  /**
   * KEYS: session hash, its delta list. ARGV: expected version ('' = none), kind ('snapshot' |
   * 'delta'), json, ttl ms ('' = keep). A snapshot replaces the state and clears the deltas; a delta
   * is appended. → {new version, ''} or {-1, actual}
   */
  saveSession: {
    numberOfKeys: 2,
    lua: `
local current = redis.call('HGET', KEYS[1], 'version')
if (current or '') ~= ARGV[1] then return {-1, current or ''} end
local version = (tonumber(current) or 0) + 1
if ARGV[2] == 'snapshot' then
  redis.call('HSET', KEYS[1], 'version', version, 'state', ARGV[3])
  redis.call('DEL', KEYS[2])
else
  redis.call('HSET', KEYS[1], 'version', version)
  redis.call('RPUSH', KEYS[2], ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
end
return {version, ''}`,
  },
  /** KEYS: session hash, its delta list. → {version, snapshot, delta…} or {} */
  loadSession: {
    numberOfKeys: 2,
    lua: `
local stored = redis.call('HMGET', KEYS[1], 'version', 'state')
if not stored[1] or not stored[2] then return {} end
local out = {stored[1], stored[2]}
for _, delta in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do out[#out + 1] = delta end
return out`,
  },
  /**
   * KEYS: the heartbeat's key, the index of heartbeats. ARGV: JSON, ttl ms, expiry (index score),
   * index member. One script, not a MULTI: a beat runs per task, and a transaction costs two
   * commands more and a pipeline object on the client.
   */
  loopworkBeat: {
    numberOfKeys: 2,
    lua: `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1`,
  },
  /**
   * Many beats of one ttl: KEYS: the index, then each heartbeat's key. ARGV: ttl ms, expiry, then
   * each heartbeat's JSON and index member. The index entries in one ZADD per 1,000.
   */
  loopworkBeatMany: {
    lua: `
local entries = {}
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[1])
  entries[#entries + 1] = ARGV[2]
  entries[#entries + 1] = ARGV[2 * i]
end
for i = 1, #entries, 2000 do
  redis.call('ZADD', KEYS[1], unpack(entries, i, math.min(i + 1999, #entries)))
end
return 1`,
  },
} as const;

type StoreClient = RedisClient & {
  loopworkBeat(
    key: string,
    index: string,
    json: string,
    ttlMs: number,
    expiresAt: number,
    member: string,
  ): Promise<number>;
  /** numberOfKeys first (the script's keys vary with the beats). */
  loopworkBeatMany(numberOfKeys: number, ...args: Array<string | number>): Promise<number>;
  saveSession(
    key: string,
    deltas: string,
    expected: string,
    kind: CheckpointWrite['kind'],
    json: string,
    ttlMs: string,
  ): Promise<[number, string]>;
  loadSession(key: string, deltas: string): Promise<string[]>;
};

function scripted(client: RedisClient): StoreClient {
  for (const [name, script] of Object.entries(STORE_SCRIPTS)) {
    if (!(name in client)) client.defineCommand(name, script);
  }
  return client as StoreClient;
}

/** Options of {@link createRedisSessionStore}. */
export interface RedisSessionStoreOptions extends RedisStoreOptions {
  /** A checkpoint or session expires this long after its last save. @defaultValue STORE_DEFAULTS.checkpointRetentionMs (kept) */
  retainMs?: number;
}

/**
 * Run checkpoints on Redis: per key, a hash with the version and a snapshot of the state, and a
 * list of the delta checkpoints written after it (`checkpoint-delta.ts` in the core: a save writes
 * what the run appended since the last one). Saves are a compare-and-set in a Lua script, so a
 * stale write is refused with `ConflictError`; a load reads the snapshot and its deltas in one
 * script and replays them.
 */
export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const client = scripted(options.client);
  const keys = storeKeys(options.prefix ?? 'loopwork');
  const retainMs = options.retainMs ?? STORE_DEFAULTS.checkpointRetentionMs;
  if (retainMs !== undefined && !(Number.isFinite(retainMs) && retainMs > 0))
    throw new InvalidOptionError(
      `[loopwork:redis] retainMs must be a positive number, got ${retainMs}`,
    );
  const encoder = new DeltaEncoder();
  const deltasKey = (key: string) => `${keys.session(key)}:deltas`;
  return {
    specificationVersion: 'loopwork.session-store.v1',
    async load(key) {
      const [version, snapshot, ...deltas] = await client.loadSession(
        keys.session(key),
        deltasKey(key),
      );
      if (version === undefined || snapshot === undefined) return undefined;
      const state = parseRunState(replayCheckpoint(snapshot, deltas)) as RunState;
      return { state, version: Number(version) };
    },
    async save(key, state, expectedVersion) {
      const write = encoder.encode(key, state, expectedVersion);
      let version: number;
      let actual: string;
      try {
        [version, actual] = await client.saveSession(
          keys.session(key),
          deltasKey(key),
          expectedVersion === null ? '' : String(expectedVersion),
          write.kind,
          write.json,
          retainMs === undefined ? '' : String(Math.ceil(retainMs)),
        );
      } catch (error) {
        // Unknown whether it was written: the next save must not build on it.
        encoder.forget(key);
        throw error;
      }
      if (Number(version) < 0) {
        encoder.forget(key);
        const stored = actual === '' ? null : Number(actual);
        throw new ConflictError(
          `[loopwork:redis] checkpoint "${key}" is at version ${stored}, the write expected ${expectedVersion}; reload and retry`,
          expectedVersion,
          stored,
        );
      }
      encoder.committed(key, state, Number(version), write);
      return Number(version);
    },
    async delete(key) {
      encoder.forget(key);
      await client.del(keys.session(key), deltasKey(key));
    },
    async version(key) {
      const version = await client.hget(keys.session(key), 'version');
      return version === null ? undefined : Number(version);
    },
  };
}

/** Heartbeats on Redis: `SET … PX` per key, plus a sorted set by expiry for listing by prefix. */
export function createRedisHeartbeatStore(options: RedisStoreOptions): HeartbeatStore {
  const client = scripted(options.client);
  const prefix = options.prefix ?? 'loopwork';
  const keys = storeKeys(prefix);
  const store: HeartbeatStore = {
    specificationVersion: 'loopwork.heartbeat-store.v1',
    async beat(key, ttlMs, data = {}) {
      const expiresAt = Date.now() + ttlMs;
      await client.loopworkBeat(
        keys.heartbeat(key),
        keys.heartbeats,
        JSON.stringify({ data, expiresAt }),
        Math.max(1, Math.ceil(ttlMs)),
        expiresAt,
        key,
      );
    },
    async beatMany(many, ttlMs) {
      if (many.length === 0) return;
      const expiresAt = Date.now() + ttlMs;
      await client.loopworkBeatMany(
        1 + many.length,
        keys.heartbeats,
        ...many.map(({ key }) => keys.heartbeat(key)),
        Math.max(1, Math.ceil(ttlMs)),
        expiresAt,
        ...many.flatMap(({ key, data = {} }) => [JSON.stringify({ data, expiresAt }), key]),
      );
    },
    async get(key) {
      const raw = await client.get(keys.heartbeat(key));
      return raw === null ? undefined : (JSON.parse(raw) as Heartbeat);
    },
    async remove(key) {
      await client.multi().del(keys.heartbeat(key)).zrem(keys.heartbeats, key).exec();
    },
    async list(prefix) {
      const now = Date.now();
      await client.zremrangebyscore(keys.heartbeats, '-inf', now);
      const all = (await client.zrangebyscore(keys.heartbeats, now, '+inf'))
        .filter((key) => key.startsWith(prefix))
        .sort();
      if (all.length === 0) return [];
      const raws = await client.mget(all.map((key) => keys.heartbeat(key)));
      return all.flatMap((key, i) => {
        const raw = raws[i];
        return raw ? [{ key, ...(JSON.parse(raw) as Heartbeat) }] : [];
      });
    },
  };
  // For the queue's claim, which may write a started run's first beat (see handles.ts).
  const handle: HeartbeatStoreHandle = { client: options.client, prefix };
  Object.defineProperty(store, HEARTBEAT_STORE_HANDLE, { value: handle });
  return store;
}

/** Blobs on Redis: one binary-safe string per key, plus a sorted set of keys for prefix listing. */
export function createRedisBlobStore(options: RedisStoreOptions): BlobStore {
  const { client } = options;
  const keys = storeKeys(options.prefix ?? 'loopwork');
  return {
    specificationVersion: 'loopwork.blob-store.v1',
    async put(key, data) {
      await client.multi().set(keys.blob(key), Buffer.from(data)).zadd(keys.blobs, 0, key).exec();
    },
    async get(key) {
      const data = await client.getBuffer(keys.blob(key));
      return data === null ? undefined : new Uint8Array(data);
    },
    async delete(key) {
      await client.multi().del(keys.blob(key)).zrem(keys.blobs, key).exec();
    },
    async list(prefix) {
      // Lexicographic range over bytes: the byte 0xff sorts after every byte of UTF-8 text.
      const end = Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]);
      return client.zrangebylex(keys.blobs, `[${prefix}`, end);
    },
  };
}
