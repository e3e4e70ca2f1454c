import {
  ConflictError,
  InvalidOptionError,
  type ParsedRunQuery,
  type RunRecord,
  type RunStore,
  STORE_DEFAULTS,
} from 'loopwork';
import { listPosition, parseRunQuery, runCursor, stalenessClock } from 'loopwork/adapter-kit';
import type { RedisClient } from './client';
import { storeKeys } from './keys';
import type { RedisStoreOptions } from './redis-stores';

/** Options of {@link createRedisRunStore}. */
export interface RedisRunStoreOptions extends RedisStoreOptions {
  /** A final run's record expires this long after it ended. @defaultValue STORE_DEFAULTS.runRetentionMs (7 days) */
  retainMs?: number;
}

const FINAL = new Set([
  'completed',
  'max_turns',
  'budget_exceeded',
  'waiting_input',
  'failed',
  'timed_out',
  'cancelled',
  'dead_lettered',
]);
/** Fields stored as JSON; Lua never decodes them (its cjson would turn [] into {} and round numbers). */
const JSON_FIELDS = new Set(['payload', 'output', 'outputRef', 'usage', 'error', 'cancel']);
const NUMBER_FIELDS = new Set([
  'attempt',
  'maxAttempts',
  'version',
  'queuedAt',
  'availableAt',
  'startedAt',
  'finishedAt',
  'updatedAt',
  'costUsd',
]);

