-- wrk script for scripts/bench: optional method/body from the environment, one
-- machine-readable summary line at the end, and (WRK_QUANTILES_FILE) the run's latency
-- distribution as 1000 equally weighted quantiles, so that several runs can be merged into
-- percentiles (to 0.1 % of rank). Latencies are in microseconds.
--   WRK_METHOD=POST WRK_BODY_FILE=body.json wrk -s bench/wrk.lua -H 'content-type: ...' URL
local method = os.getenv("WRK_METHOD")
if method and method ~= "" then wrk.method = method end
local body_file = os.getenv("WRK_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH p50_us=%d p99_us=%d rps=%.1f requests=%d duration_us=%d socket_errors=%d non2xx=%d\n",
    latency:percentile(50), latency:percentile(99),
    summary.requests / (summary.duration / 1e6), summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status))
  local q_file = os.getenv("WRK_QUANTILES_FILE")
  if q_file and q_file ~= "" then
    -- Each line: latency_us weight (this run's requests / 1000).
    local f = assert(io.open(q_file, "a"))
    local w = summary.requests / 1000
    for i = 1, 1000 do
      f:write(latency:percentile((i - 0.5) / 10), " ", w, "\n")
    end
    f:close()
  end
end
