// What the bench prints at the end: the tables, the targets (targets.js) and one JSON line.
const { availableParallelism } = require('node:os');
const { addCpu } = require('./meters');
const { errorsOf, median, summariseRounds } = require('./load');
const { printTargets } = require('./targets');

const range = (r) => (r.rates.length > 1 ? ` (${Math.min(...r.rates)}–${Math.max(...r.rates)})` : '');
const row = (name, r, cpuUse) =>
  `| ${name.padEnd(34)} | ${`${r.orders_per_s}${r.rates ? range(r) : ''}`.padStart(16)} | ${String(r.p50_ms).padStart(7)} | ${String(r.p95_ms).padStart(7)} | ${String(r.p99_ms).padStart(7)} | ${String(r.errors).padStart(6)} | ${cpuUse ? `${cpuUse.broker}% / ${cpuUse.postgres}%` : ''}`;
const perOrder = (ms, r) => (ms / r.completed).toFixed(2);
const sum = (ms, keys) => keys.reduce((t, k) => t + ms[k], 0);
/** CPU ms of a column (`{ cpu, own }`) over all processes. */
const total = (c) => sum(c.cpu.ms, ['broker', 'postgres', 'load generator', ...c.own]);

/** The loaded rounds summed up per system: the median round, CPU over all rounds, the paired ratios. */
function summariseLoaded({ rounds, cpus }) {
  const systems = Object.fromEntries(Object.keys(rounds).map((name) => [name, { run: summariseRounds(rounds[name]), cpu: addCpu(cpus[name]) }]));
  const ratio = (a, b) => median(rounds[a].map((x, i) => x.orders_per_s / rounds[b][i].orders_per_s));
  return { ...systems, ratio: ratio('troupe', 'base'), chorRatio: ratio('troupe', 'chor'), outboxChorRatio: ratio('outbox', 'chor'), outboxRatio: ratio('troupe', 'outbox'), consRatio: ratio('troupe', 'cons'), consOutboxRatio: ratio('cons', 'outbox') };
}

function printRuns(run, single, loaded, sums) {
  const { concurrency: C, rounds } = run.options;
  const { base, chor, outbox, cons } = single.references;
  console.log(`\n| ${'run'.padEnd(34)} | ${'orders/s'.padStart(16)} |  p50 ms |  p95 ms |  p99 ms | errors | broker / postgres CPU`);
  console.log(`|${'-'.repeat(36)}|${'-'.repeat(17)}:|--------:|--------:|--------:|-------:|----------------------`);
  console.log(row(`troupe, 1 in flight`, single.troupe.run));
  console.log(row(`troupe, ${C} in flight`, sums.troupe.run, sums.troupe.cpu));
  console.log(row(`bare relay, 1 in flight`, base.run));
  console.log(row(`bare relay, ${C} in flight`, sums.base.run, sums.base.cpu));
  console.log(row(`bare choreography, 1 in flight`, chor.run));
  console.log(row(`bare choreography, ${C} in flight`, sums.chor.run, sums.chor.cpu));
  console.log(row(`outbox choreography, 1 in flight`, outbox.run));
  console.log(row(`outbox choreography, ${C} in flight`, sums.outbox.run, sums.outbox.cpu));
  console.log(row(`constrained outbox, 1 in flight`, cons.run));
  console.log(row(`constrained outbox, ${C} in flight`, sums.cons.run, sums.cons.cpu));
  if (rounds > 1) console.log(`(${C} in flight: the round with the median throughput; in brackets, the range over ${rounds} rounds)`);
  const catchUps = loaded.rounds.troupe.map((r) => (r.catch_up_ms / 1000).toFixed(1));
  console.log(`troupe caught up ${catchUps.join(', ')} s after its last order completed, in its ${C}-in-flight rounds (counted in its orders/s and CPU)`);
  const { outboxMaxBatch } = run.options;
  console.log(
    `outbox choreography: ${sums.outboxChorRatio.toFixed(2)} of the bare choreography (median of paired rounds), ${(loaded.outboxBatches.messages / loaded.outboxBatches.batches).toFixed(1)} messages per transaction${outboxMaxBatch > 0 ? ` (at most ${outboxMaxBatch})` : ''} at ${C} in flight`,
  );
}

