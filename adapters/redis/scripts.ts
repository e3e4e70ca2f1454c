/**
 * Lua scripts: each is one atomic step, so no crash between two commands can lose a message or
 * settle it twice. Times come from the server's clock (TIME), so delays and leases do not depend
 * on the clocks of the machines that enqueue and claim.
 *
 * Leases live in a sorted set per queue (member `<level>|<stream id>`, score = expiry in server
 * milliseconds), written in the same script that takes the entry, so no entry can be pending
 * without a lease that eventually runs out.
 */

const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Fencing: the delivery is ours only if the entry is pending for our consumer at our count. */
const OWNED = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] or tonumber(p[1][4]) ~= tonumber(ARGV[4]) then return 0 end`;

/** Removes a settled entry and its lease; streams then hold only live entries and need no trimming. */
const SETTLE = `
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[5] .. '|' .. ARGV[2])`;

export const SCRIPTS = {
  /** KEYS: stream, delayed, dedupe. ARGV: id, body, dedupeId, delayMs, level. → {id, deduplicated} */
  enqueue: {
    numberOfKeys: 3,
    lua: `
if ARGV[3] ~= '' then
  local existing = redis.call('HGET', KEYS[3], ARGV[3])
  if existing then return {existing, 1} end
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
end
if tonumber(ARGV[4]) > 0 then
  ${NOW}
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]),
    cjson.encode({id = ARGV[1], body = ARGV[2], level = ARGV[5], dc0 = 0, dd = ARGV[3]}))
else
  redis.call('XADD', KEYS[1], '*', 'id', ARGV[1], 'body', ARGV[2], 'dc0', '0', 'dd', ARGV[3])
end
return {ARGV[1], 0}`,
  },
  /**
   * KEYS: delayed, leases, high, normal, low. ARGV: group, consumer, max, leaseMs.
   * Moves due delayed entries into their streams, takes over entries whose lease ran out, then
   * reads new entries by priority. → {{level, id, fields, count}…}, ms until the next delayed
   * entry is due (-1: none), and the last id of each stream (for a blocking wait after them).
   */
  claim: {
    numberOfKeys: 5,
    lua: `
${NOW}
local group, consumer, max, leaseMs = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local levels = {'high', 'normal', 'low'}
local streams = {high = KEYS[3], normal = KEYS[4], low = KEYS[5]}
for _, raw in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)) do
  local m = cjson.decode(raw)
  redis.call('XADD', streams[m.level], '*', 'id', m.id, 'body', m.body, 'dc0', tostring(m.dc0), 'dd', m.dd)
  redis.call('ZREM', KEYS[1], raw)
end
local out = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, max)) do
  local level, id = string.match(member, '^(%a+)|(.+)$')
  local claimed = redis.call('XCLAIM', streams[level], group, consumer, 0, id)
  if #claimed > 0 and claimed[1] then
    local p = redis.call('XPENDING', streams[level], group, id, id, 1)
    redis.call('ZADD', KEYS[2], now + leaseMs, member)
    table.insert(out, {level, id, claimed[1][2], p[1][4]})
  else
    redis.call('ZREM', KEYS[2], member)
  end
end
for _, level in ipairs(levels) do
  if #out >= max then break end
  local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - #out, 'STREAMS', streams[level], '>')
  if read then
    for _, entry in ipairs(read[1][2]) do
      redis.call('ZADD', KEYS[2], now + leaseMs, level .. '|' .. entry[1])
      table.insert(out, {level, entry[1], entry[2], 1})
    end
  end
end
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
return {out, nextDue, lastIds}`,
  },
  /** KEYS: stream, leases, dedupe. ARGV: group, streamId, consumer, count, level, dedupeId. → 1 | 0 (lost) */
  ack: {
    numberOfKeys: 3,
    lua: `${OWNED}${SETTLE}
if ARGV[6] ~= '' then redis.call('HDEL', KEYS[3], ARGV[6]) end
return 1`,
  },
  /** KEYS: stream, leases, delayed. ARGV: group, streamId, consumer, count, level, id, body, dc0, dedupeId, delayMs. */
  release: {
    numberOfKeys: 3,
    lua: `${OWNED}${SETTLE}
if tonumber(ARGV[10]) > 0 then
  ${NOW}
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[10]),
    cjson.encode({id = ARGV[6], body = ARGV[7], level = ARGV[5], dc0 = tonumber(ARGV[8]), dd = ARGV[9]}))
else
  redis.call('XADD', KEYS[1], '*', 'id', ARGV[6], 'body', ARGV[7], 'dc0', ARGV[8], 'dd', ARGV[9])
end
return 1`,
  },
  /** KEYS: stream, leases. ARGV: group, streamId, consumer, count, level, leaseMs. */
  extend: {
    numberOfKeys: 2,
    lua: `${OWNED}
${NOW}
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[5] .. '|' .. ARGV[2])
return 1`,
  },
  /** KEYS: stream, leases, dedupe, dead. ARGV: group, streamId, consumer, count, level, id, body, deliveries, dedupeId, reason. */
  deadLetter: {
    numberOfKeys: 4,
    lua: `${OWNED}${SETTLE}
if ARGV[9] ~= '' then redis.call('HDEL', KEYS[3], ARGV[9]) end
redis.call('XADD', KEYS[4], '*', 'id', ARGV[6], 'body', ARGV[7], 'deliveries', ARGV[8], 'reason', ARGV[10])
return 1`,
  },
} as const;
