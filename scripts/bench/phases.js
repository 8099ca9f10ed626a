// The bench's phases, in the order main() runs them: orders one at a time, loaded rounds, the
// scaling curve and the overload (the history phase is history.js). Each returns what it measured.
const http = require('node:http');
const { drive, overtakes, percentile, sleep, summarise } = require('./load');
const { commits, meanBatch, metered } = require('./meters');
const { hopAccounting, hopsOf, printHopAccounting, printTimeline } = require('./otlp-sink');
const { startReference } = require('./references');
const { troupeRound } = require('./troupe');

/** A warm-up of `run.options.warmup` orders (20 in flight), then `single` orders at 1 in flight, CPU metered. */
async function oneAtATime(run, system, processes) {
  await drive(run.options.warmup, 20, system.placeAndWait);
  await system.caughtUp?.();
  if (run.options.traceTimeline && system.sink) {
    // The timeline and the hop accounting are of orders at 1 in flight: the warm-up's spans go.
    await sleep(1000);
    system.sink.spans.length = 0;
  }
  const { result, cpu } = await metered(processes, () => drive(run.options.single, 1, system.placeAndWait));
  return { run: result, cpu };
}

/**
 * troupe, then each reference (started beside troupe: idle while troupe is driven, and the other
 * way round), at 1 in flight. CPU per order at 1 in flight: every message handled on its own, no
 * batch to share a cost, so the figure changes only with the work done per order (the loaded one
 * moves with batch sizes).
 */
async function singleOrders(run, troupe) {
  const single = await oneAtATime(run, troupe, troupe.pids);
  if (run.options.traceTimeline) {
    await sleep(1000); // the services export every 200 ms
    printTimeline(troupe.sink.spans, troupe.lastTraceId());
    single.hops = hopsOf(troupe.sink.spans);
    single.hopAccounting = hopAccounting(troupe.sink.spans);
    printHopAccounting(single.hopAccounting);
  }
  const references = {};
  // `base`: the bare relay of four hops. `chor`: the same bare relay on troupe's own topology,
  // what the broker costs for this workflow alone. `outbox`: the choreography again, with each
  // consumer's part done through an inbox and an outbox as troupe's are, and nothing else: what
  // the outbox and inbox cost on this topology. `cons`: the outbox choreography held to what
  // troupe's design requires (orders placed in a transaction, each charge and each mail recorded
  // in a transaction of its own, a process per service): the floor for troupe's workflow.
  for (const [name, topology] of [['base', 'hops'], ['chor', 'choreography'], ['outbox', 'outbox'], ['cons', 'constrained']]) {
    const system = await startReference(run, topology);
    references[name] = { system, ...(await oneAtATime(run, system, system.processes)) };
  }
  return { troupe: single, references };
}

/**
 * `run.options.rounds` loaded rounds. Rounds alternate troupe and the references, so a machine
 * that speeds up or slows down during the run (these do, by ±20%) weighs on both sides of each
 * ratio alike.
 */
async function loadedRounds(run, troupe, { base, chor, outbox, cons }) {
  const { orders, concurrency, rounds: count } = run.options;
  const databases = [...new Set(troupe.processes.map((p) => p.db))];
  const rounds = { troupe: [], base: [], chor: [], outbox: [], cons: [] };
  const cpus = { troupe: [], base: [], chor: [], outbox: [], cons: [] };
  const txs = Object.fromEntries(databases.map((db) => [db, 0]));
  const outboxBatches = { batches: 0, messages: 0 };
  // troupe's Postgres CPU is shared out by service (its database's backends).
  const measure = async (name, processes, round, byDatabase) => {
    const { result, cpu } = await metered(processes, round, byDatabase && { adminDb: run.adminDb, names: databases });
    rounds[name].push(result);
    cpus[name].push(cpu);
  };
  for (let round = 1; round <= count; round++) {
    const commitsBefore = await commits(run.adminDb, databases);
    // Its throughput and CPU per order include catching up on what it tracks, and the next system
    // gets the host to itself.
    await measure('troupe', troupe.pids, () => troupeRound(troupe, orders, concurrency), true);
    const commitsAfter = await commits(run.adminDb, databases);
    for (const db of databases) txs[db] += commitsAfter[db].n - commitsBefore[db].n;
    await measure('base', base.system.processes, () => drive(orders, concurrency, base.system.placeAndWait));
    await measure('chor', chor.system.processes, () => drive(orders, concurrency, chor.system.placeAndWait));
    const statsBefore = await outbox.system.stats();
    await measure('outbox', outbox.system.processes, () => drive(orders, concurrency, outbox.system.placeAndWait));
    const statsAfter = await outbox.system.stats();
    outboxBatches.batches += statsAfter.batches - statsBefore.batches;
    outboxBatches.messages += statsAfter.messages - statsBefore.messages;
    await measure('cons', cons.system.processes, () => drive(orders, concurrency, cons.system.placeAndWait));
    if (count > 1) {
      const [t, b, c, o, f] = [rounds.troupe.at(-1), rounds.base.at(-1), rounds.chor.at(-1), rounds.outbox.at(-1), rounds.cons.at(-1)];
      console.log(
        `  round ${round}: troupe ${t.orders_per_s}/s (caught up ${(t.catch_up_ms / 1000).toFixed(1)} s after its last order), bare relay ${b.orders_per_s}/s, ratio ${(t.orders_per_s / b.orders_per_s).toFixed(2)}; bare choreography ${c.orders_per_s}/s, outbox choreography ${o.orders_per_s}/s, constrained ${f.orders_per_s}/s`,
      );
    }
  }
  if (troupe.shed() > 0) console.log(`  troupe: ${troupe.shed()} POSTs refused with 503 under load, each sent again after its Retry-After (counted in the latency)`);
  const batches = [];
  for (const p of troupe.processes) batches.push(await meanBatch(p.port));
  return { rounds, cpus, txs, outboxBatches, batches, maxRssMb: Math.max(...troupe.processes.map((p) => p.maxRssMb)) };
}

