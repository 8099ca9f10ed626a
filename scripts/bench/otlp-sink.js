// Where troupe's services export their traces during the bench: an OTLP/HTTP endpoint in this
// process that counts what it receives (tracing costs what it costs in production, its export
// included) and, for `--trace-timeline`, keeps the spans of OTLP/JSON exports.
const http = require('node:http');

/** Starts the sink on a free loopback port: `{ server, stats: { requests, bytes }, spans, port }`. */
function otlpSink({ keepSpans }) {
  const stats = { requests: 0, bytes: 0 };
  const spans = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => {
      stats.bytes += chunk.length;
      if (keepSpans) chunks.push(chunk);
    });
    req.on('end', () => {
      stats.requests += 1;
      if (keepSpans) spans.push(...spansOf(JSON.parse(Buffer.concat(chunks).toString())));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, stats, spans, port: server.address().port })));
}

/** Flattens an OTLP/JSON export into { service, name, traceId, start, end } (ms). */
function spansOf(body) {
  const out = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? '?';
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        out.push({ service, name: span.name, traceId: span.traceId, start: Number(BigInt(span.startTimeUnixNano) / 1000n) / 1000, end: Number(BigInt(span.endTimeUnixNano) / 1000n) / 1000 });
      }
    }
  }
  return out;
}

function printTimeline(spans, traceId) {
  const mine = spans.filter((s) => s.traceId === traceId).sort((a, b) => a.start - b.start);
  const t0 = mine[0]?.start ?? 0;
  console.log(`\ntimeline of one order at 1 in flight (trace ${traceId}):`);
  for (const s of mine) console.log(`  +${(s.start - t0).toFixed(2).padStart(6)} ms ${(s.end - s.start).toFixed(2).padStart(6)} ms  ${s.service.padEnd(12)} ${s.name}`);
}

/**
 * A hop as the performance targets count it: from the start of a service's `process <queue>` span
 * to the end of the first `publish <exchange>` span the same service starts in the same trace after
 * it (the consumer's transaction, then its event out with the broker's confirm). The median over
 * every hop the sink holds, and how many there were.
 */
function hopsOf(spans) {
  const byTrace = new Map();
  for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
  const hops = [];
  for (const trace of byTrace.values()) {
    for (const p of trace.filter((s) => s.name.startsWith('process '))) {
      const out = trace.filter((s) => s.service === p.service && s.name.startsWith('publish ') && s.start >= p.start).sort((a, b) => a.start - b.start)[0];
      if (out) hops.push(out.end - p.start);
    }
  }
  hops.sort((a, b) => a - b);
  return hops.length === 0 ? undefined : { median_ms: +hops[Math.floor(hops.length / 2)].toFixed(2), count: hops.length };
}

module.exports = { hopsOf, otlpSink, printTimeline };
