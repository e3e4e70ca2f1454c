import type { Redis } from 'ioredis';
import {
  type BlobStore,
  ConflictError,
  type Heartbeat,
  type HeartbeatStore,
  parseRunState,
  type RunRecord,
  type RunState,
  type RunStore,
  type SessionStore,
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
  /** KEYS: session hash. ARGV: expected version ('' = none), json. → {new version, ''} or {-1, actual} */
  saveSession: {
    numberOfKeys: 1,
    lua: `
local current = redis.call('HGET', KEYS[1], 'version')
if (current or '') ~= ARGV[1] then return {-1, current or ''} end
local version = (tonumber(current) or 0) + 1
redis.call('HSET', KEYS[1], 'version', version, 'state', ARGV[2])
return {version, ''}`,
  },
  /** KEYS: run hash, status index. ARGV: runId, status, updatedAt, then field/value pairs. → 1 | 0 exists */
  createRun: {
    numberOfKeys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1`,
  },
  /**
   * KEYS: run hash. ARGV: index key prefix, runId, from (csv), to, attempt ('' = any), now,
   * unchangedSince ('' = any), then field/value pairs to set. updatedAt only ever grows, so
   * unchangedSince tells apart two transitions in one millisecond. Fields are updated in place: the payload is never decoded in Lua,
   * whose cjson would turn [] into {} and round numbers to 14 digits.
   */
  transitionRun: {
    numberOfKeys: 1,
    lua: `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
local allowed = false
for candidate in string.gmatch(ARGV[3], '[^,]+') do if candidate == status then allowed = true end end
if not allowed then return 0 end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[5] then return 0 end
local previous = redis.call('HGET', KEYS[1], 'updatedAt')
if ARGV[7] ~= '' and previous ~= ARGV[7] then return 0 end
local updatedAt = string.format('%d', math.max(tonumber(ARGV[6]), (tonumber(previous) or 0) + 1))
redis.call('HSET', KEYS[1], 'status', ARGV[4], 'updatedAt', updatedAt)
if #ARGV > 7 then redis.call('HSET', KEYS[1], unpack(ARGV, 8)) end
redis.call('ZREM', ARGV[1] .. status, ARGV[2])
redis.call('ZADD', ARGV[1] .. ARGV[4], updatedAt, ARGV[2])
return redis.call('HGETALL', KEYS[1])`,
  },
} as const;

type StoreClient = Redis & {
  createRun(
    run: string,
    index: string,
    runId: string,
    status: string,
    updatedAt: number,
    ...fields: string[]
  ): Promise<number>;
  saveSession(key: string, expected: string, json: string): Promise<[number, string]>;
  transitionRun(
    run: string,
    indexPrefix: string,
    runId: string,
    from: string,
    to: string,
    attempt: string,
    now: number,
    unchangedSince: string,
    ...fields: string[]
  ): Promise<string[] | number>;
};

function scripted(client: Redis): StoreClient {
  for (const [name, script] of Object.entries(STORE_SCRIPTS)) {
    if (!(name in client)) client.defineCommand(name, script);
  }
  return client as StoreClient;
}

/**
 * Run checkpoints on Redis: one hash per key with the state and its version; saves are a
 * compare-and-set in a Lua script, so a stale write is refused with `ConflictError`.
 */
export function createRedisSessionStore(options: RedisStoreOptions): SessionStore {
  const client = scripted(options.client);
  const keys = storeKeys(options.prefix ?? 'loopwork');
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

// A run record is a hash: scalar fields as themselves, `payload` as JSON, so Lua can compare and
// set status and attempt without decoding anything the application owns.
function toFields(record: Partial<RunRecord>): string[] {
  return Object.entries(record).flatMap(([key, value]) =>
    value === undefined ? [] : [key, key === 'payload' ? JSON.stringify(value) : String(value)],
  );
}

function fromFields(hash: Record<string, string>): RunRecord | undefined {
  if (hash.runId === undefined) return undefined;
  return {
    runId: hash.runId,
    taskType: hash.taskType ?? '',
    status: hash.status as RunRecord['status'],
    attempt: Number(hash.attempt),
    payload: hash.payload === undefined ? undefined : JSON.parse(hash.payload),
    createdAt: Number(hash.createdAt),
    updatedAt: Number(hash.updatedAt),
    ...(hash.groupId === undefined ? {} : { groupId: hash.groupId }),
    ...(hash.workerId === undefined ? {} : { workerId: hash.workerId }),
    ...(hash.reason === undefined ? {} : { reason: hash.reason }),
  };
}

/**
 * Run records on Redis: a hash per run plus one sorted set per status scored by `updatedAt`,
 * which answers the watchdog's stale-run query without scanning. Transitions are a Lua
 * compare-and-set on status (and attempt).
 */
export function createRedisRunStore(options: RedisStoreOptions): RunStore {
  const client = scripted(options.client);
  const keys = storeKeys(options.prefix ?? 'loopwork');
  const indexPrefix = keys.runsByStatus('');
  const read = async (runId: string) => fromFields(await client.hgetall(keys.run(runId)));
  return {
    specificationVersion: 'loopwork.run-store.v1',
    async create(record) {
      const created = await client.createRun(
        keys.run(record.runId),
        keys.runsByStatus(record.status),
        record.runId,
        record.status,
        record.updatedAt,
        ...toFields(record),
      );
      if (Number(created) !== 1) {
        throw new ConflictError(`[loopwork:redis] run "${record.runId}" already exists`, null, 1);
      }
    },
    get: read,
    async transition(runId, transition) {
      const moved = await client.transitionRun(
        keys.run(runId),
        indexPrefix,
        runId,
        transition.from.join(','),
        transition.to,
        transition.attempt === undefined ? '' : String(transition.attempt),
        Date.now(),
        transition.unchangedSince === undefined ? '' : String(transition.unchangedSince),
        ...toFields(transition.set ?? {}),
      );
      if (!Array.isArray(moved)) return undefined;
      const hash: Record<string, string> = {};
      for (let i = 0; i + 1 < moved.length; i += 2)
        hash[moved[i] as string] = moved[i + 1] as string;
      return fromFields(hash);
    },
    async listStale(status, updatedBefore, limit = 100) {
      const ids = await client.zrangebyscore(
        keys.runsByStatus(status),
        '-inf',
        `(${updatedBefore}`,
        'LIMIT',
        0,
        limit,
      );
      const records = await Promise.all(ids.map(read));
      return records.filter((record): record is RunRecord => record !== undefined);
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
