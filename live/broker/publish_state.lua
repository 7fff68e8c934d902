-- Append a room's state event to its stream and fan it out, once per sequence number.
-- KEYS[1] the room's state stream, KEYS[2] its meta hash (the history's epoch)
-- ARGV: seq, data, maxlen, channel, message, ttl seconds, a fresh epoch (used if the history has none)
-- The epoch is created with the history: after Redis lost the room's keys (flush, restart, failover)
-- the next event starts a new epoch, so readers know that entries before it may be gone.
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[7]
  redis.call('HSET', KEYS[2], 'epoch', epoch)
end
redis.call('EXPIRE', KEYS[2], ARGV[6])
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then
  local last_seq = tonumber(string.match(last[1][1], '^(%d+)'))
  if last_seq >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], ARGV[1] .. '-1', 'd', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
