-- Give units back: KEYS as in take.lua; ARGV[1]: user id, ARGV[2]: quantity. Returns the units left.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
local sold = tonumber(redis.call('HGET', KEYS[1], 'sold') or '0')
local qty = math.min(tonumber(ARGV[2]), sold)
redis.call('HINCRBY', KEYS[1], 'sold', -qty)
local had = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if had > 0 then
  redis.call('HINCRBY', KEYS[2], ARGV[1], -math.min(had, tonumber(ARGV[2])))
end
return tonumber(redis.call('HGET', KEYS[1], 'total')) - (sold - qty)
