"""Lua scripts for ``RedisCounters``. Each runs atomically inside Redis, so replicas share exact counts.

Keys of one API key (all under the hash tag ``{key_id}``):

    req          ZSET  admission id -> admitted at (ms)          the rpm window
    tok          ZSET  admission id -> admitted at (ms)          the tpm window ...
    tokn         HASH  admission id -> tokens                    ... its amounts
    toksum       STR   sum of tokn                               ... and their sum
    lease        ZSET  admission id -> lease end (ms)            concurrency slots and budget reservations
    held:<p>     HASH  admission id -> reserved nano-dollars     budget reservations of period p
    budget:<p>   HASH  spent, reserved (nano-dollars)            the budget counter of period p

A budget counter is initialised iff its ``spent`` field exists. Times are the caller's clock (ms);
key expiries are relative (PEXPIRE) so they do not depend on Redis's clock agreeing with the caller's.
"""

from __future__ import annotations

_COMMON = """
local REQ, TOK, TOKN, TOKSUM, LEASE, HELD, BUDGET = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]

local function extend(key, ttl)
  local current = redis.call('PTTL', key)
  if current ~= -2 and current < ttl then redis.call('PEXPIRE', key, ttl) end
end

local function free_reservation(aid)
  local amount = redis.call('HGET', HELD, aid)
  if amount then
    redis.call('HDEL', HELD, aid)
    if amount ~= '0' then redis.call('HINCRBY', BUDGET, 'reserved', '-' .. amount) end
  end
end

local function drop_tokens(aid)
  local held = redis.call('HGET', TOKN, aid)
  if held then
    redis.call('HDEL', TOKN, aid)
    redis.call('ZREM', TOK, aid)
    redis.call('DECRBY', TOKSUM, held)
  end
end
"""

ACQUIRE = (
    _COMMON
    + """
-- ARGV: aid, now, window, rpm, tpm, tokens, max_concurrent, lease_until, budget, reserve, budget_ttl
-- (a limit of -1 is not tracked)
local aid, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local rpm, tpm, tokens = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local max_concurrent, lease_until = tonumber(ARGV[7]), tonumber(ARGV[8])
local budget, reserve, budget_ttl = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local cut = now - window

for _, old in ipairs(redis.call('ZRANGEBYSCORE', LEASE, '-inf', now)) do
  redis.call('ZREM', LEASE, old)
  free_reservation(old)
end
redis.call('ZREMRANGEBYSCORE', REQ, '-inf', cut)
for _, old in ipairs(redis.call('ZRANGEBYSCORE', TOK, '-inf', cut)) do drop_tokens(old) end

local function newest_reset(key)
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #newest == 0 then return 0 end
  return tonumber(newest[2]) + window - now
end

local function seen(verdict, wait)
  local b = redis.call('HMGET', BUDGET, 'spent', 'reserved')
  return {verdict, redis.call('ZCARD', REQ), newest_reset(REQ),
          tonumber(redis.call('GET', TOKSUM) or '0'), newest_reset(TOK), wait,
          redis.call('ZCARD', LEASE), tonumber(b[1] or '0'), tonumber(b[2] or '0')}
end

if budget >= 0 then
  if redis.call('HEXISTS', BUDGET, 'spent') == 0 then return seen('baseline', 0) end
  local b = redis.call('HMGET', BUDGET, 'spent', 'reserved')
  if tonumber(b[1]) + tonumber(b[2] or '0') + reserve > budget then return seen('budget', 0) end
end
if max_concurrent >= 0 and redis.call('ZCARD', LEASE) >= max_concurrent then
  return seen('concurrency', 0)
end
if rpm >= 0 then
  local count = redis.call('ZCARD', REQ)
  if count + 1 > rpm then
    if rpm < 1 then return seen('requests', -1) end
    local oldest = redis.call('ZRANGE', REQ, count - rpm, count - rpm, 'WITHSCORES')
    return seen('requests', tonumber(oldest[2]) + window - now)
  end
end
if tpm >= 0 then
  local total = tonumber(redis.call('GET', TOKSUM) or '0')
  if total + tokens > tpm then
    if tokens > tpm then return seen('tokens', -1) end
    local entries = redis.call('ZRANGE', TOK, 0, -1, 'WITHSCORES')
    local freed = 0
    for i = 1, #entries, 2 do
      freed = freed + tonumber(redis.call('HGET', TOKN, entries[i]) or '0')
      if total - freed + tokens <= tpm then
        return seen('tokens', tonumber(entries[i + 1]) + window - now)
      end
    end
    return seen('tokens', 0)
  end
end

if rpm >= 0 then
  redis.call('ZADD', REQ, now, aid)
  redis.call('PEXPIRE', REQ, window + 1000)
end
if tpm >= 0 then
  redis.call('ZADD', TOK, now, aid)
  redis.call('HSET', TOKN, aid, ARGV[6])
  redis.call('INCRBY', TOKSUM, ARGV[6])
  for _, key in ipairs({TOK, TOKN, TOKSUM}) do redis.call('PEXPIRE', key, window + 1000) end
end
if max_concurrent >= 0 or budget >= 0 then
  redis.call('ZADD', LEASE, lease_until, aid)
  extend(LEASE, lease_until - now + 1000)
end
if budget >= 0 then
  redis.call('HINCRBY', BUDGET, 'reserved', ARGV[10])
  redis.call('HSET', HELD, aid, ARGV[10])
  redis.call('PEXPIRE', BUDGET, budget_ttl)
  redis.call('PEXPIRE', HELD, budget_ttl)
end
return seen('granted', 0)
"""
)

FINISH = (
    _COMMON
    + """
-- ARGV: aid, mode ('settle' | 'release'), cost (nano-dollars), tokens, budget_ttl
local aid, mode = ARGV[1], ARGV[2]
local cost, tokens, budget_ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])

redis.call('ZREM', LEASE, aid)
free_reservation(aid)
if mode == 'release' then
  redis.call('ZREM', REQ, aid)
  drop_tokens(aid)
  return 1
end
if cost > 0 and redis.call('HEXISTS', BUDGET, 'spent') == 1 then
  redis.call('HINCRBY', BUDGET, 'spent', ARGV[3])
  redis.call('PEXPIRE', BUDGET, budget_ttl)
end
local held = redis.call('HGET', TOKN, aid)
if held then
  redis.call('HSET', TOKN, aid, ARGV[4])
  redis.call('INCRBY', TOKSUM, string.format('%d', tokens - tonumber(held)))
end
return 1
"""
)

INIT_BUDGET = """
-- KEYS: budget; ARGV: spent (nano-dollars), ttl (ms)
if redis.call('HSETNX', KEYS[1], 'spent', ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

RENEW = """
-- KEYS: lease; ARGV: aid, until, now
if redis.call('ZADD', KEYS[1], 'XX', 'GT', 'CH', ARGV[2], ARGV[1]) == 1 then
  local ttl = tonumber(ARGV[2]) - tonumber(ARGV[3]) + 1000
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  return 1
end
return 0
"""