/** Throughput and latency at each number in flight (at least three orders per client per step). */
async function scalingCurve(run, troupe) {
  const { curve, curveOrders } = run.options;
  console.log(`\nscaling curve (${curve.join(', ')} in flight)…`);
  const steps = [];
  for (const c of curve) steps.push({ concurrency: c, ...(await troupeRound(troupe, Math.max(curveOrders, 3 * c), c)) });
  await troupe.caughtUp();
  return steps;
}

/**
 * `clients` clients at once, each placing an order, waiting until it completes and placing the
 * next, `orders` in all. A refused POST (503) counts as shed: that client waits its Retry-After
 * and goes on with its next order, as a well-behaved client would. Undefined when either is 0.
 */
async function overload(run, troupe) {
  const { overloadClients: clients, overloadOrders: orders } = run.options;
  if (orders === 0 || clients === 0) return undefined;
  console.log(`overload: ${clients} clients, ${orders} orders…`);
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
  // Each answered request (202 or 503): when it was sent and answered, and how many of the load
  // generator's POSTs were outstanding (sent, not yet answered) when it was sent.
  const answered = [];
  let posting = 0;
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(clients, orders) }, async () => {
      while (next < orders) {
        next += 1;
        const t0 = performance.now();
        const ahead = posting;
        posting += 1;
        try {
          const placed = await troupe.post(agent).finally(() => (posting -= 1));
          const postMs = performance.now() - t0;
          if (placed.status !== 202 && placed.status !== 503) throw new Error(`POST /orders ${placed.status} ${placed.text}`);
          answered.push({ sentAt: t0, answeredAt: t0 + postMs, ahead });
          if (placed.status === 503) {
            refused.push(postMs);
            await sleep((placed.retryAfter || 1) * 1000);
            continue;
          }
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
  const result = {
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
    ...arrivalOrder(answered, Math.min(clients, orders)),
  };
  await troupe.caughtUp();
  return result;
}

/**
 * Whether the overload's requests (202s and 503s) were answered in the order they were sent; and,
 * apart from the first wave (every client's first request, all sent at once by construction), how
 * many POSTs were outstanding when one was sent and how long its 202 took.
 */
function arrivalOrder(answered, firstWave) {
  const sorted = (values) => [...values].sort((a, b) => a - b);
  const overtaken = overtakes(answered);
  const by = sorted(overtaken);
  const after = [...answered].sort((a, b) => a.sentAt - b.sentAt).slice(firstWave);
  const ahead = sorted(after.map((r) => r.ahead));
  const post = sorted(after.map((r) => r.answeredAt - r.sentAt));
  return {
    answered: answered.length,
    overtaken: overtaken.filter((n) => n > 0).length,
    overtaken_max: by.at(-1) ?? NaN,
    after_first_wave: after.length,
    ahead_p50: percentile(ahead, 50),
    ahead_p99: percentile(ahead, 99),
    ahead_max: ahead.at(-1) ?? NaN,
    after_first_wave_post_p50_ms: +percentile(post, 50).toFixed(1),
    after_first_wave_post_p99_ms: +percentile(post, 99).toFixed(1),
  };
}

module.exports = { loadedRounds, overload, scalingCurve, singleOrders };
