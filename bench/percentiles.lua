-- wrk -s bench/percentiles.lua: after the run, print the figures bench/throughput.py reads.
-- (wrk's own --latency table has no p95.) Latencies are in microseconds.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d", summary.requests, summary.duration))
  io.write(string.format(" connect=%d read=%d write=%d status=%d timeout=%d", e.connect, e.read, e.write, e.status, e.timeout))
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format(" p%d=%d", p, latency:percentile(p)))
  end
  io.write("\n")
end
