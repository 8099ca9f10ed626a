#!/usr/bin/env node
// `make bench`: troupe's throughput and latency against amqplib references (a bare relay of the
// same four hops, troupe's topology bare, and that topology with an inbox and an outbox in
// Postgres: bench/relay.js), measured in the same run on one host. See docs/benchmarks.md.
//
// It starts the four services the way `make dev` does, against a fresh vhost and fresh databases
// (removed afterwards: bench/context.js), drives orders through POST /orders with a fixed number in
// flight, and counts an order complete when its NotificationSent reaches a queue of its own
// (bench/troupe.js). The phases are bench/phases.js and bench/history.js; the tables, targets and
// JSON line, bench/report.js.
const { BenchRun } = require('./bench/context');
const { historyPhase } = require('./bench/history');
const { sampleRss } = require('./bench/meters');
const { parseOptions } = require('./bench/options');
const { loadedRounds, overload, scalingCurve, singleOrders } = require('./bench/phases');
const { report } = require('./bench/report');
const { startTroupe } = require('./bench/troupe');

async function main(run) {
  const o = run.options;
  console.log(`troupe bench: ${o.rounds} round(s) of ${o.orders} orders at ${o.concurrency} in flight, ${o.single} at 1 in flight, ${o.replicas} replica(s) of payment and inventory`);
  const troupe = await startTroupe(run);
  const stopSampling = sampleRss(run.sampled);
  const single = await singleOrders(run, troupe);
  const loaded = await loadedRounds(run, troupe, single.references);
  const curve = await scalingCurve(run, troupe);
  const over = await overload(run, troupe);
  const history = await historyPhase(run, troupe);
  stopSampling();
  if (!report(run, { troupe, single, loaded, curve, overload: over, history })) process.exitCode = 1;
}

const run = new BenchRun(parseOptions());
run.guard();
main(run)
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => run.end(process.exitCode ?? 0));