function printServices(troupe, single, loaded, sums) {
  console.log('\n| service       | max RSS (MB) | CPU under load | CPU ms / order | CPU ms / order, 1 in flight | transactions / order | messages / transaction | log lines |');
  console.log('|---------------|-------------:|---------------:|---------------:|----------------------------:|---------------------:|-----------------------:|----------:|');
  const shown = new Set();
  troupe.processes.forEach((p, i) => {
    const cpuMs = sums.troupe.cpu.ms[p.key];
    const cpuPct = Math.round(cpuMs / 10 / sums.troupe.cpu.seconds);
    // Replicas share a database: its transactions are counted once, on the first of them.
    const tx = shown.has(p.db) ? NaN : loaded.txs[p.db] / sums.troupe.run.completed;
    shown.add(p.db);
    const batch = loaded.batches[i];
    console.log(
      `| ${p.service.padEnd(13)} | ${p.maxRssMb.toFixed(0).padStart(12)} | ${`${cpuPct}%`.padStart(14)} | ${perOrder(cpuMs, sums.troupe.run).padStart(14)} | ${perOrder(single.troupe.cpu.ms[p.key], single.troupe.run).padStart(27)} | ${(Number.isNaN(tx) ? '(shared)' : tx.toFixed(1)).padStart(20)} | ${(Number.isNaN(batch) ? '–' : batch.toFixed(1)).padStart(22)} | ${String(p.lines()).padStart(9)} |`,
    );
  });
}

/**
 * Each hop's CPU per order under load: a troupe service's process (and the share of it spent in
 * the kernel) and its database's Postgres backends, beside the constrained
 * outbox's process for the same service, the design's floor (one database for all its
 * processes, so its Postgres is not shared out). The gateway, an outside system's stand-in, has
 * no counterpart there: the floor models its ledger as a commit.
 */
function perHop(troupe, sums) {
  const t = sums.troupe;
  const f = sums.cons;
  const hops = [...new Set(troupe.processes.map((p) => p.service))];
  const perOrderOf = (ms, r) => +perOrder(ms, r);
  const rows = hops.map((service) => {
    const own = troupe.processes.filter((p) => p.service === service);
    const processMs = sum(t.cpu.ms, own.map((p) => p.key));
    const floorMs = f.cpu.ms[`relay:${service}`];
    return {
      service,
      process_ms: perOrderOf(processMs, t.run),
      kernel_share: processMs > 0 ? +(sum(t.cpu.kernelMs, own.map((p) => p.key)) / processMs).toFixed(2) : null,
      postgres_ms: perOrderOf(t.cpu.postgresBy?.[own[0].db] ?? NaN, t.run),
      floor_process_ms: floorMs === undefined ? null : perOrderOf(floorMs, f.run),
    };
  });
  const sharedOut = Object.values(t.cpu.postgresBy ?? {}).reduce((a, b) => a + b, 0);
  return {
    rows,
    postgres_other_ms: perOrderOf(t.cpu.ms.postgres - sharedOut, t.run),
    floor_postgres_ms: perOrderOf(f.cpu.ms.postgres, f.run),
    // Without `processes`, the floor is one process (`relay`): its whole CPU, on the last row.
    floor_processes_ms: perOrderOf(sum(f.cpu.ms, Object.keys(f.cpu.ms).filter((k) => k.startsWith('relay'))), f.run),
  };
}

const sumOf = (rows, key) => rows.reduce((t, r) => t + r[key], 0).toFixed(2);

function printHops(hops, C) {
  console.log(`\n| CPU ms per order by hop, ${`${C} in flight`.padEnd(14)} | troupe: process | of it in the kernel | troupe: its database's Postgres | constrained outbox: process |`);
  console.log('|-----------------------------------------|----------------:|--------------------:|--------------------------------:|----------------------------:|');
  for (const h of hops.rows) {
    const floor = h.floor_process_ms === null ? '–' : h.floor_process_ms.toFixed(2);
    const kernel = h.kernel_share === null ? '–' : `${Math.round(h.kernel_share * 100)}%`;
    console.log(`| ${h.service.padEnd(39)} | ${h.process_ms.toFixed(2).padStart(15)} | ${kernel.padStart(19)} | ${h.postgres_ms.toFixed(2).padStart(31)} | ${floor.padStart(27)} |`);
  }
  console.log(`| ${'Postgres, not by database'.padEnd(39)} | ${''.padStart(15)} | ${''.padStart(19)} | ${hops.postgres_other_ms.toFixed(2).padStart(31)} | ${`${hops.floor_postgres_ms.toFixed(2)} (all of it)`.padStart(27)} |`);
  console.log(`| ${'all processes'.padEnd(39)} | ${sumOf(hops.rows, 'process_ms').padStart(15)} | ${''.padStart(19)} | ${''.padStart(31)} | ${hops.floor_processes_ms.toFixed(2).padStart(27)} |`);
}

