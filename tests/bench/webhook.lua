-- wrk script for the webhook benchmark (tests/bench/webhook_run.sh).
--
--   wrk -t T -c C -d D -s webhook.lua http://127.0.0.1:PORT/webhook \
--       -- REQS_FILE META_FILE T
--
-- REQS_FILE: one pre-signed EventSub notification a line,
--   "<message id>\t<sha256=signature>"; thread k of T sends the lines
--   whose number is k modulo T, each once, in order (so every request
--   carries an id no other request had; a thread that runs out starts
--   again, and the runner counts those as reused).
-- META_FILE: three lines: the Twitch-Eventsub-Message-Timestamp all were
--   signed with, and the body's text before and after the id (the body
--   is prefix .. id .. suffix: unique per request).
--
-- At the end prints one line "WRKJSON {...}" with requests, duration,
-- latency percentiles (us), status counts (2xx, 503, other), socket
-- errors and how many requests each thread sent ("sent", in thread
-- order), from which the runner knows exactly which ids went out.

local threads = {}
local nthreads = 0

function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

local ids, sigs = {}, {}
local n, i = 0, 0
local prefix, suffix, ts
local path = "/webhook"
local headers = {}
ok, full, other, sent = 0, 0, 0, 0

function init(args)
   local reqfile, metafile, nt = args[1], args[2], tonumber(args[3])
   local f = assert(io.open(metafile, "r"))
   ts = f:read("*l")
   prefix = f:read("*l")
   suffix = f:read("*l")
   f:close()
   local k = 0
   for line in io.lines(reqfile) do
      if k % nt == tid then
         local tab = string.find(line, "\t", 1, true)
         n = n + 1
         ids[n] = string.sub(line, 1, tab - 1)
         sigs[n] = string.sub(line, tab + 1)
      end
      k = k + 1
   end
   headers["Content-Type"] = "application/json"
   headers["Twitch-Eventsub-Message-Retry"] = "0"
   headers["Twitch-Eventsub-Message-Type"] = "notification"
   headers["Twitch-Eventsub-Message-Timestamp"] = ts
   headers["Twitch-Eventsub-Subscription-Type"] = "channel.cheer"
   headers["Twitch-Eventsub-Subscription-Version"] = "1"
   local u = wrk.path
   if u ~= nil and u ~= "" and u ~= "/" then path = u end
end

function request()
   sent = sent + 1
   i = i + 1
   if i > n then
      i = 1
   end
   local id = ids[i]
   headers["Twitch-Eventsub-Message-Id"] = id
   headers["Twitch-Eventsub-Message-Signature"] = sigs[i]
   return wrk.format("POST", path, headers, prefix .. id .. suffix)
end

function response(status, hdrs, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
   elseif status == 503 then
      full = full + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local s2, s503, so = 0, 0, 0
   local sent_by = {}
   for k, t in ipairs(threads) do
      s2 = s2 + t:get("ok")
      s503 = s503 + t:get("full")
      so = so + t:get("other")
      sent_by[k] = tostring(t:get("sent"))
   end
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_s":%.6f,"rps":%.1f,' ..
      '"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d,' ..
      '"lat_mean_us":%.1f,"status_2xx":%d,"status_503":%d,' ..
      '"status_other":%d,"err_connect":%d,"err_read":%d,' ..
      '"err_write":%d,"err_status":%d,"err_timeout":%d,"sent":[%s]}\n',
      summary.requests, summary.duration / 1e6,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean,
      s2, s503, so, e.connect, e.read, e.write, e.status, e.timeout,
      table.concat(sent_by, ",")))
end