const SCRIPTS = {
  /**
   * KEYS: run hash, its status index, the index of all runs. ARGV: runId, status-index score,
   * queuedAt, key prefix of run hashes, then field/value pairs. → 1 | 0 when it exists.
   */
  loopworkCreateRun: {
    numberOfKeys: 3,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
-- Expired runs leave their id in the index of all runs; two sampled ids per create keep it clean.
for _, id in ipairs(redis.call('ZRANDMEMBER', KEYS[3], 2)) do
  if redis.call('EXISTS', ARGV[4] .. id) == 0 then redis.call('ZREM', KEYS[3], id) end
end
return 1`,
  },
  /**
   * KEYS: run hash. ARGV: status index prefix, runId, from (csv), to, version ('' = any),
   * attempt ('' = any), now, retainMs ('' = keep), 1 when \`to\` is final, n = number of set
   * arguments, then n set arguments (field/value pairs), then fields to remove.
   * → the record (HGETALL) | 0 when a precondition failed.
   *
   * The fields to remove are read with the checked ones (one HMGET), and only those present are
   * removed: the common unsets (\`availableAt\` on a first start, \`error\` on a first success)
   * name absent fields, and an HDEL of nothing is a command for nothing.
   */
  loopworkTransitionRun: {
    numberOfKeys: 1,
    lua: `
-- One read of the fields the checks need, one write: a transition runs on every start and end.
local n = tonumber(ARGV[10])
local current = redis.call('HMGET', KEYS[1], 'status', 'version', 'attempt', 'updatedAt', 'availableAt', unpack(ARGV, 11 + n))
local status = current[1]
if not status then return 0 end
local allowed = false
for candidate in string.gmatch(ARGV[3], '[^,]+') do if candidate == status then allowed = true end end
if not allowed then return 0 end
local version = current[2]
if ARGV[5] ~= '' and version ~= ARGV[5] then return 0 end
if ARGV[6] ~= '' and current[3] ~= ARGV[6] then return 0 end
local updatedAt = math.max(tonumber(ARGV[7]), (tonumber(current[4]) or 0) + 1)
local availableAt = current[5]
local fields, written = {}, {}
for i = 11, 10 + n, 2 do
  written[ARGV[i]] = true
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
  if ARGV[i] == 'availableAt' then availableAt = ARGV[i + 1] end
end
fields[#fields + 1] = 'status'
fields[#fields + 1] = ARGV[4]
fields[#fields + 1] = 'updatedAt'
fields[#fields + 1] = string.format('%d', updatedAt)
fields[#fields + 1] = 'version'
fields[#fields + 1] = string.format('%d', (tonumber(version) or 0) + 1)
redis.call('HSET', KEYS[1], unpack(fields))
local present = {}
for i = 11 + n, #ARGV do
  -- HMGET answered removed field ARGV[i] at i - 5 - n; one this write set goes too, as before.
  if current[i - 5 - n] or written[ARGV[i]] then present[#present + 1] = ARGV[i] end
  if ARGV[i] == 'availableAt' then availableAt = nil end
end
if #present > 0 then redis.call('HDEL', KEYS[1], unpack(present)) end
local clock = math.max(updatedAt, tonumber(availableAt) or 0)
-- A run staying in its status only moves in its index: ZADD alone rescores it.
if status ~= ARGV[4] then redis.call('ZREM', ARGV[1] .. status, ARGV[2]) end
redis.call('ZADD', ARGV[1] .. ARGV[4], string.format('%d', clock), ARGV[2])
if ARGV[9] == '1' and ARGV[8] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
  -- Ids of final runs whose record expired by now leave their status index.
  redis.call('ZREMRANGEBYSCORE', ARGV[1] .. ARGV[4], '-inf', '(' .. string.format('%d', updatedAt - tonumber(ARGV[8])))
end
return redis.call('HGETALL', KEYS[1])`,
  },
} as const;

type Script = (...args: Array<string | number>) => Promise<unknown>;
type ScriptClient = RedisClient & Record<keyof typeof SCRIPTS, Script>;

/** A record as hash fields: scalars as themselves, objects as JSON. */
function toFields(record: Partial<RunRecord>): string[] {
  return Object.entries(record).flatMap(([key, value]) =>
    value === undefined ? [] : [key, JSON_FIELDS.has(key) ? JSON.stringify(value) : String(value)],
  );
}

function fromHash(hash: Record<string, string>): RunRecord | undefined {
  if (hash.runId === undefined) return undefined;
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hash)) {
    if (JSON_FIELDS.has(key)) record[key] = JSON.parse(value);
    else if (NUMBER_FIELDS.has(key)) record[key] = Number(value);
    else record[key] = value;
  }
  return record as unknown as RunRecord;
}

function fromPairs(list: string[]): RunRecord | undefined {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) hash[list[i] as string] = list[i + 1] as string;
  return fromHash(hash);
}

/**
 * Run records on Redis: a hash per run, one sorted set per status scored by its staleness clock
 * (the watchdog's stale-run query and the status listing read it without scanning), and one
 * sorted set of all runs by `queuedAt` (the listing). Transitions are one Lua compare-and-set on
 * status, version and attempt. A final run's hash expires `retainMs` after it ended; the ids it
 * leaves in the indexes are swept as they are met.
 *
 * @example
 * ```ts
 * const runs = createRedisRunStore({ client: redis, retainMs: 3 * 24 * 3_600_000 });
 * const { runs: failed } = await runs.list({ status: 'failed', limit: 20 });
 * ```
 */
export function createRedisRunStore(options: RedisRunStoreOptions): RunStore {
  const client = options.client as ScriptClient;
  for (const [name, script] of Object.entries(SCRIPTS))
    if (!(name in client)) client.defineCommand(name, script);
  const retainMs = options.retainMs ?? STORE_DEFAULTS.runRetentionMs;
  if (!(Number.isFinite(retainMs) && retainMs > 0))
    throw new InvalidOptionError(
      `[loopwork:redis] retainMs must be a positive number, got ${retainMs}`,
    );
  const keys = storeKeys(options.prefix ?? 'loopwork');
  const indexPrefix = keys.runsByStatus('');
  const runPrefix = keys.run('');

  /** The records of `ids`, in order; ids whose record expired are dropped from `index`. */
  async function readAll(ids: string[], index: string): Promise<Array<RunRecord | undefined>> {
    if (ids.length === 0) return [];
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.hgetall(keys.run(id));
    const results = (await pipeline.exec()) ?? [];
    const records = results.map(([error, hash]) => {
      if (error) throw error;
      return fromHash(hash as Record<string, string>);
    });
    const gone = ids.filter((_, i) => records[i] === undefined);
    if (gone.length > 0) await client.zrem(index, ...gone);
    return records;
  }

  /** One page of `query` from its index, newest first, scanning at most a bounded number of ids. */
  async function page(query: ParsedRunQuery) {
    const index = query.status ? keys.runsByStatus(query.status) : keys.runsAll;
    const matched: RunRecord[] = [];
    const budget = Math.max(500, query.limit * 10);
    let scanned = 0;
    let max = query.after ? String(query.after.score) : '+inf';
    let skip = 0; // ids already seen at exactly `max`
    let last: { score: number; runId: string } | undefined;
    while (matched.length <= query.limit && scanned < budget) {
      const batch = (await client.zrevrangebyscore(
        index,
        max,
        '-inf',
        'WITHSCORES',
        'LIMIT',
        skip,
        200,
      )) as string[];
      if (batch.length === 0) return { matched, exhausted: true, last };
      const entries: Array<{ runId: string; score: number }> = [];
      for (let i = 0; i + 1 < batch.length; i += 2)
        entries.push({ runId: batch[i] as string, score: Number(batch[i + 1]) });
      const lastScore = entries.at(-1)!.score;
      const atLast = entries.filter((entry) => entry.score === lastScore).length;
      skip = String(lastScore) === max ? skip + atLast : atLast;
      max = String(lastScore);
      const fresh = entries.filter((entry) => {
        const after = query.after;
        return (
          !after ||
          entry.score < after.score ||
          (entry.score === after.score && entry.runId < after.runId)
        );
      });
      const records = await readAll(
        fresh.map((entry) => entry.runId),
        index,
      );
      for (const [i, record] of records.entries()) {
        scanned += 1;
        last = fresh[i];
        if (
          record &&
          (query.status === undefined || record.status === query.status) &&
          (query.taskType === undefined || record.taskType === query.taskType) &&
          (query.groupId === undefined || record.groupId === query.groupId)
        )
          matched.push(record);
        if (matched.length > query.limit) break;
      }
    }
    return { matched, exhausted: false, last };
  }

  return {
    specificationVersion: 'loopwork.run-store.v2',
    async create(record) {
      const created = await client.loopworkCreateRun(
        keys.run(record.runId),
        keys.runsByStatus(record.status),
        keys.runsAll,
        record.runId,
        stalenessClock(record),
        record.queuedAt,
        runPrefix,
        ...toFields(record),
      );
      if (Number(created) !== 1) {
        throw new ConflictError(`[loopwork:redis] run "${record.runId}" already exists`, null, 1);
      }
    },
    async get(runId) {
      return fromHash(await client.hgetall(keys.run(runId)));
    },
    async transition(runId, transition) {
      const set = toFields(transition.set ?? {});
      const moved = await client.loopworkTransitionRun(
        keys.run(runId),
        indexPrefix,
        runId,
        transition.from.join(','),
        transition.to,
        transition.version === undefined ? '' : String(transition.version),
        transition.attempt === undefined ? '' : String(transition.attempt),
        Date.now(),
        String(retainMs),
        FINAL.has(transition.to) ? '1' : '0',
        set.length,
        ...set,
        ...(transition.unset ?? []),
      );
      return Array.isArray(moved) ? fromPairs(moved as string[]) : undefined;
    },
    async list(query = {}) {
      const parsed = parseRunQuery(query);
      const { matched, exhausted, last } = await page(parsed);
      const runs = matched.slice(0, parsed.limit);
      if (matched.length > parsed.limit)
        return { runs, cursor: runCursor(listPosition(runs.at(-1)!, query)) };
      // The scan budget ran out before the page filled: carry on from the last id looked at.
      return !exhausted && last ? { runs, cursor: runCursor(last) } : { runs };
    },
    async listStale(status, before, limit = 100) {
      const index = keys.runsByStatus(status);
      const ids = await client.zrangebyscore(index, '-inf', `(${before}`, 'LIMIT', 0, limit);
      const records = await readAll(ids, index);
      return records.filter((record): record is RunRecord => record !== undefined);
    },
  };
}
