import { GROUP_JOB_NAME } from './jobs';

// The Lua steps of message groups, each one atomic; groups.ts explains how they fit together.
// KEYS and ARGV below name fields of GroupKeys (group-scripts.ts).

/** The field ACTIVATE sets on a head's job hash: a grouped job without it is not claimable yet. */
export const ACTIVATED = 'loopworkActivated';

const NOW_AND_PROMOTE_NEXT = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Makes the group's next waiting member its head, in "promoting" until its job is activated;
-- without one the group is done. Returns {id, member} of the new head, or false.
local function promoteNext(heads, members, promoting, groupPrefix, group)
  while true do
    local id = redis.call('LPOP', groupPrefix .. group)
    if not id then
      redis.call('HDEL', heads, group)
      return false
    end
    local member = redis.call('HGET', members, id)
    if member then
      redis.call('HSET', heads, group, id)
      redis.call('ZADD', promoting, nowMs(), id)
      return {id, member}
    end
  end
end
`;

/**
 * Records a grouped message, stored as `<seq>:<member JSON>`: seq is a value of BullMQ's priority
 * counter, so that once the member is the head it is ordered by when it was enqueued, as BullMQ
 * orders any job within its priority. Its dedupe id (if any) is held in BullMQ's deduplication
 * key with a TTL: BullMQ takes over a key without TTL whose job hash does not exist, and a
 * waiting member has none yet. The first member of an idle group becomes its head at once.
 * KEYS: heads, members, promoting, group list, dedupe key (members when none), priority counter.
 * ARGV: id, group, member JSON, job key prefix, dedupe id ('' = none), dedupe hold ms.
 * → {holder id, 1} when deduplicated; {id, 0, stored} when it is the head; {id, 0} when waiting.
 */
const ENQUEUE = `${NOW_AND_PROMOTE_NEXT}
if ARGV[5] ~= '' then
  local holder = redis.call('GET', KEYS[5])
  if holder and (redis.call('EXISTS', ARGV[4] .. holder) == 1
      or redis.call('HEXISTS', KEYS[2], holder) == 1) then
    return {holder, 1}
  end
  redis.call('SET', KEYS[5], ARGV[1], 'PX', ARGV[6])
end
local stored = redis.call('INCR', KEYS[6]) .. ':' .. ARGV[3]
redis.call('HSET', KEYS[2], ARGV[1], stored)
if redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[3], nowMs(), ARGV[1])
  return {ARGV[1], 0, stored}
end
redis.call('RPUSH', KEYS[4], ARGV[1])
return {ARGV[1], 0}`;

/**
 * After the head `settled` was acked or dead-lettered (its job is gone): the next member becomes
 * the head. A no-op when `settled` is no longer the head (the sweep advanced it already).
 * KEYS: heads, members, promoting. ARGV: group, settled id, group list prefix.
 * → {id, member} of the new head, or nil.
 */
const ADVANCE = `${NOW_AND_PROMOTE_NEXT}
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return false end
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
return promoteNext(KEYS[1], KEYS[2], KEYS[3], ARGV[3], ARGV[1])`;

/**
 * Makes a promoting head's job claimable. Its job was added parked (a delay far in the future),
 * so nothing can claim it before this step, which is the only one that checks, atomically, that
 * the member is still promoting. A due job goes where BullMQ's own promotion of a delayed job
 * would put it (the prioritized set, with a marker), but scored with the member's seq, so it
 * keeps its place in enqueue order; one not yet due moves to its due time in the delayed set.
 * The job is marked activated, and its dedupe id handed to BullMQ (which deletes the key when
 * the job completes or fails).
 * A job that is neither promoting nor activated was re-added by a late add after its member was
 * settled: it is deleted, unclaimed.
 * KEYS: members, promoting, delayed, prioritized, marker, job key, dedupe key (members when none).
 * ARGV: id, due (ms), now (ms), dedupe id ('' = none), priority, seq.
 * → 1 activated, 0 not promoting (done before), -1 no job yet (add it first), -2 orphan deleted.
 */
const ACTIVATE = `
local id = ARGV[1]
local exists = redis.call('EXISTS', KEYS[6]) == 1
if not redis.call('ZSCORE', KEYS[2], id) then
  if exists and not redis.call('HGET', KEYS[6], '${ACTIVATED}')
      and redis.call('ZREM', KEYS[3], id) == 1 then
    redis.call('DEL', KEYS[6])
    return -2
  end
  return 0
