-- Takes one upstream request token from the shared budget of one OAuth client: a sliding
-- log of the requests of the last 60 s, so that never more than N go in any 60 s window.
--
-- KEYS[1] the log of every request, KEYS[2] the log of unknown ids' requests, KEYS[3] the
-- "paused until" key (Unix ms); one hash tag, so one slot of a cluster.
-- ARGV[1] N, the requests allowed in any 60 s window; ARGV[2] the unknown ids' part of N;
-- ARGV[3] 1 for an unknown id's request, else 0; ARGV[4] a unique member suffix.
-- Returns {0, 0} taken; {1, ms} the budget is spent for ms; {2, ms} paused for ms;
-- {3, ms} the unknown ids' share is spent for ms. Time is the server's, the same for every
-- instance.
local window = 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local paused = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
if paused > now then
  return {2, paused - now}
end

-- A request at exactly now - window is still in the window: closed at both ends.
local function spent_for(key, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window - 1)
  if redis.call('ZCARD', key) < limit then
    return nil
  end
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if oldest[2] == nil then
    return window
  end
  return math.max(tonumber(oldest[2]) + window + 1 - now, 1)
end

local limit = tonumber(ARGV[1])
local unknown = ARGV[3] == '1'
if unknown then
  local wait = spent_for(KEYS[2], tonumber(ARGV[2]))
  if wait then
    return {3, wait}
  end
end
local wait = spent_for(KEYS[1], limit)
if wait then
  return {1, wait}
end

local member = now .. ':' .. ARGV[4]
redis.call('ZADD', KEYS[1], now, member)
redis.call('PEXPIRE', KEYS[1], window + 1000)
if unknown then
  redis.call('ZADD', KEYS[2], now, member)
  redis.call('PEXPIRE', KEYS[2], window + 1000)
end
return {0, 0}
