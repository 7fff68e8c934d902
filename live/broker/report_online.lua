-- One process reports its connection count and newly seen viewers; returns {current, peak, unique}.
-- KEYS: online hash, peak key, unique-viewer HyperLogLog
-- ARGV: node, count, now ms, stale after ms, ttl seconds, viewer ids...
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
local now, stale = tonumber(ARGV[3]), tonumber(ARGV[4])
local total = 0
for i = 1, #all, 2 do
  local c, t = string.match(all[i + 1], '^(%d+):(%d+)$')
  if t and now - tonumber(t) <= stale then
    total = total + tonumber(c)
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
local peak = tonumber(redis.call('GET', KEYS[2]) or '0')
if total > peak then
  peak = total
end
redis.call('SET', KEYS[2], peak, 'EX', ARGV[5])
if #ARGV > 5 then
  redis.call('PFADD', KEYS[3], unpack(ARGV, 6))
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return {total, peak, redis.call('PFCOUNT', KEYS[3])}
