-- wrk script: POST pre-signed OneBot events, each body once, spread over wrk's threads.
-- Usage: wrk -tN ... URL -s bench/onebot_post.lua -- BODIES_FILE FIRST COUNT N [cycle]
-- BODIES_FILE holds one "<sha1 hex>\t<json body>" line per event; this run posts lines
-- FIRST+1 .. FIRST+COUNT, thread k taking every N-th. A thread that runs out of lines
-- stops and says so in the summary (the run is then too long for the file), unless
-- "cycle" is given (for a ceiling that stores nothing): then it starts over.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path, first, count, nthreads =
    args[1], tonumber(args[2]), tonumber(args[3]), tonumber(args[4])
  bodies, signatures = {}, {}
  local n, i = 0, 0
  for line in io.lines(path) do
    if n >= first + count then break end
    if n >= first and (n - first) % nthreads == index then
      local tab = string.find(line, "\t", 1, true)
      i = i + 1
      signatures[i] = "sha1=" .. string.sub(line, 1, tab - 1)
      bodies[i] = string.sub(line, tab + 1)
    end
    n = n + 1
  end
  next_body = 1
  exhausted = 0
  cycle = args[5] == "cycle"
end

function request()
  local i = next_body
  if i > #bodies and cycle then
    i = 1
    next_body = 2
  elseif i > #bodies then
    exhausted = 1
    wrk.thread:stop()
    i = #bodies
  else
    next_body = i + 1
  end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Signature"] = signatures[i],
    ["X-Self-ID"] = "10001",
  }, bodies[i])
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    if thread:get("exhausted") == 1 then
      io.write("BODIES EXHAUSTED\n")
    end
  end
end
