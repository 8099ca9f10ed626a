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
        out.push({
          service,
          name: span.name,
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          start: Number(BigInt(span.startTimeUnixNano) / 1000n) / 1000,
          end: Number(BigInt(span.endTimeUnixNano) / 1000n) / 1000,
        });
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

const medianOf = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
};

/**
 * Each hop's time taken apart, per queue, medians over every order the sink holds: from the
 * upstream publish span's start to this `process` span's start (the broker routes and delivers,
 * the consumer wakes, decodes and queues the message), the `process` span itself (the consumer's
 * transaction, any outside call in it included, until the message is settled), and the publish
 * span it staged (out straight after the COMMIT, so it starts before the `process` span ends: the
 * broker's confirm); the hop runs from the `process` span's start to that confirm. Span start
 * times are whole milliseconds (the SDK anchors them to `Date.now()`), so `delivered` is ±1 ms.
 */
function hopAccounting(spans) {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const stagedBy = new Map();
  for (const s of spans) if (s.name.startsWith('publish ') && s.parentSpanId && !stagedBy.has(s.parentSpanId)) stagedBy.set(s.parentSpanId, s);
  const rows = new Map();
  for (const p of spans.filter((s) => s.name.startsWith('process '))) {
    const upstream = byId.get(p.parentSpanId);
    if (!upstream?.name.startsWith('publish ')) continue;
    const out = stagedBy.get(p.spanId);
    const queue = p.name.slice('process '.length);
    const row = rows.get(`${p.service} ${queue}`) ?? { service: p.service, queue, delivered: [], transaction: [], confirm: [], hop: [] };
    row.delivered.push(p.start - upstream.start);
    row.transaction.push(p.end - p.start);
    if (out) row.confirm.push(out.end - out.start);
    row.hop.push(out ? out.end - p.start : p.end - p.start);
    rows.set(`${p.service} ${queue}`, row);
  }
  return [...rows.values()].map((r) => ({
    service: r.service,
    queue: r.queue,
    count: r.transaction.length,
    delivered_ms: medianOf(r.delivered),
    transaction_ms: medianOf(r.transaction),
    confirm_ms: medianOf(r.confirm),
    hop_ms: medianOf(r.hop),
  }));
}

function printHopAccounting(rows) {
  const ms = (v, width) => (Number.isNaN(v) ? '–' : v.toFixed(2)).padStart(width);
  console.log('\neach hop at 1 in flight, medians in ms (publish start → delivered; the consumer\'s transaction until settled; its publish → confirm; the hop):');
  console.log('| hop                                            | orders | delivered | transaction | confirm |    hop |');
  console.log('|------------------------------------------------|-------:|----------:|------------:|--------:|-------:|');
  for (const r of rows) {
    console.log(`| ${`${r.service} ← ${r.queue}`.padEnd(46)} | ${String(r.count).padStart(6)} | ${ms(r.delivered_ms, 9)} | ${ms(r.transaction_ms, 11)} | ${ms(r.confirm_ms, 7)} | ${ms(r.hop_ms, 6)} |`);
  }
}

module.exports = { hopAccounting, hopsOf, otlpSink, printHopAccounting, printTimeline };
