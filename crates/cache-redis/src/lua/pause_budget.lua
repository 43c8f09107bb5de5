-- Pauses every instance sharing one budget: sets "paused until" (Unix ms, server time) to now
-- plus ARGV[1] ms, unless it already pauses longer.
--
-- KEYS[1] the "paused until" key. Returns the pause's end.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = tonumber(ARGV[1])
local untilMs = now + wait
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if untilMs > current then
  redis.call('SET', KEYS[1], untilMs, 'PX', wait)
  return untilMs
end
return current
