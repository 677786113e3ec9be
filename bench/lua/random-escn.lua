-- wrk script of the status benchmark (bench/wrk.ts runs it).
--
--   wrk ... -s bench/lua/random-escn.lua <url> -- <escn file> <path prefix> <path suffix> [rate per thread]
--
-- Each request asks for an ESCN drawn uniformly at random from the file (one 36-character ESCN per
-- line; the file is read once per thread as one string, so start-up stays short with a million lines).
-- With a rate, bench/wrk.ts appends bench/lua/paced.lua, which defines delay() (wrk only paces
-- scripts that define it, so the throughput runs leave it out).
-- done() prints one line `WRK_JSON {...}` with the figures.

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

local STRIDE = 37 -- 36 characters and a newline
local all, count = "", 0
local head, tail = "", ""
local interval_us = nil
local next_slot = nil
late = 0
max_lag_us = 0

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  all = file:read("*a")
  file:close()
  count = math.floor(#all / STRIDE)
  assert(count > 0, "no ESCN in " .. args[1])
  head = "GET " .. (args[2] or "/")
  tail = (args[3] or "") .. " HTTP/1.1\r\nHost: " .. wrk.host .. "\r\n\r\n"
  local rate = tonumber(args[4] or "0") or 0
  if rate > 0 then interval_us = 1000000 / rate end
  math.randomseed(os.time() * 1000 + (thread_number or 0))
end

function request()
  local i = math.random(count) - 1
  return head .. string.sub(all, i * STRIDE + 1, i * STRIDE + 36) .. tail
end

-- Percentiles at which done() reports the latency, so that bench/wrk.ts can merge several runs into one
-- distribution: every whole percent, then finer in the tail.
local GRID = {}
for p = 1, 99 do GRID[#GRID + 1] = p end
for i = 1, 9 do GRID[#GRID + 1] = 99 + i / 10 end
GRID[#GRID + 1] = 99.95
GRID[#GRID + 1] = 99.99

function done(summary, latency, requests)
  local late_sends, lag = 0, 0
  for _, t in ipairs(threads) do
    late_sends = late_sends + (t:get("late") or 0)
    lag = math.max(lag, t:get("max_lag_us") or 0)
  end
  local quantiles = { string.format("[0,%d]", latency.min) }
  for _, p in ipairs(GRID) do
    quantiles[#quantiles + 1] = string.format("[%g,%d]", p, latency:percentile(p))
  end
  quantiles[#quantiles + 1] = string.format("[100,%d]", latency.max)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d},"quantiles_us":[%s],' ..
    '"late_sends":%d,"max_lag_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, table.concat(quantiles, ","),
    late_sends, lag))
end
