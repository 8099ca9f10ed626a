#!/usr/bin/env node
// `make bench`: troupe's throughput and latency against amqplib references (a bare relay of the
// same four hops, troupe's topology bare, and that topology with an inbox and an outbox in
// Postgres: scripts/bench-relay.js), measured in the same run on one host. See
// docs/benchmarks.md.
//
// It starts the four services the way `make dev` does (their `start` scripts), with tracing on
// (exported over OTLP to a sink in this process), metrics and info logs on, each against a fresh
// vhost and fresh databases (removed afterwards); drives orders through POST /orders with a fixed
// number in flight; and counts an order complete when its NotificationSent reaches a queue of ours.
const { fork, spawn, execFileSync } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { readFileSync } = require('node:fs');
const http = require('node:http');
const { join } = require('node:path');
const { parseArgs } = require('node:util');
const amqp = require('amqplib');
const { Client } = require('pg');
const { brokerAdmin, discoverBrokerAdmin } = require('@troupe/testing/dist/broker-admin.js');
const { explainHotPaths, seedHistory } = require('./bench-history.js');
const { printTargets } = require('./bench-targets.js');
const {
  deleteBrokerUsers,
  dropDbRoles,
  ensureBrokerUsers,
  ensureDbRoles,
  ensureServiceDatabase,
  newAccess,
  vhostDefinitions,
  withCredentials,
} = require('@troupe/testing/dist/access.js');

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '2000' },
    // Loaded rounds, alternating troupe and the references; the figures are the median round's.
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '100' },
    single: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '200' },
    replicas: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    // Variations for profiling what production settings cost; the reported figures use neither.
    'no-tracing': { type: 'boolean', default: false },
    'log-level': { type: 'string' },
    // Print where the time of one order at 1 in flight goes, span by span (exports as http/json).
    'trace-timeline': { type: 'boolean', default: false },
    // Orders' worth of rows seeded into the databases before the history phase (0: no such phase).
    history: { type: 'string', default: '1000000' },
    // The scaling curve: orders in flight at each step, and orders per step.
    curve: { type: 'string', default: '1,10,50,100,200' },
    'curve-orders': { type: 'string', default: '300' },
    // The overload phase: clients each placing an order and waiting for it, and orders in all.
    'overload-clients': { type: 'string', default: '500' },
    'overload-orders': { type: 'string', default: '3000' },
    // The outbox reference's messages per transaction at most (0: no cap), to see what a batch's size costs.
    'outbox-max-batch': { type: 'string', default: '0' },
  },
});
function count(name, min) {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < min) {
    console.error(`--${name} must be a whole number ≥ ${min} (got ${args[name]})`);
    process.exit(2);
  }
  return value;
}
const N = count('orders', 1);
const C = count('concurrency', 1);
const SINGLE = count('single', 1);
const WARMUP = count('warmup', 0);
const REPLICAS = count('replicas', 1);
const ROUNDS = count('rounds', 1);
const HISTORY = count('history', 0);
const CURVE_ORDERS = count('curve-orders', 1);
const OVERLOAD_CLIENTS = count('overload-clients', 0);
const OVERLOAD_ORDERS = count('overload-orders', 0);
const OUTBOX_MAX_BATCH = count('outbox-max-batch', 0);
const CURVE = args.curve.split(',').filter(Boolean).map(Number);
if (!CURVE.every((c) => Number.isInteger(c) && c >= 1)) {
  console.error(`--curve must be whole numbers ≥ 1, comma-separated (got ${args.curve})`);
  process.exit(2);
}
const ROOT = join(__dirname, '..');
const { exchangeOf, METRIC, queueOf, SERVICES, SUBSCRIBED_EVENTS } = require('@troupe/contracts');
const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@localhost:5672';
const ADMIN_DB = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@localhost:5432/postgres';
const stamp = `${Date.now().toString(36)}`;
const cleanups = [];
/** Service processes whose memory is sampled while the bench runs. */
const sampled = [];
/** Every process the bench started (services, relays). */
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------- infrastructure --------------------------------------------------------------------

let admin;
/**
 * A vhost for one system. Vhosts go through the management API when it answers, else rabbitmqctl
 * (a default broker has the plugin off). With `access`, troupe's services get their own
 * least-privilege users, as everywhere else; the bench's own client is the operator.
 */
