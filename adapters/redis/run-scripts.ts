import { isFinal, type RunRecord, type RunTransition } from 'loopwork';
import { stalenessClock } from 'loopwork/adapter-kit';
import type { RedisClient } from './client';
import type { RunStoreHandle } from './handles';
import { storeKeys } from './keys';

/**
 * The run store's Lua, as bodies that read `KEYS` and `ARGV`: a script of their own in the run
 * store, and wrapped as functions (`local function f(KEYS, ARGV) … end`, the parameters shadowing
 * the globals) inside the queue's joint scripts, which create or end a run and enqueue or ack its
 * message in one step (see `jointWith` in redis-queue.ts).
 */

/** Wraps a script body as a local Lua function of (KEYS, ARGV). */
export const luaFunction = (name: string, body: string) =>
  `local function ${name}(KEYS, ARGV)${body}\nend\n`;

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

/**
 * KEYS: run hash, its status index, the index of all runs. ARGV: runId, status-index score,
 * queuedAt, key prefix of run hashes, then field/value pairs. → 1 | 0 when it exists.
 */
export const CREATE_RUN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
-- Expired runs leave their id in the index of all runs; two sampled ids per create keep it clean.
for _, id in ipairs(redis.call('ZRANDMEMBER', KEYS[3], 2)) do
  if redis.call('EXISTS', ARGV[4] .. id) == 0 then redis.call('ZREM', KEYS[3], id) end
end
return 1`;

/**
 * KEYS: run hash. ARGV: status index prefix, runId, from (csv), to, version ('' = any),
 * attempt ('' = any), now, retainMs ('' = keep), 1 when `to` is final, n = number of set
 * arguments, then n set arguments (field/value pairs), then fields to remove.
 * → {updatedAt, version} as written | 0 when a precondition failed. (The run store's script
 * answers the record, read after; a caller that knows the record at the version it fenced on can
 * build it from these two: see {@link recordAfter}.)
 *
 * The fields to remove are read with the checked ones (one HMGET), and only those present are
 * removed: the common unsets (`availableAt` on a first start, `error` on a first success)
 * name absent fields, and an HDEL of nothing is a command for nothing.
 */
export const TRANSITION_RUN = `
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
return {string.format('%d', updatedAt), string.format('%d', (tonumber(version) or 0) + 1)}`;

/** The run store's transition: TRANSITION_RUN, then the record as written (HGETALL) | 0. */
export const TRANSITION_RUN_READ = `${luaFunction('transitionRun', TRANSITION_RUN)}
if transitionRun(KEYS, ARGV) == 0 then return 0 end
return redis.call('HGETALL', KEYS[1])`;

/** A record as hash fields: scalars as themselves, objects as JSON. */
export function toFields(record: Partial<RunRecord>): string[] {
  return Object.entries(record).flatMap(([key, value]) =>
    value === undefined ? [] : [key, JSON_FIELDS.has(key) ? JSON.stringify(value) : String(value)],
  );
}

/** A hash field's value as the record holds it. */
const decode = (key: string, value: string): unknown =>
  JSON_FIELDS.has(key) ? JSON.parse(value) : NUMBER_FIELDS.has(key) ? Number(value) : value;

export function fromHash(hash: Record<string, string>): RunRecord | undefined {
  if (hash.runId === undefined) return undefined;
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hash)) record[key] = decode(key, value);
  return record as unknown as RunRecord;
}

/**
 * The record a transition fenced on `record`'s version wrote, as a read of it would answer:
 * `record` with the transition's fields as stored (`set`, the field/value pairs sent), without
 * its removed fields, with the status and the `updatedAt` and `version` TRANSITION_RUN answered.
 * Nothing but this transition wrote the run since that version, so no read is needed.
 */
export function recordAfter(
  record: RunRecord,
  transition: RunTransition,
  set: string[],
  [updatedAt, version]: [string, string],
): RunRecord {
  const next: Record<string, unknown> = { ...record };
  for (let i = 0; i + 1 < set.length; i += 2) {
    next[set[i] as string] = decode(set[i] as string, set[i + 1] as string);
  }
  for (const field of transition.unset ?? []) delete next[field];
  next.status = transition.to;
  next.updatedAt = Number(updatedAt);
  next.version = Number(version);
  return next as unknown as RunRecord;
}

export function fromPairs(list: string[]): RunRecord | undefined {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) hash[list[i] as string] = list[i + 1] as string;
  return fromHash(hash);
}

/** The handle of a run store made by `createRedisRunStore` with these settings. */
export function runStoreHandle(
  client: RedisClient,
  prefix: string,
  retainMs: number,
): RunStoreHandle {
  const keys = storeKeys(prefix);
  const indexPrefix = keys.runsByStatus('');
  const runPrefix = keys.run('');
  return {
    client,
    prefix,
    startArgs: (workerId) => [workerId, indexPrefix, runPrefix, String(retainMs)],
    create: (record) => ({
      keys: [keys.run(record.runId), keys.runsByStatus(record.status), keys.runsAll],
      args: [record.runId, stalenessClock(record), record.queuedAt, runPrefix, ...toFields(record)],
    }),
    transition(runId, transition) {
      const set = toFields(transition.set ?? {});
      return {
        set,
        keys: [keys.run(runId)],
        args: [
          indexPrefix,
          runId,
          transition.from.join(','),
          transition.to,
          transition.version === undefined ? '' : String(transition.version),
          transition.attempt === undefined ? '' : String(transition.attempt),
          Date.now(),
          String(retainMs),
          isFinal(transition.to) ? '1' : '0',
          set.length,
          ...set,
          ...(transition.unset ?? []),
        ],
      };
    },
  };
}
