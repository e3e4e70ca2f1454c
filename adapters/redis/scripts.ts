import { CREATE_RUN, luaFunction, TRANSITION_RUN } from './run-scripts';

/**
 * Lua scripts: each is one atomic step, so no crash between two commands can lose a message,
 * settle it twice or lease two messages of one group. Times come from the server's clock (TIME),
 * so delays and leases do not depend on the clocks of the machines that enqueue and claim.
 *
 * Leases live in a sorted set per queue (member `<level>|<stream id>`, score = expiry in server
 * milliseconds), written in the same script that takes the entry, so no entry can be pending
 * without a lease that eventually runs out.
 *
 * A message lives in one place at a time: a stream entry (fields `id`, `body`, `dc0` = deliveries
 * before this entry, `dd` = dedupe id, and `g` = group id when grouped), a member of the delayed
 * set (the same as JSON), or, when its group already has a head, a member of the group's list
 * (JSON of `id`, `body`, `level`, `dd` and `due`, the server time it may be claimed from, 0 for at
 * once). Bodies and ids stay JSON strings, so cjson neither reshapes nor rounds them; `due` is a
 * string for the same reason.
 */

const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Adds message `m` to a stream as a new entry, never yet delivered from this entry. */
const TO_STREAM = `
local function toStream(stream, m)
  local fields = {'id', m.id, 'body', m.body, 'dc0', tostring(m.dc0 or 0), 'dd', m.dd or ''}
  if m.g then
    table.insert(fields, 'g')
    table.insert(fields, m.g)
  end
  if m.r then
    table.insert(fields, 'r')
    table.insert(fields, m.r)
  end
  return redis.call('XADD', stream, '*', unpack(fields))
end`;

/** Adds message `m` to the delayed set, claimable from server time `due`. */
const TO_DELAYED = `
local function toDelayed(delayed, due, m)
  redis.call('ZADD', delayed, due, cjson.encode({
    id = m.id, body = m.body, level = m.level, dc0 = tonumber(m.dc0 or 0), dd = m.dd or '', g = m.g, r = m.r}))
end`;

/**
 * The settle scripts (ack, release, deadLetter) share their keys and first arguments.
 * KEYS: high, normal, low, leases, delayed, dedupe, dead, groups, group list (of the receipt's
 * group; any key of the queue when ungrouped). ARGV: consumer group, stream id, consumer, count,
 * level, group id of the receipt, then the script's own.
 *
 * Fencing: the delivery is ours only if the entry is pending for our consumer at our count. The
 * entry's fields are then read from Redis, not taken from the caller: `f`, and `deliveries`.
 */
const SETTLE_PRELUDE = `
local streams = {high = KEYS[1], normal = KEYS[2], low = KEYS[3]}
local stream = streams[ARGV[5]]
if not stream then return redis.error_reply('[loopwork:redis] unknown priority level in receipt: ' .. ARGV[5]) end
local p = redis.call('XPENDING', stream, ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] or tonumber(p[1][4]) ~= tonumber(ARGV[4]) then return 0 end
local e = redis.call('XRANGE', stream, ARGV[2], ARGV[2])
if #e == 0 then return 0 end
local f = {}
for i = 1, #e[1][2], 2 do f[e[1][2][i]] = e[1][2][i + 1] end
if f.g and f.g ~= ARGV[6] then
  return redis.error_reply('[loopwork:redis] the receipt names group "' .. ARGV[6] .. '" but the message is in group "' .. f.g .. '"')
end
local deliveries = tonumber(f.dc0 or '0') + tonumber(p[1][4])
redis.call('XACK', stream, ARGV[1], ARGV[2])
redis.call('XDEL', stream, ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[5] .. '|' .. ARGV[2])`;

/**
 * The message leaves the queue for good (ack, dead-letter): its dedupe id is free again, and the
 * next member of its group, if any, becomes the head: into its stream, or the delayed set while
 * not yet due. A group without members left is forgotten.
 */
const LEAVE = `
if f.dd and f.dd ~= '' and redis.call('HGET', KEYS[6], f.dd) == f.id then redis.call('HDEL', KEYS[6], f.dd) end
if f.g and redis.call('HGET', KEYS[8], f.g) == f.id then
  local raw = redis.call('LPOP', KEYS[9])
  if raw then
    local m = cjson.decode(raw)
    m.g = f.g
    redis.call('HSET', KEYS[8], f.g, m.id)
    local due = tonumber(m.due)
    local later = false
    if due > 0 then
      ${NOW}
      later = due > now
    end
    if later then toDelayed(KEYS[5], due, m) else toStream(streams[m.level], m) end
  else
    redis.call('HDEL', KEYS[8], f.g)
  end
end`;

