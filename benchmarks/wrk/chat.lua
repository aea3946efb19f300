-- wrk script for mockllm benchmarks: POST one chat completion per request.
-- Arguments (after `--`): mode ("chat" or "stream"), model, max_tokens, [header_name, header_value]
-- done() prints one machine-readable line, "WRK_JSON {...}", that benchmarks/wrk_driver.py parses;
-- there is deliberately no response() callback, since calling into Lua per response slows wrk.

function init(args)
   local mode = args[1] or "chat"
   local model = args[2] or "gpt-4o-mini"
   local max_tokens = tonumber(args[3] or "64")
   -- Chat sends the issue's plain request (default rules decide the answer); streams add
   -- ignore_eos so every stream carries exactly max_tokens token chunks.
   local stream = ""
   if mode == "stream" then
      stream = ',"stream":true,"ignore_eos":true'
   end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   if args[4] and args[5] then
      wrk.headers[args[4]] = args[5]
   end
   wrk.body = string.format(
      '{"model":"%s","messages":[{"role":"user","content":"hi"}],"max_tokens":%d%s}',
      model, max_tokens, stream)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max))
end