end
if not exists then return -1 end
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', KEYS[1], id)
redis.call('HSET', KEYS[6], '${ACTIVATED}', '1')
if redis.call('ZREM', KEYS[3], id) == 1 then
  local now = tonumber(ARGV[3])
  local due = tonumber(ARGV[2])
  if due <= now then
    -- BullMQ's priority score: priority x 2^32 + its counter.
    local score = tonumber(ARGV[5]) * 0x100000000 + tonumber(ARGV[6]) % 0x100000000
    redis.call('ZADD', KEYS[4], score, id)
    redis.call('HSET', KEYS[6], 'delay', 0)
    redis.call('ZADD', KEYS[5], 0, '0')
  else
    -- BullMQ's delayed score: due time x 4096, plus a counter keeping FIFO within one millisecond.
    local low = due * 0x1000
    local high = (due + 1) * 0x1000 - 1
    local last = redis.call('ZREVRANGEBYSCORE', KEYS[3], high, low, 'WITHSCORES', 'LIMIT', 0, 1)
    local score = low
    if last[2] then score = math.min(tonumber(last[2]) + 1, high) end
    redis.call('ZADD', KEYS[3], score, id)
    redis.call('HSET', KEYS[6], 'delay', due - now)
    local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    redis.call('ZADD', KEYS[5], tonumber(first[2]) / 0x1000, '1')
  end
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[6], 'deid', ARGV[4])
  if redis.call('GET', KEYS[7]) == id then redis.call('PERSIST', KEYS[7]) end
end
return 1`;

/**
 * Repairs groups whose head was settled but never advanced (a crash between the two steps): the
 * head is not promoting and its job no longer exists.
 * KEYS: heads, members, promoting. ARGV: job key prefix, group list prefix, group ids…
 * → flat list of id, member of each new head.
 */
const REPAIR = `${NOW_AND_PROMOTE_NEXT}
local promoted = {}
for i = 3, #ARGV do
  local head = redis.call('HGET', KEYS[1], ARGV[i])
  if head and not redis.call('ZSCORE', KEYS[3], head)
      and redis.call('EXISTS', ARGV[1] .. head) == 0 then
    redis.call('HDEL', KEYS[2], head)
    local promotedHead = promoteNext(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[i])
    if promotedHead then
      promoted[#promoted + 1] = promotedHead[1]
      promoted[#promoted + 1] = promotedHead[2]
    end
  end
end
return promoted`;

/**
 * Heads promoting for longer than a grace period (their promoter may have died).
 * KEYS: promoting, members. ARGV: grace ms, limit. → flat list of id, stored member ('' when missing).
 */
const STALE = `${NOW_AND_PROMOTE_NEXT}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs() - tonumber(ARGV[1]),
  'LIMIT', 0, tonumber(ARGV[2]))
local found = {}
for _, id in ipairs(ids) do
  found[#found + 1] = id
  found[#found + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return found`;

/**
 * Deletes parked grouped jobs that are neither promoting nor activated: re-added by a late add
 * whose process then died before ACTIVATE could delete them.
 * KEYS: delayed, promoting. ARGV: lowest parked score, job key prefix. → number deleted.
 */
const ORPHANS = `
local removed = 0
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'LIMIT', 0, 100)
for _, id in ipairs(ids) do
  local job = ARGV[2] .. id
  local fields = redis.call('HMGET', job, 'name', '${ACTIVATED}')
  if fields[1] and string.sub(fields[1], 1, ${GROUP_JOB_NAME.length}) == '${GROUP_JOB_NAME}'
      and not fields[2] and not redis.call('ZSCORE', KEYS[2], id) then
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', job)
    removed = removed + 1
  end
end
return removed`;

/** Each script's command name → [number of keys, Lua]. */
export const SCRIPTS = {
  loopworkBullmqGroupEnqueue: [6, ENQUEUE],
  loopworkBullmqGroupAdvance: [3, ADVANCE],
  loopworkBullmqGroupActivate: [7, ACTIVATE],
  loopworkBullmqGroupRepair: [3, REPAIR],
  loopworkBullmqGroupStale: [2, STALE],
  loopworkBullmqGroupOrphans: [2, ORPHANS],
} as const;
