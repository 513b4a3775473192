-- wrk script: POST the images listed (one path per line) in the file given after "--",
-- cycling through them, and print a JSON summary line at the end.
-- Usage: wrk -t1 -c16 -d10s -s wrk_post_images.lua http://127.0.0.1:8080 -- images.txt [path]
local bodies = {}
local path = "/invocations"
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    local f = assert(io.open(line, "rb"))
    bodies[#bodies + 1] = f:read("*all")
    f:close()
  end
  if args[2] then path = args[2] end
  next_index = math.random(#bodies)
end

function request()
  next_index = next_index % #bodies + 1
  return wrk.format("POST", path, {["Content-Type"] = "image/png"}, bodies[next_index])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
