// The history phase: what a troupe whose databases hold many orders' worth of rows does, side by
// side with the empty one (history-seed.js writes the rows and EXPLAINs the hot paths).
const { drive, errorsOf, median, summarise, summariseRounds } = require('./load');
const { commits } = require('./meters');
const { explainHotPaths, seedHistory } = require('./history-seed');
const { startTroupe, troupeRound } = require('./troupe');

/**
 * A second troupe system, its databases seeded with `run.options.history` orders' worth of rows,
 * measured side by side with the first (empty) one: orders at 1 in flight alternate between the
 * two, and loaded rounds alternate too, so a host that speeds up or slows down weighs on both
 * alike. Undefined when no history is asked for.
 */
async function historyPhase(run, empty) {
  const { history: orders, warmup, single: singleCount, orders: roundOrders, concurrency, rounds: count } = run.options;
  if (orders === 0) return undefined;
  console.log(`\nstarting a second troupe and seeding ${orders.toLocaleString('en')} orders' worth of rows into its four databases…`);
  const aged = await startTroupe(run, 'h');
  const seeded = await seedHistory(aged.adminUrls, orders);
  console.log(`  ${seeded.rows.toLocaleString('en')} rows in ${seeded.seconds.toFixed(0)} s (INSERT … SELECT generate_series, then VACUUM ANALYZE)`);
  const plans = await explainHotPaths(aged.adminUrls);
  await drive(warmup, 20, aged.placeAndWait);
  await aged.caughtUp();
  let turn = 0;
  const latencies = { empty: [], aged: [] };
  const started = performance.now();
  await drive(2 * singleCount, 1, async () => {
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
    const before = await commits(run.adminDb, databases);
    rounds[which].push(await troupeRound(system, roundOrders, concurrency));
    const after = await commits(run.adminDb, databases);
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
  const warmEmpty = await troupeRound(empty, roundOrders, concurrency);
  const warmAged = await troupeRound(aged, roundOrders, concurrency);
  console.log(`  warm-up round (not counted): empty ${warmEmpty.orders_per_s}/s, history ${warmAged.orders_per_s}/s, ratio ${(warmAged.orders_per_s / warmEmpty.orders_per_s).toFixed(2)}`);
  for (let round = 1; round <= count; round++) {
    const order = round % 2 === 1 ? ['aged', 'empty'] : ['empty', 'aged'];
    for (const which of order) await measure(which, which === 'empty' ? empty : aged);
    const [e, h] = [rounds.empty.at(-1), rounds.aged.at(-1)];
    console.log(`  round ${round} (${order[0] === 'empty' ? 'empty first' : 'history first'}): empty ${e.orders_per_s}/s, history ${h.orders_per_s}/s, ratio ${(h.orders_per_s / e.orders_per_s).toFixed(2)}`);
  }
  const shed = { empty: empty.shed() - shedBefore.empty, aged: aged.shed() - shedBefore.aged };
  if (shed.empty + shed.aged > 0) console.log(`  POSTs refused with 503 and sent again after their Retry-After: empty ${shed.empty}, history ${shed.aged}`);
    return {
    orders,
    seeded,
    plans,
    blocks,
    single,
    loaded: { empty: summariseRounds(rounds.empty), aged: summariseRounds(rounds.aged) },
    ratio: median(rounds.aged.map((h, i) => h.orders_per_s / rounds.empty[i].orders_per_s)),
    errors: errorsOf([warmEmpty, warmAged, ...rounds.empty, ...rounds.aged]),
    processes: aged.processes,
  };
}

module.exports = { historyPhase };
