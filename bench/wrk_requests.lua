-- wrk script for bench/serve.py: requests are lines of the file named after `--`.
--   -- FILE              every request is a random line (a line drawn twice is a repeat)
--   -- FILE walk THREADS the lines in order, each of the THREADS threads every THREADS-th line,
--                       so that no line is sent twice until the file runs out (first visits);
--                       requests past the end start it again and are counted as "repeated"
-- A line is "METHOD PATH" or "METHOD PATH BODYFILE" (a JSON body, read once).
-- done() prints one line, "WRK_JSON {...}", that bench/serve.py parses.

local threads = {}
local requests = {}
local walk = false
local stride = 1
local next_line = 1
local sent_all = false
repeated = 0 -- global: done() reads it from each thread

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("number", #threads)
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
  if args[2] == "walk" then
    walk = true
    stride = tonumber(args[3])
    next_line = number
  end
end

function request()
  if not walk then
    return requests[math.random(#requests)]
  end
  if next_line > #requests then
    next_line = next_line - #requests
  end
  local line = next_line
  next_line = next_line + stride
  if sent_all then
    repeated = repeated + 1
  elseif next_line > #requests then
    sent_all = true
  end
  return requests[line]
end

function done(summary, latency, _)
  local e = summary.errors
  local repeats = 0
  for _, thread in ipairs(threads) do
    repeats = repeats + thread:get("repeated")
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "repeated": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, repeats))
end
