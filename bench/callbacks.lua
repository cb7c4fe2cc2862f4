-- wrk script for bench_callbacks.sh: replays pre-signed Twilio status callbacks from a file, each
-- line "<X-Twilio-Signature>\t<form body>". Thread k of n sends lines k, k+n, k+2n, ... once;
-- when its share is used up it sends its last line again (a duplicate, which costs the service a
-- verification and a lookup but changes nothing), and the script's summary says how many did.
local threads = {}
local counter = 1

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

function init(args)
   path = args[1]
   nthreads = tonumber(args[3])
   lines = {}
   for line in io.lines(args[2]) do
      table.insert(lines, line)
   end
   next_line = id
   repeats = 0
end

function request()
   local line = lines[next_line]
   if next_line + nthreads <= #lines then
      next_line = next_line + nthreads
   else
      repeats = repeats + 1
   end
   local tab = string.find(line, "\t", 1, true)
   local headers = {}
   headers["Content-Type"] = "application/x-www-form-urlencoded"
   headers["X-Twilio-Signature"] = string.sub(line, 1, tab - 1)
   return wrk.format("POST", path, headers, string.sub(line, tab + 1))
end

function done(summary, latency, requests)
   local total = 0
   for _, t in ipairs(threads) do
      total = total + t:get("repeats")
   end
   io.write(string.format("repeated_requests %d\n", total))
end
