-- wrk script for bench/serve.py: every request is a random line of the file named after `--`.
-- A line is "METHOD PATH" or "METHOD PATH BODYFILE" (a JSON body, read once).
-- done() prints one line, "WRK_JSON {...}", that bench/serve.py parses.

local threads = 0
local requests = {}

function setup(thread)
  threads = threads + 1
  thread:set("number", threads)
end

function init(args)
  local bodies = {}
  for line in io.lines(args[1]) do
    local method, path, bodyfile = line:match("^(%S+) (%S+) ?(%S*)$")
    local headers = {}
    local body = nil
    if bodyfile ~= "" then
      if bodies[bodyfile] == nil then
        local file = assert(io.open(bodyfile, "rb"))
        bodies[bodyfile] = file:read("*a")
        file:close()
      end
      body = bodies[bodyfile]
      headers["Content-Type"] = "application/json"
    end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  -- A different, repeatable sequence per thread.
  math.randomseed(number * 7919)
end

function request()
  return requests[math.random(#requests)]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max))
end
