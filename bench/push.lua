-- wrk script for `make bench`: every request pushes a different meeting
-- (m-<thread>-<n>) with the headers Cloud Tasks sets, plus a bearer token
-- when BENCH_TOKEN is in the environment. Prints one JSON line at the end.
local n = 0
local threads = {}
thread_index = 0
local token = os.getenv("BENCH_TOKEN")
local queue = os.getenv("BENCH_QUEUE") or "summarize"

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function request()
  n = n + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-CloudTasks-QueueName"] = queue,
    ["X-CloudTasks-TaskName"] = "bench-" .. thread_index .. "-" .. n,
    ["X-CloudTasks-TaskRetryCount"] = "0",
    ["X-CloudTasks-TaskExecutionCount"] = "0",
  }
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  local body = '{"meeting_id":"m-' .. thread_index .. '-' .. n .. '"}'
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
