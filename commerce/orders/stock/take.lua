-- Take units of a sale for a buyer, or refuse, in one step.
-- KEYS[1]: the sale hash (total, sold, limit, starts_ms, open); KEYS[2]: the sale's buyers hash (user -> units)
-- ARGV[1]: user id, ARGV[2]: quantity, ARGV[3]: now in ms
-- KEYS[3] (optional): the mark of the buyer's Idempotency-Key; if set, this is a retry of an order
-- returns {code, left, user_units, ms_to_start}; code 1 = taken, 2 = a retry (left = the order id),
-- negative = refused
if KEYS[3] then
  local order_id = redis.call('GET', KEYS[3])
  if order_id then
    return {2, tonumber(order_id), 0, 0}
  end
end
local s = redis.call('HMGET', KEYS[1], 'total', 'sold', 'limit', 'starts_ms', 'open')
if not s[1] then
  return {-1, 0, 0, 0}                                  -- unknown sale
end
local total, sold = tonumber(s[1]), tonumber(s[2] or '0')
local limit, starts = tonumber(s[3] or '0'), tonumber(s[4] or '0')
local qty, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local left = total - sold
local had = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if s[5] ~= '1' then
  if left <= 0 then
    return {-4, 0, had, 0}                              -- closed because it sold out
  end
  return {-2, left, had, 0}                             -- not on sale
end
if starts > now then
  return {-3, left, had, starts - now}                  -- not started
end
if left <= 0 then
  return {-4, 0, had, 0}                                -- sold out
end
if qty > left then
  return {-5, left, had, 0}                             -- not enough left
end
if limit > 0 and had + qty > limit then
  return {-6, left, had, 0}                             -- over the buyer's limit
end
redis.call('HINCRBY', KEYS[1], 'sold', qty)
redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
return {1, left - qty, had + qty, 0}