async function vhost(name, access) {
  admin ??= brokerAdmin(await discoverBrokerAdmin(RABBITMQ_URL, process.env.RABBITMQ_MANAGEMENT_URL));
  const operator = decodeURIComponent(new URL(RABBITMQ_URL).username || 'guest');
  await admin.importDefinitions(
    access
      ? vhostDefinitions(name, operator, access)
      : { vhosts: [{ name }], permissions: [{ user: operator, vhost: name, configure: '.*', write: '.*', read: '.*' }] },
  );
  cleanups.push(() => admin.deleteVhost(name));
  const url = new URL(RABBITMQ_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Per-service broker users and database roles for this run, removed (with their databases) at the end. */
async function serviceAccess(id) {
  admin ??= brokerAdmin(await discoverBrokerAdmin(RABBITMQ_URL, process.env.RABBITMQ_MANAGEMENT_URL));
  const access = newAccess(`bench-${id}`);
  await ensureBrokerUsers(admin, access);
  await ensureDbRoles(ADMIN_DB, access);
  cleanups.push(() => Promise.allSettled([deleteBrokerUsers(admin, access), dropDbRoles(ADMIN_DB, access)]));
  return access;
}

/** One statement on the admin connection (database creation and removal). */
async function adminQuery(sql) {
  const c = new Client({ connectionString: ADMIN_DB });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A database owned by `owner` (a service's role), connected to as that role. */
async function database(name, owner) {
  await ensureServiceDatabase(ADMIN_DB, name, owner.dbRole);
  cleanups.push(() => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  const url = new URL(withCredentials(ADMIN_DB, owner.dbRole, owner.dbPassword));
  url.pathname = `/${name}`;
  return url.toString();
}

/** An OTLP/HTTP endpoint that accepts and counts span exports (a local trace sink). */
function otlpSink() {
  const stats = { requests: 0, bytes: 0 };
  const spans = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => {
      stats.bytes += chunk.length;
      if (args['trace-timeline']) chunks.push(chunk);
    });
    req.on('end', () => {
      stats.requests += 1;
      if (args['trace-timeline']) spans.push(...spansOf(JSON.parse(Buffer.concat(chunks).toString())));
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

const freePort = () =>
  new Promise((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// ---------- process metrics -------------------------------------------------------------------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const rssMb = (pid) => {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line.split(/\s+/)[1]) / 1024;
  } catch {
    return 0;
  }
};
const pidsOf = (name) => {
  try {
    return execFileSync('pgrep', ['-x', name]).toString().trim().split('\n').map(Number).filter(Boolean);
  } catch {
    return [];
  }
};
const cpuTicks = (pids) =>
  pids.reduce((sum, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return sum + Number(fields[11]) + Number(fields[12]);
    } catch {
      return sum;
    }
  }, 0);
const brokerPids = () => pidsOf('beam.smp');
const postgresPids = () => pidsOf('postgres');

const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * CPU used over a phase by the broker, Postgres, the given processes (by name) and this load
 * generator: as % of one core, and as CPU milliseconds. Read from /proc, so it covers the kernel
 * time spent on each process's behalf (socket writes included).
 */
function cpuMeter(processes = {}) {
  // Per process id: a Postgres backend that exits during the phase would otherwise take its whole
  // past CPU out of the sum (a negative reading). One that starts counts from zero; what a backend
  // used in the phase before exiting is not seen (the services keep their connections open).
  const perPid = (pids) => new Map(pids.map((pid) => [pid, cpuTicks([pid])]));
  const ticks = () => ({
    broker: perPid(brokerPids()),
    postgres: perPid(postgresPids()),
    ...Object.fromEntries(Object.entries(processes).map(([name, pids]) => [name, perPid(pids)])),
  });
  const start = { t: performance.now(), ticks: ticks(), own: ownCpuMs() };
  return () => {
    const seconds = (performance.now() - start.t) / 1000;
    const end = ticks();
    const used = (name) => [...end[name]].reduce((t, [pid, now]) => t + now - (start.ticks[name].get(pid) ?? 0), 0);
    const ms = Object.fromEntries(Object.keys(end).map((name) => [name, (used(name) * 1000) / CLK_TCK]));
    ms['load generator'] = ownCpuMs() - start.own;
    const pct = (name) => Math.round(ms[name] / 10 / seconds);
    return { broker: pct('broker'), postgres: pct('postgres'), ms, seconds };
  };
}

/**
 * Per database so far (pg_stat_database): transactions committed (`n`), and blocks found in
 * Postgres' shared buffers (`hit`) or read from outside them (`read`: the OS cache or the disk).
 */
async function commits(databases) {
  const admin = new Client({ connectionString: ADMIN_DB });
  await admin.connect();
  try {
    // pg_stat_database is a snapshot per transaction: a fresh one for every reading.
    await admin.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await admin.query(
      'SELECT datname, xact_commit::float8 AS n, blks_read::float8 AS read, blks_hit::float8 AS hit FROM pg_stat_database WHERE datname = ANY($1)',
      [databases],
    );
    return Object.fromEntries(rows.map((r) => [r.datname, r]));
  } finally {
    await admin.end();
  }
}

/** A service's /metrics, as text ('' if it does not answer within 5 s). */
const metricsOf = (port) => fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) }).then((r) => r.text(), () => '');

/** The sum of a counter or gauge over all its label sets, in a /metrics text. */
function sumOf(text, name) {
  const lines = text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
  return lines.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Times a troupe did not catch up within two minutes (counted as errors of the run). */
let stuck = 0;

/**
 * Resolves once a troupe has caught up, with how long that took after the call (ms): none of its
 * subscription queues holds a message ready, no event waits in an outbox, and what its services
 * have consumed stays put over two polls half a second apart (the messages they held are
 * handled). An order completes before the order service has tracked all of its events, and under
 * load that service falls behind by thousands of messages: measured straight after a loaded
 * round, the next system would share the host with the catching up. (The bench's orders are
 * never retried, so the wait queues are not looked at.)
 */
async function caughtUp(url, ports) {
  const started = Date.now();
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const queues = SERVICES.flatMap((consumer) => Object.keys(SUBSCRIBED_EVENTS[consumer]).map((producer) => queueOf(consumer, exchangeOf(producer))));
    let [last, steady, busyUntil] = [-1, 0, started];
    for (;;) {
      const ready = (await Promise.all(queues.map((q) => channel.checkQueue(q)))).reduce((n, q) => n + q.messageCount, 0);
      const texts = await Promise.all(ports.map(metricsOf));
      const count = texts.reduce((n, text) => n + sumOf(text, METRIC.messagesConsumed), 0);
      const pending = texts.reduce((n, text) => n + sumOf(text, METRIC.outboxPending), 0);
      const quiet = ready === 0 && pending === 0 && count === last;
      steady = quiet ? steady + 1 : 0;
      if (!quiet) busyUntil = Date.now();
      if (steady === 2) return busyUntil - started;
      if (Date.now() - started > 120_000) {
        stuck += 1;
        console.error(`  not caught up after 2 minutes (${ready} messages ready, ${pending} in outboxes); going on`);
        return busyUntil - started;
      }
      last = count;
      await sleep(500);
    }
  } finally {
    await connection.close();
  }
}

/** Mean messages per consumer transaction, from a service's own /metrics. */
async function meanBatch(port) {
  const text = await metricsOf(port);
  const read = (name) => Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm'))?.[1] ?? NaN);
  return read('troupe_consumer_batch_messages_sum') / read('troupe_consumer_batch_messages_count');
}

// ---------- driving load ----------------------------------------------------------------------

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
function summarise(latencies, elapsedMs, count) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    orders_per_s: Math.round((count / elapsedMs) * 1000),
    p50_ms: +percentile(sorted, 50).toFixed(1),
    p95_ms: +percentile(sorted, 95).toFixed(1),
    p99_ms: +percentile(sorted, 99).toFixed(1),
  };
}

/** Closed loop: `concurrency` workers, each starting its next order when the last one completed. */
async function drive(count, concurrency, placeAndWait) {
  const latencies = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        next += 1;
        const t0 = performance.now();
        try {
          await placeAndWait();
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors += 1;
          if (errors <= 5) console.error(`  error: ${error.message}`);
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  return { ...summarise(latencies, elapsed, latencies.length), completed: latencies.length, errors, elapsed_ms: elapsed };
}

/** Resolves waiters by orderId when the final event of an order arrives on `queue`. */
async function completions(url, exchange) {
  const connection = await amqp.connect(url, { noDelay: true });
  const channel = await connection.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, '');
  const waiting = new Map();
  // An order can complete before its POST response reaches us (the id is only known then).
  const early = new Set();
  await channel.consume(
    queue,
    (message) => {
      const id = JSON.parse(message.content.toString()).orderId;
      const resolve = waiting.get(id);
      if (resolve) {
        waiting.delete(id);
        resolve();
      } else {
        early.add(id);
      }
    },
    { noAck: true },
  );
  return {
    wait: (orderId, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        if (early.delete(orderId)) return resolve();
        const timer = setTimeout(() => {
          waiting.delete(orderId);
          reject(new Error(`order ${orderId} not completed in ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(orderId, () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    close: () => connection.close(),
  };
}

// ---------- the two systems -------------------------------------------------------------------

/** One troupe system; `label` tells a second one (its own users, vhost and databases) apart. */
async function startTroupe(label = '') {
  const id = `${stamp}${label}`;
  const access = await serviceAccess(id);
  const url = await vhost(`troupe-bench-${id}`, access);
  const sink = await otlpSink();
  cleanups.push(() => new Promise((r) => sink.server.close(r)));
  const processes = [];
  const ports = {};
  /** Each service's database, as the admin (to seed history into). */
  const adminUrls = {};
  // The card gateway first (payment charges through it); it has a database but no broker user.
  for (const service of ['gateway', ...SERVICES]) {
    const db = await database(`bench_${service}_${id}`, access[service]);
    adminUrls[service] = Object.assign(new URL(ADMIN_DB), { pathname: `/bench_${service}_${id}` }).toString();
    const replicas = service === 'payment' || service === 'inventory' ? REPLICAS : 1;
    for (let r = 0; r < replicas; r++) {
      const port = await freePort();
      if (r === 0) ports[service] = port;
      const dir = join(ROOT, 'services', service);
      const [cmd, ...rest] = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts.start.split(/\s+/);
      // `--profile`: a V8 CPU profile per service in .bench/profiles (open it in Chrome DevTools).
      const profile = [`--cpu-prof`, `--cpu-prof-dir=${join(ROOT, '.bench', 'profiles')}`, `--cpu-prof-name=${service}-${r}.cpuprofile`];
      const child = spawn(cmd, args.profile ? [...profile, ...rest] : rest, {
        cwd: dir,
        env: {
          ...process.env,
          ...(access[service].brokerUser ? { RABBITMQ_URL: withCredentials(url, access[service].brokerUser, access[service].brokerPassword) } : {}),
          ...(service === 'payment' ? { GATEWAY_URL: `http://127.0.0.1:${ports.gateway}` } : {}),
          DATABASE_URL: db,
          PORT: String(port),
          LOG_LEVEL: 'info',
          ...(args['no-tracing'] ? { OTEL_TRACES_EXPORTER: 'none' } : { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}` }),
          // The timeline shows each hop's SQL statements too (a span each, off by default).
          ...(args['trace-timeline'] ? { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,express,pg,pino' } : {}),
          ...(args['log-level'] ? { LOG_LEVEL: args['log-level'] } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let lines = 0;
      child.stdout.on('data', (chunk) => (lines += chunk.toString().split('\n').length - 1));
      child.stderr.on('data', (chunk) => process.stderr.write(`${service}: ${chunk}`));
      processes.push({ service, child, port, db: new URL(db).pathname.slice(1), maxRssMb: 0, lines: () => lines });
      cleanups.push(() => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', r), child.kill('SIGTERM')))));
    }
  }
  for (const service of ['gateway', ...SERVICES]) {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${ports[service]}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      await sleep(200);
    }
  }
  // Let the replicas' readiness settle too.
  await sleep(1000);
  const done = await completions(url, 'notification.events');
  cleanups.push(() => done.close());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const body = (i) =>
    JSON.stringify({ customerId: `bench-${i}`, email: 'bench@example.com', items: [{ sku: 'SKU-TSHIRT', quantity: 1 }], paymentMethod: { token: 'tok_visa' } });
  let i = 0;
  let accepted = 0;
  // A keep-alive socket the server closes just as a request goes out fails with ECONNRESET; the
  // request never reached the service, so it is sent again (the pattern of Node's http docs,
  // `request.reusedSocket`).
  /** POST /orders: `{ status, orderId?, retryAfter?, text }`. */
  const post = (via = agent, attempt = 1) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: ports.order, path: '/orders', method: 'POST', agent: via, headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            if (res.statusCode !== 202) return resolve({ status: res.statusCode, retryAfter: Number(res.headers['retry-after']), text });
            const order = JSON.parse(text);
            lastTraceId = order.traceId;
            accepted += 1;
            resolve({ status: 202, orderId: order.orderId, text });
          });
        },
      );
      req.on('error', (error) => {
        if (req.reusedSocket && error.code === 'ECONNRESET' && attempt < 3) resolve(post(via, attempt + 1));
        else reject(error);
      });
      req.end(body(i++));
    });
  let shed = 0;
  return {
    placeAndWait: async () => {
      for (;;) {
        const placed = await post();
        // Refused by the order service's admission bound (what the overload phase measures): the
        // client does what a client should, waits its Retry-After and sends the order again.
        if (placed.status === 503 && Number.isFinite(placed.retryAfter)) {
          shed += 1;
          await sleep(placed.retryAfter * 1000);
          continue;
        }
        if (placed.status !== 202) throw new Error(`POST /orders ${placed.status} ${placed.text}`);
        await done.wait(placed.orderId);
        return;
      }
    },
    /** POSTs refused with 503 and sent again so far. */
    shed: () => shed,
    /** Resolves once this system has handled everything it was sent. */
    caughtUp: () => caughtUp(url, processes.map((p) => p.port)),
    post,
    done,
    processes,
    sink,
    ports,
    adminUrls,
    lastTraceId: () => lastTraceId,
    /** Orders the order service accepted (202) so far. */
    accepted: () => accepted,
  };
}

// An OrderPlaced-sized body (the choreography relay carries events as large as troupe's).
const EVENT_PADDING = 'x'.repeat(700);

/** A database of the bench's own (for the outbox reference), as the admin user, dropped at the end. */
async function ownDatabase(name) {
  await adminQuery(`CREATE DATABASE "${name}"`);
  cleanups.push(() => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  return Object.assign(new URL(ADMIN_DB), { pathname: `/${name}` }).toString();
}

async function startBaseline(topology = 'hops') {
  const [first, last] = topology === 'hops' ? ['b0.events', 'b3.events'] : ['order.events', 'notification.events'];
  const url = await vhost(`troupe-bench-${topology}-${stamp}`);
  const relayArgs = [url, '100', topology, ...(topology === 'outbox' ? [await ownDatabase(`bench_outbox_${stamp}`)] : [])];
  const env = { ...process.env, ...(OUTBOX_MAX_BATCH > 0 ? { OUTBOX_MAX_BATCH: String(OUTBOX_MAX_BATCH) } : {}) };
  const relay = fork(join(__dirname, 'bench-relay.js'), relayArgs, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pid = relay.pid;
  children.push(relay);
  let stopping = false;
  cleanups.push(() => new Promise((r) => (relay.exitCode !== null ? r() : ((stopping = true), relay.once('exit', r), relay.kill('SIGTERM')))));
  await new Promise((resolve, reject) => {
    relay.once('message', resolve);
    relay.once('exit', () => reject(new Error(`the ${topology} reference exited`)));
  });
  // A reference that dies mid-run would leave every order of its rounds to time out: end the run.
  relay.once('exit', (code) => stopping || (console.error(`the ${topology} reference exited (${code}) mid-run`), cleanUp(1)));
  const done = await completions(url, last);
  cleanups.push(() => done.close());
  const connection = await amqp.connect(url, { noDelay: true });
  cleanups.push(() => connection.close());
  const channel = await connection.createConfirmChannel();
  return {
    pid,
    /** The outbox reference's consumer batches and messages so far. */
    stats: () =>
      new Promise((resolve) => {
        relay.once('message', (m) => resolve(m.stats));
        relay.send('stats');
      }),
    placeAndWait: async () => {
      const orderId = randomUUID();
      const completed = done.wait(orderId);
      await new Promise((resolve, reject) =>
        channel.publish(
          first,
          '',
          Buffer.from(JSON.stringify({ id: randomUUID(), orderId, ...(topology === 'hops' ? {} : { data: EVENT_PADDING }) })),
          { persistent: true, messageId: orderId },
          (e) => (e ? reject(e) : resolve()),
        ),
      );
      await completed;
    },
  };
}

// ---------- the scaling curve, the overload and the history -----------------------------------

/**
 * A loaded round of a troupe, its throughput counted up to the moment it had caught up with what
 * it was sent (`caughtUp`): what it can keep up. Its latencies are the orders' own.
 */
async function troupeRound(system, orders, concurrency) {
  const round = await drive(orders, concurrency, system.placeAndWait);
  const catchUpMs = await system.caughtUp();
  return { ...round, catch_up_ms: catchUpMs, orders_per_s: Math.round((round.completed / (round.elapsed_ms + catchUpMs)) * 1000) };
}

/** Throughput and latency at each number in flight (at least three orders per client per step). */
async function scalingCurve(troupe) {
  const steps = [];
  for (const c of CURVE) steps.push({ concurrency: c, ...(await troupeRound(troupe, Math.max(CURVE_ORDERS, 3 * c), c)) });
  return steps;
}

/**
 * `clients` clients at once, each placing an order, waiting until it completes and placing the
 * next, `orders` in all. A refused POST (503) counts as shed: that client waits its Retry-After
 * and goes on with its next order, as a well-behaved client would.
 */
async function overload(troupe, clients, orders) {
  // Every client keeps its own connection, opened before the phase starts: a busy Node process
  // takes new connections off its accept queue slowly, and time spent there is the host's TCP
  // accept, before any code of the service can see the request (docs/benchmarks.md).
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity });
  const connecting = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(clients, orders) }, () =>
      new Promise((resolve, reject) =>
        http.get({ host: '127.0.0.1', port: troupe.ports.order, path: '/healthz', agent }, (res) => res.resume().on('end', resolve)).on('error', reject),
      ),
    ),
  );
  const connectMs = performance.now() - connecting;
  const accepted = [];
  const refused = [];
  const completion = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(clients, orders) }, async () => {
      while (next < orders) {
        next += 1;
        const t0 = performance.now();
        try {
          const placed = await troupe.post(agent);
          const postMs = performance.now() - t0;
          if (placed.status === 503) {
            refused.push(postMs);
            await sleep((placed.retryAfter || 1) * 1000);
            continue;
          }
          if (placed.status !== 202) throw new Error(`POST /orders ${placed.status} ${placed.text}`);
          accepted.push(postMs);
          await troupe.done.wait(placed.orderId, 120_000);
          completion.push(performance.now() - t0);
        } catch (error) {
          errors += 1;
          if (errors <= 5) console.error(`  error: ${error.message}`);
        }
      }
    }),
  );
  agent.destroy();
  const post = [...accepted].sort((a, b) => a - b);
  const ms = (v) => +v.toFixed(1);
  return {
    clients,
    orders,
    connect_s: +(connectMs / 1000).toFixed(1),
    completed: completion.length,
    orders_per_s: Math.round((completion.length / (performance.now() - started)) * 1000),
    shed: refused.length,
    errors,
    post_p50_ms: ms(percentile(post, 50)),
    post_p90_ms: ms(percentile(post, 90)),
    post_p99_ms: ms(percentile(post, 99)),
    post_max_ms: ms(post.at(-1) ?? NaN),
    shed_max_ms: ms(refused.length > 0 ? Math.max(...refused) : NaN),
    completion: summarise(completion, 1, 0),
  };
}

/**
 * A second troupe system, its databases seeded with `HISTORY` orders' worth of rows, measured side
 * by side with the first (empty) one: orders at 1 in flight alternate between the two, and loaded
 * rounds alternate too, so a host that speeds up or slows down weighs on both alike.
 */
async function historyPhase(empty) {
  console.log(`\nstarting a second troupe and seeding ${HISTORY.toLocaleString('en')} orders' worth of rows into its four databases…`);
  const aged = await startTroupe('h');
  sampled.push(...aged.processes);
  const seeded = await seedHistory(aged.adminUrls, HISTORY);
  console.log(`  ${seeded.rows.toLocaleString('en')} rows in ${seeded.seconds.toFixed(0)} s (INSERT … SELECT generate_series, then VACUUM ANALYZE)`);
  const plans = await explainHotPaths(aged.adminUrls);
  await drive(WARMUP, 20, aged.placeAndWait);
  await aged.caughtUp();
  let turn = 0;
  const latencies = { empty: [], aged: [] };
  const started = performance.now();
  await drive(2 * SINGLE, 1, async () => {
    const [which, system] = turn++ % 2 === 0 ? ['empty', empty] : ['aged', aged];
    const t0 = performance.now();
    await system.placeAndWait();
    latencies[which].push(performance.now() - t0);
  });
  const elapsed = performance.now() - started;
  const single = {
    empty: { ...summarise(latencies.empty, elapsed, latencies.empty.length), errors: 0 },
    aged: { ...summarise(latencies.aged, elapsed, latencies.aged.length), errors: 0 },
  };
  const rounds = { empty: [], aged: [] };
  const blocks = { empty: { read: 0, hit: 0 }, aged: { read: 0, hit: 0 } };
  const measure = async (which, system) => {
    const databases = [...new Set(system.processes.map((p) => p.db))];
    const before = await commits(databases);
    rounds[which].push(await troupeRound(system, N, C));
    const after = await commits(databases);
    for (const db of databases) {
      blocks[which].read += after[db].read - before[db].read;
      blocks[which].hit += after[db].hit - before[db].hit;
    }
  };
  // The seeded system has just been bulk-loaded and has not yet run under load (its first loaded
  // round was the slowest of every run, 0.61-0.77 of the empty one's): one round of each, shown
  // but not counted, first. Then each round runs the two in the order the last one did not, so a
  // host that speeds up or slows down through the phase favours neither.
  const shedBefore = { empty: empty.shed(), aged: aged.shed() };
  const warmEmpty = await troupeRound(empty, N, C);
  const warmAged = await troupeRound(aged, N, C);
  console.log(`  warm-up round (not counted): empty ${warmEmpty.orders_per_s}/s, history ${warmAged.orders_per_s}/s, ratio ${(warmAged.orders_per_s / warmEmpty.orders_per_s).toFixed(2)}`);
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? ['aged', 'empty'] : ['empty', 'aged'];
    for (const which of order) await measure(which, which === 'empty' ? empty : aged);
    const [e, h] = [rounds.empty.at(-1), rounds.aged.at(-1)];
    console.log(`  round ${round} (${order[0] === 'empty' ? 'empty first' : 'history first'}): empty ${e.orders_per_s}/s, history ${h.orders_per_s}/s, ratio ${(h.orders_per_s / e.orders_per_s).toFixed(2)}`);
  }
  const shed = { empty: empty.shed() - shedBefore.empty, aged: aged.shed() - shedBefore.aged };
  if (shed.empty + shed.aged > 0) console.log(`  POSTs refused with 503 and sent again after their Retry-After: empty ${shed.empty}, history ${shed.aged}`);
  const errors = [warmEmpty, warmAged, ...rounds.empty, ...rounds.aged].reduce((t, r) => t + r.errors, 0);
  return {
    seeded,
    plans,
    blocks,
    single,
    loaded: { empty: summariseRounds(rounds.empty), aged: summariseRounds(rounds.aged) },
    ratio: median(rounds.aged.map((h, i) => h.orders_per_s / rounds.empty[i].orders_per_s)),
    errors,
    processes: aged.processes,
  };
}

// ---------- main ------------------------------------------------------------------------------

/** Adds up CPU readings of several rounds (ms per process, seconds). */
function addCpu(readings) {
  const ms = {};
  for (const r of readings) for (const [k, v] of Object.entries(r.ms)) ms[k] = (ms[k] ?? 0) + v;
  const seconds = readings.reduce((t, r) => t + r.seconds, 0);
  const pct = (name) => Math.round(ms[name] / 10 / seconds);
  return { ms, seconds, broker: pct('broker'), postgres: pct('postgres') };
}

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor((values.length - 1) / 2)];
/** The round with the median throughput stands for the system; errors and completions add up. */
function summariseRounds(rounds) {
  const byRate = [...rounds].sort((x, y) => x.orders_per_s - y.orders_per_s);
  const mid = byRate[Math.floor((byRate.length - 1) / 2)];
  return {
    ...mid,
    rates: rounds.map((r) => r.orders_per_s),
    completed: rounds.reduce((t, r) => t + r.completed, 0),
    errors: rounds.reduce((t, r) => t + r.errors, 0),
  };
}

async function main() {
  console.log(
    `troupe bench: ${ROUNDS} round(s) of ${N} orders at ${C} in flight, ${SINGLE} at 1 in flight, ${REPLICAS} replica(s) of payment and inventory`,
  );
  const troupe = await startTroupe();
  sampled.push(...troupe.processes);
  const sampler = setInterval(() => {
    for (const p of sampled) p.maxRssMb = Math.max(p.maxRssMb, rssMb(p.child.pid));
  }, 250);

  await drive(WARMUP, 20, troupe.placeAndWait);
  await troupe.caughtUp();
  // CPU per order at 1 in flight: every message handled on its own, no batch to share a cost, so
  // the figure changes only with the work done per order (the loaded one moves with batch sizes).
  const serviceKeys = troupe.processes.map((p, i) => `${p.service}#${i}`);
  const servicePids = Object.fromEntries(troupe.processes.map((p, i) => [serviceKeys[i], [p.child.pid]]));
  const singleMeter = cpuMeter(servicePids);
  const single = await drive(SINGLE, 1, troupe.placeAndWait);
  const singleCpu = singleMeter();
  if (args['trace-timeline']) {
    await sleep(1000); // the services export every 200 ms
    printTimeline(troupe.sink.spans, troupe.lastTraceId());
  }

  // The references, started beside troupe (idle while troupe is driven, and the other way round).
  const baseline = await startBaseline();
  await drive(WARMUP, 20, baseline.placeAndWait);
  const baseSingleMeter = cpuMeter({ relay: [baseline.pid] });
  const baseSingle = await drive(SINGLE, 1, baseline.placeAndWait);
  const baseSingleCpu = baseSingleMeter();
  // The same bare relay on troupe's own topology: what the broker costs for this workflow alone.
  const choreography = await startBaseline('choreography');
  await drive(WARMUP, 20, choreography.placeAndWait);
  const chorSingleMeter = cpuMeter({ relay: [choreography.pid] });
  const chorSingle = await drive(SINGLE, 1, choreography.placeAndWait);
  const chorSingleCpu = chorSingleMeter();
  // The choreography again, with each consumer's part done through an inbox and an outbox as
  // troupe's are, and nothing else: what the outbox and inbox cost on this topology.
  const outbox = await startBaseline('outbox');
  await drive(WARMUP, 20, outbox.placeAndWait);
  const outboxSingleMeter = cpuMeter({ relay: [outbox.pid] });
  const outboxSingle = await drive(SINGLE, 1, outbox.placeAndWait);
  const outboxSingleCpu = outboxSingleMeter();

  // Rounds alternate troupe and the references, so a machine that speeds up or slows down during
  // the run (these do, by ±20%) weighs on both sides of each ratio alike.
  const databases = [...new Set(troupe.processes.map((p) => p.db))];
  const rounds = { troupe: [], base: [], chor: [], outbox: [] };
  const cpus = { troupe: [], base: [], chor: [], outbox: [] };
  const txs = Object.fromEntries(databases.map((db) => [db, 0]));
  const blocks = { read: 0, hit: 0 };
  const outboxBatches = { batches: 0, messages: 0 };
  for (let round = 1; round <= ROUNDS; round++) {
    const commitsBefore = await commits(databases);
    let meter = cpuMeter(servicePids);
    // Its throughput and CPU per order include catching up on what it tracks, and the next system
    // gets the host to itself.
    rounds.troupe.push(await troupeRound(troupe, N, C));
    cpus.troupe.push(meter());
    const commitsAfter = await commits(databases);
    for (const db of databases) {
      txs[db] += commitsAfter[db].n - commitsBefore[db].n;
      blocks.read += commitsAfter[db].read - commitsBefore[db].read;
      blocks.hit += commitsAfter[db].hit - commitsBefore[db].hit;
    }
    meter = cpuMeter({ relay: [baseline.pid] });
    rounds.base.push(await drive(N, C, baseline.placeAndWait));
    cpus.base.push(meter());
    meter = cpuMeter({ relay: [choreography.pid] });
    rounds.chor.push(await drive(N, C, choreography.placeAndWait));
    cpus.chor.push(meter());
    meter = cpuMeter({ relay: [outbox.pid] });
    const statsBefore = await outbox.stats();
    rounds.outbox.push(await drive(N, C, outbox.placeAndWait));
    cpus.outbox.push(meter());
    const statsAfter = await outbox.stats();
    outboxBatches.batches += statsAfter.batches - statsBefore.batches;
    outboxBatches.messages += statsAfter.messages - statsBefore.messages;
    if (ROUNDS > 1) {
      const [t, b, c, o] = [rounds.troupe.at(-1), rounds.base.at(-1), rounds.chor.at(-1), rounds.outbox.at(-1)];
      console.log(
        `  round ${round}: troupe ${t.orders_per_s}/s (caught up ${(t.catch_up_ms / 1000).toFixed(1)} s after its last order), bare relay ${b.orders_per_s}/s, ratio ${(t.orders_per_s / b.orders_per_s).toFixed(2)}; bare choreography ${c.orders_per_s}/s, outbox choreography ${o.orders_per_s}/s`,
      );
    }
  }
  if (troupe.shed() > 0) console.log(`  troupe: ${troupe.shed()} POSTs refused with 503 under load, each sent again after its Retry-After (counted in the latency)`);
  for (const p of troupe.processes) p.batch = await meanBatch(p.port);
  const rssLoaded = Math.max(...troupe.processes.map((p) => p.maxRssMb));

  console.log(`\nscaling curve (${CURVE.join(', ')} in flight)…`);
  const curve = await scalingCurve(troupe);
  await troupe.caughtUp();
  const over = OVERLOAD_ORDERS > 0 && OVERLOAD_CLIENTS > 0 ? (console.log(`overload: ${OVERLOAD_CLIENTS} clients, ${OVERLOAD_ORDERS} orders…`), await overload(troupe, OVERLOAD_CLIENTS, OVERLOAD_ORDERS)) : undefined;
  if (over) await troupe.caughtUp();
  const history = HISTORY > 0 ? await historyPhase(troupe) : undefined;
  clearInterval(sampler);
  const spans = troupe.sink.stats.requests;

  const loaded = summariseRounds(rounds.troupe);
  const base = summariseRounds(rounds.base);
  const chor = summariseRounds(rounds.chor);
  const cpuLoaded = addCpu(cpus.troupe);
  const baseCpuLoaded = addCpu(cpus.base);
  const chorCpuLoaded = addCpu(cpus.chor);
  const outboxLoaded = summariseRounds(rounds.outbox);
  const outboxCpuLoaded = addCpu(cpus.outbox);
  troupe.processes.forEach((p, i) => {
    p.cpuMs = cpuLoaded.ms[serviceKeys[i]];
    p.singleCpuMs = singleCpu.ms[serviceKeys[i]];
    p.cpuPct = Math.round(p.cpuMs / 10 / cpuLoaded.seconds);
  });
  const ratio = median(rounds.troupe.map((t, i) => t.orders_per_s / rounds.base[i].orders_per_s));
  const chorRatio = median(rounds.troupe.map((t, i) => t.orders_per_s / rounds.chor[i].orders_per_s));
  const outboxChorRatio = median(rounds.outbox.map((o, i) => o.orders_per_s / rounds.chor[i].orders_per_s));

  const range = (r) => (r.rates.length > 1 ? ` (${Math.min(...r.rates)}–${Math.max(...r.rates)})` : '');
  const row = (name, r, cpuUse) =>
    `| ${name.padEnd(34)} | ${`${r.orders_per_s}${r.rates ? range(r) : ''}`.padStart(16)} | ${String(r.p50_ms).padStart(7)} | ${String(r.p95_ms).padStart(7)} | ${String(r.p99_ms).padStart(7)} | ${String(r.errors).padStart(6)} | ${cpuUse ? `${cpuUse.broker}% / ${cpuUse.postgres}%` : ''}`;
  console.log(`\n| ${'run'.padEnd(34)} | ${'orders/s'.padStart(16)} |  p50 ms |  p95 ms |  p99 ms | errors | broker / postgres CPU`);
  console.log(`|${'-'.repeat(36)}|${'-'.repeat(17)}:|--------:|--------:|--------:|-------:|----------------------`);
  console.log(row(`troupe, 1 in flight`, single));
  console.log(row(`troupe, ${C} in flight`, loaded, cpuLoaded));
  console.log(row(`bare relay, 1 in flight`, baseSingle));
  console.log(row(`bare relay, ${C} in flight`, base, baseCpuLoaded));
  console.log(row(`bare choreography, 1 in flight`, chorSingle));
  console.log(row(`bare choreography, ${C} in flight`, chor, chorCpuLoaded));
  console.log(row(`outbox choreography, 1 in flight`, outboxSingle));
  console.log(row(`outbox choreography, ${C} in flight`, outboxLoaded, outboxCpuLoaded));
  if (ROUNDS > 1) console.log(`(${C} in flight: the round with the median throughput; in brackets, the range over ${ROUNDS} rounds)`);
  const catchUps = rounds.troupe.map((r) => (r.catch_up_ms / 1000).toFixed(1));
  console.log(`troupe caught up ${catchUps.join(', ')} s after its last order completed, in its ${C}-in-flight rounds (counted in its orders/s and CPU)`);
  console.log(
    `outbox choreography: ${outboxChorRatio.toFixed(2)} of the bare choreography (median of paired rounds), ${(outboxBatches.messages / outboxBatches.batches).toFixed(1)} messages per transaction${OUTBOX_MAX_BATCH > 0 ? ` (at most ${OUTBOX_MAX_BATCH})` : ''} at ${C} in flight`,
  );
  console.log('\n| service       | max RSS (MB) | CPU under load | CPU ms / order | CPU ms / order, 1 in flight | transactions / order | messages / transaction | log lines |');
  console.log('|---------------|-------------:|---------------:|---------------:|----------------------------:|---------------------:|-----------------------:|----------:|');
  const perOrder = (ms, r) => (ms / r.completed).toFixed(2);
  const shown = new Set();
  for (const p of troupe.processes) {
    // Replicas share a database: its transactions are counted once, on the first of them.
    const tx = shown.has(p.db) ? NaN : txs[p.db] / loaded.completed;
    shown.add(p.db);
    console.log(
      `| ${p.service.padEnd(13)} | ${p.maxRssMb.toFixed(0).padStart(12)} | ${`${p.cpuPct}%`.padStart(14)} | ${perOrder(p.cpuMs, loaded).padStart(14)} | ${perOrder(p.singleCpuMs, single).padStart(27)} | ${(Number.isNaN(tx) ? '(shared)' : tx.toFixed(1)).padStart(20)} | ${(Number.isNaN(p.batch) ? '–' : p.batch.toFixed(1)).padStart(22)} | ${String(p.lines()).padStart(9)} |`,
    );
  }
  // Where the CPU went, per completed order: the throughput ceiling of the host running the bench
  // is (cores × 1000 ms/s) divided by the total.
  const sum = (ms, keys) => keys.reduce((t, k) => t + ms[k], 0);
  const columns = [
    { name: 'troupe', cpu: cpuLoaded, run: loaded, own: serviceKeys },
    { name: 'bare relay', cpu: baseCpuLoaded, run: base, own: ['relay'] },
    { name: 'bare choreography', cpu: chorCpuLoaded, run: chor, own: ['relay'] },
    { name: 'outbox choreography', cpu: outboxCpuLoaded, run: outboxLoaded, own: ['relay'] },
  ];
  const total = (c) => sum(c.cpu.ms, ['broker', 'postgres', 'load generator', ...c.own]);
  const cores = require('node:os').availableParallelism();
  const cpuTable = (title, cols, { ceiling }) => {
    const line = (label, value) => `| ${label.padEnd(30)} | ${cols.map((c) => String(value(c)).padStart(c.name.length)).join(' | ')} |`;
    console.log(`\n| ${title.padEnd(30)} | ${cols.map((c) => c.name).join(' | ')} |`);
    console.log(`|${'-'.repeat(32)}|${cols.map((c) => `${'-'.repeat(c.name.length + 1)}:`).join('|')}|`);
    console.log(line('broker', (c) => perOrder(c.cpu.ms.broker, c.run)));
    console.log(line('postgres', (c) => perOrder(c.cpu.ms.postgres, c.run)));
    console.log(line('services / relay process', (c) => perOrder(sum(c.cpu.ms, c.own), c.run)));
    console.log(line('load generator (this process)', (c) => perOrder(c.cpu.ms['load generator'], c.run)));
    console.log(line('total', (c) => perOrder(total(c), c.run)));
    if (ceiling) console.log(line(`ceiling on ${cores} cores (orders/s)`, (c) => Math.round((cores * 1000) / (total(c) / c.run.completed))));
  };
  cpuTable(`CPU ms per order, ${C} in flight`, columns, { ceiling: true });
  // The same accounting at 1 in flight: each message is handled on its own (no batch shares a
  // cost), so these figures move only with the work done per order and the host's speed.
  const singleColumns = [
    { ...columns[0], cpu: singleCpu, run: single },
    { ...columns[1], cpu: baseSingleCpu, run: baseSingle },
    { ...columns[2], cpu: chorSingleCpu, run: chorSingle },
    { ...columns[3], cpu: outboxSingleCpu, run: outboxSingle },
  ];
  cpuTable('CPU ms per order, 1 in flight', singleColumns, { ceiling: false });
  const singleTotal = total(singleColumns[0]);
  const troupeTotal = total(columns[0]);
  const baseTotal = total(columns[1]);
  console.log(
    `\nOTLP exports received by the local sink: ${spans} requests, ${(troupe.sink.stats.bytes / 1e6).toFixed(1)} MB, ${(troupe.sink.stats.bytes / 1e3 / troupe.accepted()).toFixed(1)} KB per order`,
  );

  console.log(`\n| in flight | orders/s |  p50 ms |  p95 ms |  p99 ms | errors |`);
  console.log(`|----------:|---------:|--------:|--------:|--------:|-------:|`);
  for (const step of curve) {
    console.log(`| ${String(step.concurrency).padStart(9)} | ${String(step.orders_per_s).padStart(8)} | ${String(step.p50_ms).padStart(7)} | ${String(step.p95_ms).padStart(7)} | ${String(step.p99_ms).padStart(7)} | ${String(step.errors).padStart(6)} |`);
  }
  if (over) {
    console.log(
      `\noverload, ${over.clients} clients (connected in ${over.connect_s} s), ${over.orders} orders: ${over.completed} completed (${over.orders_per_s}/s), ${over.shed} shed with 503, ${over.errors} errors`,
    );
    console.log(`  POST → 202: p50 ${over.post_p50_ms} ms, p90 ${over.post_p90_ms} ms, p99 ${over.post_p99_ms} ms, max ${over.post_max_ms} ms; POST → 503: ${over.shed > 0 ? `max ${over.shed_max_ms} ms` : 'none'}`);
    console.log(`  POST → NotificationSent (accepted orders): p50 ${over.completion.p50_ms} ms, p99 ${over.completion.p99_ms} ms`);
  }
  if (history) {
    const h = history;
    console.log(`\nwith ${HISTORY.toLocaleString('en')} orders' worth of history (seeded in ${h.seeded.seconds.toFixed(0)} s), side by side with the empty databases:`);
    console.log(`| ${'run'.padEnd(34)} | ${'orders/s'.padStart(16)} |  p50 ms |  p95 ms |  p99 ms | errors |`);
    console.log(`|${'-'.repeat(36)}|${'-'.repeat(17)}:|--------:|--------:|--------:|-------:|`);
    console.log(`${row('empty, 1 in flight', h.single.empty)}`);
    console.log(`${row('history, 1 in flight', h.single.aged)}`);
    console.log(`${row(`empty, ${C} in flight`, h.loaded.empty)}`);
    console.log(`${row(`history, ${C} in flight`, h.loaded.aged)}`);
    console.log(`history / empty at ${C} in flight (median of paired rounds): ${h.ratio.toFixed(2)}`);
    const perOrderBlocks = (b, r) => `${(b.read / r.completed).toFixed(1)} read, ${(b.hit / r.completed).toFixed(0)} hit`;
    console.log(
      `Postgres blocks per order at ${C} in flight (from outside / inside shared buffers): empty ${perOrderBlocks(h.blocks.empty, h.loaded.empty)}; history ${perOrderBlocks(h.blocks.aged, h.loaded.aged)}`,
    );
    console.log(`max RSS of the seeded system's services: ${Math.round(Math.max(...h.processes.map((p) => p.maxRssMb)))} MB`);
    console.log('hot-path plans with the history in place:');
    for (const p of h.plans) console.log(`  ${p.indexed ? 'index' : '**NOT INDEXED**'}  ${p.service}: ${p.name} — ${p.plan}`);
  }

  const result = {
    orders_per_s: loaded.orders_per_s,
    p50_ms: loaded.p50_ms,
    p99_ms: loaded.p99_ms,
    single_p50_ms: single.p50_ms,
    baseline_orders_per_s: base.orders_per_s,
    ratio: +ratio.toFixed(2),
    rounds: ROUNDS,
    completed: loaded.completed,
    errors: loaded.errors + single.errors,
    max_rss_mb: Math.round(Math.max(...troupe.processes.map((p) => p.maxRssMb))),
    cpu_ms_per_order: +(troupeTotal / loaded.completed).toFixed(2),
    baseline_cpu_ms_per_order: +(baseTotal / base.completed).toFixed(2),
    choreography_orders_per_s: chor.orders_per_s,
    choreography_ratio: +chorRatio.toFixed(2),
    outbox_orders_per_s: outboxLoaded.orders_per_s,
    outbox_choreography_ratio: +outboxChorRatio.toFixed(2),
    outbox_single_p50_ms: outboxSingle.p50_ms,
    outbox_cpu_ms_per_order: +(total(columns[3]) / outboxLoaded.completed).toFixed(2),
    outbox_messages_per_transaction: +(outboxBatches.messages / outboxBatches.batches).toFixed(1),
    reference_errors: [baseSingle, chorSingle, outboxSingle, base, chor, outboxLoaded].reduce((t, r) => t + r.errors, 0),
    single_p99_ms: single.p99_ms,
    single_cpu_ms_per_order: Number((singleTotal / single.completed).toFixed(2)),
    max_rss_mb_loaded: Math.round(rssLoaded),
    replicas: REPLICAS,
    curve: curve.map(({ concurrency, orders_per_s, p50_ms }) => ({ concurrency, orders_per_s, p50_ms })),
    ...(over && { overload: { ...over, completion: undefined } }),
    ...(history && {
      history: {
        orders: HISTORY,
        seed_s: Math.round(history.seeded.seconds),
        orders_per_s: history.loaded.aged.orders_per_s,
        empty_orders_per_s: history.loaded.empty.orders_per_s,
        ratio: +history.ratio.toFixed(3),
        single_p50_ms: history.single.aged.p50_ms,
        empty_single_p50_ms: history.single.empty.p50_ms,
        plans_indexed: history.plans.every((p) => p.indexed),
      },
    }),
  };
  printTargets({ ...result, concurrency: C });
  console.log(JSON.stringify(result));
  const historyErrors = history ? history.errors : 0;
  const curveErrors = curve.reduce((t, step) => t + step.errors, 0);
  if (stuck > 0) console.error(`troupe did not catch up within 2 minutes ${stuck} time(s)`);
  if (stuck + result.errors + result.reference_errors + historyErrors + curveErrors + (over?.errors ?? 0) > 0 || result.completed !== N * ROUNDS) process.exitCode = 1;
}

// Whatever ends the run (an error, Ctrl-C, a closed pipe: `make bench | head`), the vhosts and
// databases it created are removed and no service it started is left running.
let cleaningUp;
const cleanUp = (code) =>
  (cleaningUp ??= (async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    process.exit(code);
  })());
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => cleanUp(130));
process.stdout.on('error', () => cleanUp(1));
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanUp(process.exitCode ?? 0));