/**
 * Where the CPU went, per completed order: the throughput ceiling of the host running the bench
 * is (cores × 1000 ms/s) divided by the total.
 */
function printCpu(title, columns, { ceiling }) {
  const cores = availableParallelism();
  const line = (label, value) => `| ${label.padEnd(30)} | ${columns.map((c) => String(value(c)).padStart(c.name.length)).join(' | ')} |`;
  console.log(`\n| ${title.padEnd(30)} | ${columns.map((c) => c.name).join(' | ')} |`);
  console.log(`|${'-'.repeat(32)}|${columns.map((c) => `${'-'.repeat(c.name.length + 1)}:`).join('|')}|`);
  console.log(line('broker', (c) => perOrder(c.cpu.ms.broker, c.run)));
  console.log(line('postgres', (c) => perOrder(c.cpu.ms.postgres, c.run)));
  console.log(line('services / relay process', (c) => perOrder(sum(c.cpu.ms, c.own), c.run)));
  console.log(line('load generator (this process)', (c) => perOrder(c.cpu.ms['load generator'], c.run)));
  console.log(line('total', (c) => perOrder(total(c), c.run)));
  if (ceiling) console.log(line(`ceiling on ${cores} cores (orders/s)`, (c) => Math.round((cores * 1000) / (total(c) / c.run.completed))));
}

/** The CPU columns of troupe and the four references: at `C` in flight (`sums`) and at 1 in flight (`single`). */
function cpuColumns(troupe, single, sums) {
  const columns = [
    { key: 'troupe', name: 'troupe', own: troupe.processes.map((p) => p.key) },
    { key: 'base', name: 'bare relay' },
    { key: 'chor', name: 'bare choreography' },
    { key: 'outbox', name: 'outbox choreography' },
    { key: 'cons', name: 'constrained outbox' },
  ].map((c) => c.own ? c : { ...c, own: Object.keys(single.references[c.key].system.processes) });
  const atOne = { troupe: single.troupe, ...single.references };
  return {
    loaded: columns.map((c) => ({ ...c, ...sums[c.key] })),
    single: columns.map((c) => ({ ...c, run: atOne[c.key].run, cpu: atOne[c.key].cpu })),
  };
}

function printCurve(curve) {
  console.log(`\n| in flight | orders/s |  p50 ms |  p95 ms |  p99 ms | errors |`);
  console.log(`|----------:|---------:|--------:|--------:|--------:|-------:|`);
  for (const step of curve) {
    console.log(`| ${String(step.concurrency).padStart(9)} | ${String(step.orders_per_s).padStart(8)} | ${String(step.p50_ms).padStart(7)} | ${String(step.p95_ms).padStart(7)} | ${String(step.p99_ms).padStart(7)} | ${String(step.errors).padStart(6)} |`);
  }
}

function printOverload(over) {
  console.log(
    `\noverload, ${over.clients} clients (connected in ${over.connect_s} s), ${over.orders} orders: ${over.completed} completed (${over.orders_per_s}/s), ${over.shed} shed with 503, ${over.errors} errors`,
  );
  console.log(`  POST → 202: p50 ${over.post_p50_ms} ms, p90 ${over.post_p90_ms} ms, p99 ${over.post_p99_ms} ms, max ${over.post_max_ms} ms; POST → 503: ${over.shed > 0 ? `max ${over.shed_max_ms} ms` : 'none'}`);
  console.log(
    `  arrival order: ${over.overtaken} of ${over.answered} answers came after one sent later (at most ${over.overtaken_max} later ones each)`,
  );
  console.log(
    `  after the first wave (${over.after_first_wave} requests): POSTs outstanding when one was sent p50 ${over.ahead_p50}, p99 ${over.ahead_p99}, max ${over.ahead_max}; POST → 202 p50 ${over.after_first_wave_post_p50_ms} ms, p99 ${over.after_first_wave_post_p99_ms} ms`,
  );
  console.log(`  POST → NotificationSent (accepted orders): p50 ${over.completion.p50_ms} ms, p99 ${over.completion.p99_ms} ms`);
}

