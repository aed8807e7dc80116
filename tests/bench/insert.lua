-- wrk script of `make bench` (tests/bench/run_bench.py): POST one pre-rendered SOAP envelope per
-- request, each with its own ExternalShipmentReference and WS-Addressing MessageID.
--
-- The envelope is rendered once by the benchmark (zeep, from the reference WSDL) and cut at its two
-- variable fields into files BENCH_DIR/piece0 .. pieceN; BENCH_TOKENS names the field between two
-- pieces ("MID" or "REF", comma-separated, in order). A request is the pieces joined with
-- "<BENCH_PREFIX>-<thread>-<n>" as the reference and a unique uuid-shaped MessageID: no parsing or
-- rendering per request, only string joins.
--
-- Every answer is checked: HTTP 200 with ReceiptStatusCode OK counts as ok; the busy fault of the
-- admission bound (HTTP 500/503 with a Retry-After header: nothing stored, retry-safe) counts as busy
-- and the same request (same reference, same MessageID) is sent again on that connection after
-- Retry-After seconds (delay()), as a real client does; anything else counts as bad (the first bad
-- answer is written to BENCH_DIR/bad-<thread>.txt). done() prints one line "BENCHJSON {...}" with the
-- counts and the latency distribution (microseconds; wrk's, over every answer, busy faults included;
-- the wait before a retry is not in it).
--
-- The benchmark runs one wrk thread per connection: wrk keeps one Lua state per thread and does not
-- say which of a thread's connections an answer came on, so only then is "the request this answer
-- refused" known (one request in flight per connection: no pipelining).

local dir = os.getenv("BENCH_DIR")
local run_prefix = os.getenv("BENCH_PREFIX")
local run_number = tonumber(os.getenv("BENCH_RUN_NUMBER") or "0")
local soap_action = os.getenv("BENCH_SOAPACTION")

local threads = {}
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local pieces, tokens, headers = {}, {}, nil
local prefix = ""
n, ok, bad, busy, retried, left_busy = 0, 0, 0, 0, 0, 0
local wrote_bad = false
local last_request = nil -- what this thread's one connection sent last
local retry, wait_ms = nil, 0 -- the request to send again, and the wait before it

function init(args)
  for tok in string.gmatch(os.getenv("BENCH_TOKENS"), "[^,]+") do
    table.insert(tokens, tok)
  end
  for i = 0, #tokens do
    pieces[i] = slurp(dir .. "/piece" .. i)
  end
  prefix = run_prefix .. "-" .. tid .. "-"
  headers = {
    ["Content-Type"] = "text/xml; charset=utf-8",
    ["SOAPAction"] = '"' .. soap_action .. '"',
  }
end

function delay()
  local w = wait_ms
  wait_ms = 0
  return w
end

function request()
  if retry ~= nil then
    last_request, retry = retry, nil
    retried = retried + 1
    left_busy = 0
    return last_request
  end
  n = n + 1
  local parts = { pieces[0] }
  for i = 1, #tokens do
    if tokens[i] == "REF" then
      parts[#parts + 1] = prefix .. n
    else
      parts[#parts + 1] = string.format("%08x-%04x-4000-8000-%012x", run_number, tid, n)
    end
    parts[#parts + 1] = pieces[i]
  end
  last_request = wrk.format("POST", nil, headers, table.concat(parts))
  return last_request
end

function response(status, hdrs, body)
  local retry_after = hdrs and (hdrs["Retry-After"] or hdrs["retry-after"])
  if status == 200 and string.find(body, "ReceiptStatusCode>OK<", 1, true) then
    ok = ok + 1
  elseif (status == 500 or status == 503) and retry_after ~= nil and last_request ~= nil then
    busy = busy + 1
    retry, wait_ms, left_busy = last_request, math.floor((tonumber(retry_after) or 1) * 1000), 1
  else
    bad = bad + 1
    if not wrote_bad then
      wrote_bad = true
      local f = io.open(dir .. "/bad-" .. tid .. ".txt", "wb")
      if f then
        f:write(tostring(status) .. "\n" .. string.sub(body or "", 1, 2000))
        f:close()
      end
    end
  end
end

function done(summary, latency, requests)
  local okc, badc, sent, busyc, retriedc, leftc = 0, 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    okc = okc + t:get("ok")
    badc = badc + t:get("bad")
    sent = sent + t:get("n")
    busyc = busyc + t:get("busy")
    retriedc = retriedc + t:get("retried")
    leftc = leftc + t:get("left_busy")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "sent": %d, "ok": %d, "bad": %d, "busy": %d, "retried": %d, '
      .. '"left_busy": %d, "duration_us": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, '
      .. '"errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_status": %d, '
      .. '"errors_timeout": %d}\n',
    summary.requests, sent, okc, badc, busyc, retriedc, leftc, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
