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

module.exports = { otlpSink, printTimeline };
