-- wrk script for bench/http.sh: requests the paths of a file (one per
-- line, hits and misses already mixed and shuffled by http.sh), in order,
-- wrapping around. The requests are formatted once, in init, so that the
-- client spends its core on the network, not in Lua.
--
--   wrk -t1 -c64 -d10s --latency -s mix.lua http://127.0.0.1:8080 -- paths.txt
local reqs = {}
local n = 0
local i = 0

function init(args)
  local file = args[1] or "paths.txt"
  for line in io.lines(file) do
    n = n + 1
    reqs[n] = wrk.format("GET", line)
  end
  if n == 0 then
    error("no paths in " .. file)
  end
  -- threads start at different places
  i = math.random(n) - 1
end

function request()
  i = i + 1
  if i > n then
    i = 1
  end
  return reqs[i]
end
