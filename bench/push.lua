-- push.lua: wrk script for bench/ingest. Posts one signed GitHub push
-- payload, identical body for every request (GitHub does not sign the
-- delivery id header), but a UNIQUE X-GitHub-Delivery per request:
-- <run nonce>-<thread id>-4000-8000-<per-thread counter>. A repeated id
-- would let paved answer "duplicate" without writing, which is cheating.
-- It never reads response bodies (a response() hook would slow wrk down);
-- status classes come from wrk's own count of non-2xx/3xx answers.
--
-- args (after --): BODY_FILE HMAC_HEX NONCE PATH

local threads = {}
local nthreads = 0

function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

local head, tail, prefix
local n = 0

function init(args)
   local f = assert(io.open(args[1], "rb"))
   local body = f:read("*a")
   f:close()
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
   wrk.headers["X-GitHub-Event"] = "push"
   wrk.headers["X-GitHub-Hook-ID"] = "1"
   wrk.headers["X-Hub-Signature-256"] = "sha256=" .. args[2]
   wrk.headers["X-GitHub-Delivery"] = "@@DELIVERY@@"
   local req = wrk.format("POST", args[4], nil, body)
   local s, e = req:find("@@DELIVERY@@", 1, true)
   head = req:sub(1, s - 1)
   tail = req:sub(e + 1)
   prefix = string.format("%s-%04x-4000-8000-", args[3], tid)
end

function request()
   n = n + 1
   return head .. prefix .. string.format("%012x", n) .. tail
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRKRESULT requests=%d duration_us=%d non2xx=%d connect=%d read=%d " ..
      "write=%d timeout=%d p50_us=%d p99_us=%d max_us=%d mean_us=%.0f\n",
      summary.requests, summary.duration, e.status, e.connect, e.read,
      e.write, e.timeout, latency:percentile(50), latency:percentile(99),
      latency.max, latency.mean))
end
