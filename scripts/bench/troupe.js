// A troupe under test: the card gateway and the four services started the way `make dev` starts
// them (their `start` scripts), with tracing on (exported over OTLP to a sink in the bench's
// process), metrics and info logs on, each against a fresh vhost and fresh databases; orders placed
// through POST /orders, each complete when its NotificationSent reaches a queue of the bench's.
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const http = require('node:http');
const { join } = require('node:path');
const amqp = require('amqplib');
const { exchangeOf, METRIC, queueOf, SERVICES, SUBSCRIBED_EVENTS } = require('@troupe/contracts');
const { freePort } = require('@troupe/testing');
const { completions, drive, sleep } = require('./load');
const { metricsOf, sumOf } = require('./meters');
const { otlpSink } = require('./otlp-sink');
const { database, serviceAccess, troupeVhost } = require('./start-up');

/** What each service's process gets on top of the bench's own environment. */
function serviceEnv(options, { service, access, vhost, db, port, ports, sink }) {
  return {
    ...(access[service].brokerUser ? { RABBITMQ_URL: vhost.urlFor(service) } : {}),
    ...(service === 'payment' ? { GATEWAY_URL: `http://127.0.0.1:${ports.gateway}` } : {}),
    DATABASE_URL: db.url,
    PORT: String(port),
    LOG_LEVEL: 'info',
    // `--no-tracing`: OpenTelemetry's SDK off (OTEL_SDK_DISABLED: no spans, no trace context), not
    // only its export. The instrumentations still wrap http, express and pino (with a tracer that
    // does nothing), so what it saves is a lower bound of what tracing costs.
    ...(options.noTracing ? { OTEL_SDK_DISABLED: 'true' } : { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}` }),
    // The timeline shows each hop's SQL statements too (a span each, off by default).
    ...(options.traceTimeline ? { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,express,pg,pino' } : {}),
    ...(options.logLevel ? { LOG_LEVEL: options.logLevel } : {}),
  };
}

/** Spawns one service process with its `start` script; stopped (SIGTERM) at the end of the run. */
function spawnService(run, service, replica, env) {
  const dir = join(run.root, 'services', service);
  const [cmd, ...rest] = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts.start.split(/\s+/);
  // `--profile`: a V8 CPU profile per service in .bench/profiles (open it in Chrome DevTools).
  const profile = [`--cpu-prof`, `--cpu-prof-dir=${join(run.root, '.bench', 'profiles')}`, `--cpu-prof-name=${service}-${replica}.cpuprofile`];
  const child = spawn(cmd, run.options.profile ? [...profile, ...rest] : rest, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  run.started(child);
  let lines = 0;
  child.stdout.on('data', (chunk) => (lines += chunk.toString().split('\n').length - 1));
  child.stderr.on('data', (chunk) => process.stderr.write(`${service}: ${chunk}`));
  run.defer(() => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', r), child.kill('SIGTERM')))));
  return { child, lines: () => lines };
}

async function untilReady(port) {
  while (!(await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false))) await sleep(200);
}

/**
 * One troupe system; `label` tells a second one (its own users, vhost and databases) apart. Its
 * processes are sampled for memory (`run.sampled`) from the start.
 */
async function startTroupe(run, label = '') {
  const id = `${run.stamp}${label}`;
  const access = await serviceAccess(run, id);
  const vhost = await troupeVhost(run, id, access);
  const sink = await otlpSink({ keepSpans: run.options.traceTimeline });
  run.defer(() => new Promise((r) => sink.server.close(r)));
  const processes = [];
  const ports = {};
  /** Each service's database, as the admin (to seed history into). */
  const adminUrls = {};
  // The card gateway first (payment charges through it); it has a database but no broker user.
  for (const service of ['gateway', ...SERVICES]) {
    const db = await database(run, `bench_${service}_${id}`, access[service]);
    adminUrls[service] = db.adminUrl;
    const replicas = service === 'payment' || service === 'inventory' ? run.options.replicas : 1;
    for (let r = 0; r < replicas; r++) {
      const port = await freePort();
      if (r === 0) ports[service] = port;
      const { child, lines } = spawnService(run, service, r, serviceEnv(run.options, { service, access, vhost, db, port, ports, sink }));
      // `key` names its CPU reading (`cpuMeter`), one per process.
      processes.push({ service, key: `${service}#${processes.length}`, child, port, db: db.name, maxRssMb: 0, lines });
    }
  }
  for (const service of ['gateway', ...SERVICES]) await untilReady(ports[service]);
  // Let the replicas' readiness settle too.
  await sleep(1000);
  run.sampled.push(...processes);
  const done = await completions(vhost.url, 'notification.events');
  run.defer(() => done.close());
  const client = orderClient(ports.order);
  return {
    ...client,
    placeAndWait: () => client.placeAndWait(done),
    /** Resolves once this system has handled everything it was sent (ms it took). */
    caughtUp: () => caughtUp(run, vhost.url, processes.map((p) => p.port)),
    done,
    processes,
    /** The processes' pids by `key`, for `cpuMeter`. */
    pids: Object.fromEntries(processes.map((p) => [p.key, [p.child.pid]])),
    sink,
    ports,
    adminUrls,
  };
}

/** POST /orders on `port`, with what the order service's answers tell. */
function orderClient(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const body = (i) =>
    JSON.stringify({ customerId: `bench-${i}`, email: 'bench@example.com', items: [{ sku: 'SKU-TSHIRT', quantity: 1 }], paymentMethod: { token: 'tok_visa' } });
  let i = 0;
  let accepted = 0;
  let shed = 0;
  let lastTraceId;
  // A keep-alive socket the server closes just as a request goes out fails with ECONNRESET; the
  // request never reached the service, so it is sent again (the pattern of Node's http docs,
  // `request.reusedSocket`).
  /** POST /orders: `{ status, orderId?, retryAfter?, text }`. */
  const post = (via = agent, attempt = 1) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/orders', method: 'POST', agent: via, headers: { 'content-type': 'application/json' } },
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
  return {
    post,
    /** Places an order and waits until `done` has seen it complete. */
    placeAndWait: async (done) => {
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
    lastTraceId: () => lastTraceId,
    /** Orders the order service accepted (202) so far. */
    accepted: () => accepted,
  };
}

/**
 * Resolves once a troupe has caught up, with how long that took after the call (ms): none of its
 * subscription queues holds a message ready, no event waits in an outbox, and what its services
 * have consumed stays put over two polls half a second apart (the messages they held are
 * handled). An order completes before the order service has tracked all of its events, and under
 * load that service falls behind by thousands of messages: measured straight after a loaded
 * round, the next system would share the host with the catching up. (The bench's orders are
 * never retried, so the wait queues are not looked at.) Not caught up within two minutes counts in
 * `run.stuck`.
 */
async function caughtUp(run, url, ports) {
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
        run.stuck += 1;
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

/**
 * A loaded round of a troupe, its throughput counted up to the moment it had caught up with what
 * it was sent (`caughtUp`): what it can keep up. Its latencies are the orders' own.
 */
async function troupeRound(system, orders, concurrency) {
  const round = await drive(orders, concurrency, system.placeAndWait);
  const catchUpMs = await system.caughtUp();
  return { ...round, catch_up_ms: catchUpMs, orders_per_s: Math.round((round.completed / (round.elapsed_ms + catchUpMs)) * 1000) };
}

module.exports = { startTroupe, troupeRound };