/**
 * KEYS: high, normal, low, delayed, dedupe, groups, group list (any key of the queue when
 * ungrouped). ARGV: id, body, dedupeId, delayMs, level, grouped ('1' | '0'), groupId.
 * A message of a group that has a head waits in the group's list. → {id, deduplicated}
 */
const ENQUEUE = `
local streams = {high = KEYS[1], normal = KEYS[2], low = KEYS[3]}
if not streams[ARGV[5]] then return redis.error_reply('[loopwork:redis] unknown priority level: ' .. ARGV[5]) end
if ARGV[3] ~= '' then
  local existing = redis.call('HGET', KEYS[5], ARGV[3])
  if existing then return {existing, 1} end
  redis.call('HSET', KEYS[5], ARGV[3], ARGV[1])
end
-- ARGV[8], given only by the joint createEnqueue, is the run id (its record's first argument):
-- kept with the message as field r, so claimStart can start the run in the claim.
local m = {id = ARGV[1], body = ARGV[2], level = ARGV[5], dc0 = 0, dd = ARGV[3], r = ARGV[8]}
local due = 0
if tonumber(ARGV[4]) > 0 then
  ${NOW}
  due = now + tonumber(ARGV[4])
end
if ARGV[6] == '1' then
  m.g = ARGV[7]
  if redis.call('HEXISTS', KEYS[6], m.g) == 1 then
    redis.call('RPUSH', KEYS[7], cjson.encode({
      id = m.id, body = m.body, level = m.level, dd = m.dd, r = m.r, due = string.format('%.0f', due)}))
    return {m.id, 0}
  end
  redis.call('HSET', KEYS[6], m.g, m.id)
end
if due > 0 then toDelayed(KEYS[4], due, m) else toStream(streams[m.level], m) end
return {m.id, 0}`;

/** An error reply unless ARGV[5] names a priority level: checked before a joint script writes anything. */
const CHECK_LEVEL = `
if ARGV[5] ~= 'high' and ARGV[5] ~= 'normal' and ARGV[5] ~= 'low' then
  return redis.error_reply('[loopwork:redis] unknown priority level: ' .. ARGV[5])
end`;

/**
 * The claim (see `claim` below), calling `start(fields, deliveries, now)` for each message it
 * takes: the joint claimStart's starts the message's run, the plain claim's does nothing.
 */
const CLAIM = `
${NOW}
local group, consumer, max, leaseMs = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local limit, hold = tonumber(ARGV[5]), ARGV[6]
local levels = {'high', 'normal', 'low'}
local streams = {high = KEYS[3], normal = KEYS[4], low = KEYS[5]}
for _, raw in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)) do
  local m = cjson.decode(raw)
  toStream(streams[m.level], m)
  redis.call('ZREM', KEYS[1], raw)
end
local out, held, leases = {}, {}, {}
-- Leases of the entries taken are written in one ZADD at the end (one command, not one a task).
local function take(level, id, fields, count)
  table.insert(leases, now + leaseMs)
  table.insert(leases, level .. '|' .. id)
  local dc0 = 0
  for i = 1, #fields, 2 do
    if fields[i] == 'dc0' then dc0 = tonumber(fields[i + 1]) end
  end
  if limit > 0 and dc0 + count > limit then
    redis.call('XCLAIM', streams[level], group, hold, 0, id, 'RETRYCOUNT', count - 1, 'JUSTID')
    table.insert(held, {level, id, fields, count - 1})
  else
    table.insert(out, {level, id, fields, count, start(fields, dc0 + count, now)})
  end
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 2 * max)) do
  if #out >= max or #held >= max then break end
  local level, id = string.match(member, '^(%a+)|(.+)$')
  local claimed = redis.call('XCLAIM', streams[level], group, consumer, 0, id)
  if #claimed > 0 and claimed[1] then
    local p = redis.call('XPENDING', streams[level], group, id, id, 1)
    take(level, id, claimed[1][2], tonumber(p[1][4]))
  else
    redis.call('ZREM', KEYS[2], member)
  end
end
for _, level in ipairs(levels) do
  while #out < max and #held < max do
    local wanted = max - #out
    local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', wanted, 'STREAMS', streams[level], '>')
    if not read or #read[1][2] == 0 then break end
    for _, entry in ipairs(read[1][2]) do take(level, entry[1], entry[2], 1) end
    -- Fewer than asked for: the stream has no more new entries, another read would come back empty.
    if #read[1][2] < wanted then break end
  end
end
for i = 1, #leases, 1000 do
  redis.call('ZADD', KEYS[2], unpack(leases, i, math.min(i + 999, #leases)))
end
-- What a blocking wait needs (when the next entry is due, the last ids) is read only for a
-- claim that took nothing: one that took messages returns without waiting.
if #out > 0 then return {out, held, -1, {}} end
local nextDue = -1
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first > 0 then nextDue = math.max(0, tonumber(first[2]) - now) end
local nextLease = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #nextLease > 0 then
  local leaseDue = math.max(0, tonumber(nextLease[2]) - now)
  if nextDue < 0 or leaseDue < nextDue then nextDue = leaseDue end
end
local lastIds = {}
for _, level in ipairs(levels) do
  local last = redis.call('XREVRANGE', streams[level], '+', '-', 'COUNT', 1)
  table.insert(lastIds, #last > 0 and last[1][1] or '0-0')
end
return {out, held, nextDue, lastIds}`;

