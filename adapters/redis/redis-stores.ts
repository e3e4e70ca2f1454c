import type { Redis } from 'ioredis';
import {
  type BlobStore,
  ConflictError,
  type Heartbeat,
  type HeartbeatStore,
  InvalidOptionError,
  parseRunState,
  type RunState,
  type SessionStore,
  STORE_DEFAULTS,
} from 'loopwork';
import { storeKeys } from './keys';

/** Options shared by the Redis stores. */
export interface RedisStoreOptions {
  /** A connected ioredis client; the store never closes it. */
  client: Redis;
  /** Prefix of every key. @defaultValue 'loopwork' */
  prefix?: string;
}

const STORE_SCRIPTS = {
  /** KEYS: session hash. ARGV: expected version ('' = none), json, ttl ms ('' = keep). → {new version, ''} or {-1, actual} */
  saveSession: {
    numberOfKeys: 1,
    lua: `
local current = redis.call('HGET', KEYS[1], 'version')
if (current or '') ~= ARGV[1] then return {-1, current or ''} end
local version = (tonumber(current) or 0) + 1
redis.call('HSET', KEYS[1], 'version', version, 'state', ARGV[2])
if ARGV[3] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {version, ''}`,
  },
} as const;

type StoreClient = Redis & {
  saveSession(
    key: string,
    expected: string,
    json: string,
    ttlMs: string,
  ): Promise<[number, string]>;
};

function scripted(client: Redis): StoreClient {
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
 * Run checkpoints on Redis: one hash per key with the state and its version; saves are a
 * compare-and-set in a Lua script, so a stale write is refused with `ConflictError`.
 */
export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const client = scripted(options.client);
  const keys = storeKeys(options.prefix ?? 'loopwork');
  const retainMs = options.retainMs ?? STORE_DEFAULTS.checkpointRetentionMs;
  if (retainMs !== undefined && !(Number.isFinite(retainMs) && retainMs > 0))
    throw new InvalidOptionError(
      `[loopwork:redis] retainMs must be a positive number, got ${retainMs}`,
    );
  return {
    specificationVersion: 'loopwork.session-store.v1',
    async load(key) {
      const [version = null, json = null] = await client.hmget(
        keys.session(key),
        'version',
        'state',
      );
      if (version === null || json === null) return undefined;
      return { state: parseRunState(JSON.parse(json)) as RunState, version: Number(version) };
    },
    async save(key, state, expectedVersion) {
      const [version, actual] = await client.saveSession(
        keys.session(key),
        expectedVersion === null ? '' : String(expectedVersion),
        JSON.stringify(state),
        retainMs === undefined ? '' : String(Math.ceil(retainMs)),
      );
      if (Number(version) < 0) {
        const stored = actual === '' ? null : Number(actual);
        throw new ConflictError(
          `[loopwork:redis] checkpoint "${key}" is at version ${stored}, the write expected ${expectedVersion}; reload and retry`,
          expectedVersion,
          stored,
        );
      }
      return Number(version);
    },
    async delete(key) {
      await client.del(keys.session(key));
    },
    async version(key) {
      const version = await client.hget(keys.session(key), 'version');
      return version === null ? undefined : Number(version);
    },
  };
}

/** Heartbeats on Redis: `SET … PX` per key, plus a sorted set by expiry for listing by prefix. */
export function createRedisHeartbeatStore(options: RedisStoreOptions): HeartbeatStore {
  const { client } = options;
  const keys = storeKeys(options.prefix ?? 'loopwork');
  return {
    specificationVersion: 'loopwork.heartbeat-store.v1',
    async beat(key, ttlMs, data = {}) {
      const expiresAt = Date.now() + ttlMs;
      await client
        .multi()
        .set(
          keys.heartbeat(key),
          JSON.stringify({ data, expiresAt }),
          'PX',
          Math.max(1, Math.ceil(ttlMs)),
        )
        .zadd(keys.heartbeats, expiresAt, key)
        .exec();
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