function printHistory(h, C) {
  console.log(`\nwith ${h.orders.toLocaleString('en')} orders' worth of history (seeded in ${h.seeded.seconds.toFixed(0)} s), side by side with the empty databases:`);
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

/** The run's figures as one object (the JSON line). */
function resultOf(run, { troupe, single, loaded, curve, overload: over, history }, sums, columns) {
  const { base, chor, outbox, cons } = single.references;
  const cpuPerOrder = (c) => +(total(c) / c.run.completed).toFixed(2);
  return {
    orders_per_s: sums.troupe.run.orders_per_s,
    p50_ms: sums.troupe.run.p50_ms,
    p99_ms: sums.troupe.run.p99_ms,
    single_p50_ms: single.troupe.run.p50_ms,
    baseline_orders_per_s: sums.base.run.orders_per_s,
    ratio: +sums.ratio.toFixed(2),
    rounds: run.options.rounds,
    completed: sums.troupe.run.completed,
    errors: sums.troupe.run.errors + single.troupe.run.errors,
    max_rss_mb: Math.round(Math.max(...troupe.processes.map((p) => p.maxRssMb))),
    cpu_ms_per_order: cpuPerOrder(columns.loaded[0]),
    baseline_cpu_ms_per_order: cpuPerOrder(columns.loaded[1]),
    choreography_orders_per_s: sums.chor.run.orders_per_s,
    choreography_ratio: +sums.chorRatio.toFixed(2),
    outbox_orders_per_s: sums.outbox.run.orders_per_s,
    outbox_choreography_ratio: +sums.outboxChorRatio.toFixed(2),
    outbox_single_p50_ms: outbox.run.p50_ms,
    outbox_ratio: +sums.outboxRatio.toFixed(2),
    outbox_cpu_ms_per_order: cpuPerOrder(columns.loaded[3]),
    outbox_messages_per_transaction: +(loaded.outboxBatches.messages / loaded.outboxBatches.batches).toFixed(1),
    constrained_orders_per_s: sums.cons.run.orders_per_s,
    constrained_single_p50_ms: cons.run.p50_ms,
    constrained_ratio: +sums.consRatio.toFixed(2),
    constrained_outbox_ratio: +sums.consOutboxRatio.toFixed(2),
    constrained_cpu_ms_per_order: cpuPerOrder(columns.loaded[4]),
    reference_errors: errorsOf([base.run, chor.run, outbox.run, cons.run, sums.base.run, sums.chor.run, sums.outbox.run, sums.cons.run]),
    single_p99_ms: single.troupe.run.p99_ms,
    ...(single.troupe.hops && { median_hop_ms: single.troupe.hops.median_ms, hops_measured: single.troupe.hops.count }),
    single_cpu_ms_per_order: cpuPerOrder(columns.single[0]),
    max_rss_mb_loaded: Math.round(loaded.maxRssMb),
    replicas: run.options.replicas,
    curve: curve.map(({ concurrency, orders_per_s, p50_ms }) => ({ concurrency, orders_per_s, p50_ms })),
    ...(over && { overload: { ...over, completion: undefined } }),
    ...(history && {
      history: {
        orders: history.orders,
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
}

/** Prints every table, the targets and the JSON line; whether the run went through without a fault. */
function report(run, measured) {
  const { troupe, single, loaded, curve, overload: over, history } = measured;
  const C = run.options.concurrency;
  const sums = summariseLoaded(loaded);
  const columns = cpuColumns(troupe, single, sums);
  printRuns(run, single, loaded, sums);
  printServices(troupe, single, loaded, sums);
  const hops = perHop(troupe, sums);
  printHops(hops, C);
  printCpu(`CPU ms per order, ${C} in flight`, columns.loaded, { ceiling: true });
  // The same accounting at 1 in flight: each message is handled on its own (no batch shares a
  // cost), so these figures move only with the work done per order and the host's speed.
  printCpu('CPU ms per order, 1 in flight', columns.single, { ceiling: false });
  const { sink } = troupe;
  console.log(`\nOTLP exports received by the local sink: ${sink.stats.requests} requests, ${(sink.stats.bytes / 1e6).toFixed(1)} MB, ${(sink.stats.bytes / 1e3 / troupe.accepted()).toFixed(1)} KB per order`);
  printCurve(curve);
  if (over) printOverload(over);
  if (history) printHistory(history, C);

  const result = { ...resultOf(run, measured, sums, columns), per_hop: hops };
  printTargets({ ...result, concurrency: C });
  console.log(JSON.stringify(result));
  if (run.stuck > 0) console.error(`troupe did not catch up within 2 minutes ${run.stuck} time(s)`);
  const faults = run.stuck + result.errors + result.reference_errors + (history?.errors ?? 0) + errorsOf(curve) + (over?.errors ?? 0);
  return faults === 0 && result.completed === run.options.orders * run.options.rounds;
}

module.exports = { perHop, report };
