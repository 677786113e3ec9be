-- Appended to random-escn.lua for the paced runs (bench/wrk.ts does it): each thread sends on a fixed
-- schedule of `rate` requests per second, an open-loop pace. delay() hands out the next slot of the
-- schedule; wrk waits whole milliseconds, so a send may leave up to 1 ms before its slot, never
-- drifting since slots advance by the exact interval. A send that leaves more than 1 ms after its slot
-- (every connection was busy: the server fell behind) is counted as late, so a server that cannot keep
-- up shows as late sends instead of silently lowering the rate.

function delay()
  if interval_us == nil then return 0 end
  local now = now_us()
  if next_slot == nil then next_slot = now end
  local slot = next_slot
  next_slot = slot + interval_us
  local wait = slot - now
  if wait <= 0 then
    local lag = -wait
    if lag > 1000 then late = late + 1 end
    if lag > max_lag_us then max_lag_us = lag end
    return 0
  end
  return wait / 1000
end