export const SCRIPTS = {
  /** See ENQUEUE. */
  enqueue: {
    numberOfKeys: 7,
    lua: `${TO_STREAM}${TO_DELAYED}${ENQUEUE}`,
  },
  /**
   * KEYS: delayed, leases, high, normal, low. ARGV: group, consumer, max, leaseMs, limit (most
   * deliveries per message, 0: unlimited), hold (the consumer that holds messages over the limit).
   * Moves due delayed entries into their streams, takes over entries whose lease ran out, then
   * reads new entries by priority. An entry over the limit is leased too (so nobody else takes it
   * meanwhile) but held apart for dead-lettering: given to `hold` with its count put back, so a
   * take that no consumer sees is not counted as a delivery. → {{level, id, fields, count}…} taken,
   * the same of held entries (count = deliveries made), ms until the next delayed entry is due or
   * lease runs out (-1: none), and the last id of each stream (for a blocking wait after them);
   * the last two only when nothing was taken (-1 and {} otherwise: the claim does not wait).
   */
  claim: {
    numberOfKeys: 5,
    lua: `${TO_STREAM}
local function start() return nil end
${CLAIM}`,
  },
  /**
   * Joint step: `claim`, and each message the joint createEnqueue sent (field r, the run id) on
   * its first delivery starts its run in the same step, as the worker's fresh start would: fenced
   * on the record as the dispatcher made it (queued, version 1, attempt 0); running, attempt 1,
   * this worker (ARGV[7]) and message, started now. KEYS: claim's. ARGV: claim's 6, then the
   * worker id, the run store's status-index prefix, its run-key prefix, its retainMs, then the
   * first heartbeat's JSON ('' = none), ttl ms, expiry, the heartbeat key prefix and index.
   * → as claim, a taken entry with the started record (HGETALL) fifth when its run started.
   */
  claimStart: {
    numberOfKeys: 5,
    lua: `${TO_STREAM}
${luaFunction('transitionRun', TRANSITION_RUN)}
local function start(fields, deliveries, now)
  if deliveries ~= 1 then return nil end
  local runId, id
  for i = 1, #fields, 2 do
    if fields[i] == 'r' then runId = fields[i + 1] elseif fields[i] == 'id' then id = fields[i + 1] end
  end
  if not runId or not id then return nil end
  local at = string.format('%d', now)
  local written = transitionRun({ARGV[9] .. runId}, {ARGV[8], runId, 'queued', 'running', '1', '0', at, ARGV[10], '0',
    8, 'attempt', '1', 'workerId', ARGV[7], 'messageId', id, 'startedAt', at, 'availableAt'})
  if written == 0 then return nil end
  if ARGV[11] ~= '' then
    -- The run's first heartbeat, as the heartbeat store writes it (see loopworkBeat).
    redis.call('SET', ARGV[14] .. 'run:' .. runId, ARGV[11], 'PX', ARGV[12])
    redis.call('ZADD', ARGV[15], ARGV[13], 'run:' .. runId)
  end
  return redis.call('HGETALL', ARGV[9] .. runId)
end
${CLAIM}`,
  },
  /** Settle keys and arguments (see SETTLE_PRELUDE). → 1 | 0 (lost) */
  ack: {
    numberOfKeys: 9,
    lua: `${TO_STREAM}${TO_DELAYED}${SETTLE_PRELUDE}${LEAVE}
return 1`,
  },
  /**
   * Settle keys and arguments, then delayMs. The message goes back as a new entry carrying its
   * deliveries so far; a group's head stays its head. → 1 | 0 (lost)
   */
  release: {
    numberOfKeys: 9,
    lua: `${TO_STREAM}${TO_DELAYED}${SETTLE_PRELUDE}
local m = {id = f.id, body = f.body, level = ARGV[5], dc0 = deliveries, dd = f.dd, g = f.g}
if tonumber(ARGV[7]) > 0 then
  ${NOW}
  toDelayed(KEYS[5], now + tonumber(ARGV[7]), m)
else
  toStream(stream, m)
end
return 1`,
  },
  /** KEYS: stream, leases. ARGV: group, streamId, consumer, count, level, leaseMs. → 1 | 0 (lost) */
  extend: {
    numberOfKeys: 2,
    lua: `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] or tonumber(p[1][4]) ~= tonumber(ARGV[4]) then return 0 end
${NOW}
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[5] .. '|' .. ARGV[2])
return 1`,
  },
  /**
   * `extend` for many messages of one queue: KEYS: high, normal, low, leases. ARGV: group,
   * leaseMs, then per message its stream id, consumer, count and level. Each lease is renewed
   * only where `extend` would renew it; the renewed ones in one ZADD. → {1 | 0 (lost)} per message.
   */
  extendMany: {
    numberOfKeys: 4,
    lua: `
local streams = {high = KEYS[1], normal = KEYS[2], low = KEYS[3]}
${NOW}
local group, expiry = ARGV[1], now + tonumber(ARGV[2])
local out, leases = {}, {}
for i = 3, #ARGV, 4 do
  local id, level = ARGV[i], ARGV[i + 3]
  local renewed = 0
  if streams[level] then
    local p = redis.call('XPENDING', streams[level], group, id, id, 1)
    if #p > 0 and p[1][2] == ARGV[i + 1] and tonumber(p[1][4]) == tonumber(ARGV[i + 2]) then
      renewed = 1
      table.insert(leases, expiry)
      table.insert(leases, level .. '|' .. id)
    end
  end
  table.insert(out, renewed)
end
for i = 1, #leases, 1000 do
  redis.call('ZADD', KEYS[4], unpack(leases, i, math.min(i + 999, #leases)))
end
return out`,
  },
  /** Settle keys and arguments, then reason. The letter counts the deliveries made. → 1 | 0 (lost) */
  deadLetter: {
    numberOfKeys: 9,
    lua: `${TO_STREAM}${TO_DELAYED}${SETTLE_PRELUDE}${LEAVE}
redis.call('XADD', KEYS[7], '*', 'id', f.id, 'body', f.body, 'deliveries', tostring(deliveries), 'reason', ARGV[7])
return 1`,
  },
  /**
   * Joint step (see `jointWith`): a run's record created (CREATE_RUN), then its message enqueued
   * (ENQUEUE); neither when the run exists. KEYS: ENQUEUE's 7, then CREATE_RUN's 3. ARGV: ENQUEUE's 7,
   * then CREATE_RUN's. → {id, deduplicated} | 0 when the run exists.
   */
  createEnqueue: {
    numberOfKeys: 10,
    lua: `${TO_STREAM}${TO_DELAYED}
${luaFunction('createRun', CREATE_RUN)}
${luaFunction('enqueue', ENQUEUE)}
${CHECK_LEVEL}
if createRun({KEYS[8], KEYS[9], KEYS[10]}, {unpack(ARGV, 8)}) == 0 then return 0 end
return enqueue(KEYS, ARGV)`,
  },
  /**
   * Joint step: a run's transition (TRANSITION_RUN), then, only when it applied, the ack of its
   * message (fenced as `ack` is; a lost lease leaves the message and still answers the write).
   * When it applied and ARGV[7] is not '', that event is appended to the run's event stream too
   * (as the event log's append does). KEYS: the settle keys, the run hash, the run's event stream.
   * ARGV: the settle arguments (6), the event's JSON ('' = none), the stream's retainMs, '1' when
   * the caller knows the record at the version the transition is fenced on (it then needs only
   * TRANSITION_RUN's {updatedAt, version}), then TRANSITION_RUN's. → {updatedAt, version}, or the
   * record when ARGV[9] is not '1' | 0 when the transition did not apply (nothing written).
   */
  ackTransition: {
    numberOfKeys: 11,
    lua: `${TO_STREAM}${TO_DELAYED}
${luaFunction('transitionRun', TRANSITION_RUN)}
${luaFunction('ack', `${SETTLE_PRELUDE}${LEAVE}\nreturn 1`)}
${CHECK_LEVEL}
local written = transitionRun({KEYS[10]}, {unpack(ARGV, 10)})
if written == 0 then return 0 end
if ARGV[9] ~= '1' then written = redis.call('HGETALL', KEYS[10]) end
if ARGV[7] ~= '' then
  redis.call('XADD', KEYS[11], '*', 'data', ARGV[7])
  redis.call('PEXPIRE', KEYS[11], ARGV[8])
end
local acked = ack(KEYS, ARGV)
-- An error reply of the settle (a receipt naming another group) is passed on; the write stands.
if type(acked) == 'table' then return acked end
return written`,
  },
} as const;
