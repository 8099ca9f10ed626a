// What the bench reads besides its own clock: CPU and memory of processes (from /proc), Postgres'
// transaction and block counts, and the services' own /metrics.
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { Client } = require('pg');

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const rssMb = (pid) => {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line.split(/\s+/)[1]) / 1024;
  } catch {
    return 0;
  }
};

/** Keeps each process's `maxRssMb` (of `processes`, read again at every tick) up to date; returns a stop function. */
function sampleRss(processes) {
  const timer = setInterval(() => {
    for (const p of processes) p.maxRssMb = Math.max(p.maxRssMb, rssMb(p.child.pid));
  }, 250);
  return () => clearInterval(timer);
}

const pidsOf = (name) => {
  try {
    return execFileSync('pgrep', ['-x', name]).toString().trim().split('\n').map(Number).filter(Boolean);
  } catch {
    return [];
  }
};
/** A process's CPU so far, in clock ticks: [user, kernel] (zeros once it has gone). */
const cpuTicksOf = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return [Number(fields[11]), Number(fields[12])];
  } catch {
    return [0, 0];
  }
};

const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * CPU used over a phase by the broker, Postgres, the given processes (by name) and this load
 * generator: as % of one core, and as CPU milliseconds, in all (`ms`) and in the kernel
 * (`kernelMs`: system calls and what they set off, the loopback network stack included). Read from
 * /proc, so it covers the kernel time spent on each process's behalf. `postgresPids` has each
 * Postgres process's milliseconds, to share them out by database (`metered`). Returns the function
 * that reads it.
 */
function cpuMeter(processes = {}) {
  // Per process id: a Postgres backend that exits during the phase would otherwise take its whole
  // past CPU out of the sum (a negative reading). One that starts counts from zero; what a backend
  // used in the phase before exiting is not seen (the services keep their connections open).
  const perPid = (pids) => new Map(pids.map((pid) => [pid, cpuTicksOf(pid)]));
  const ticks = () => ({
    broker: perPid(pidsOf('beam.smp')),
    postgres: perPid(pidsOf('postgres')),
    ...Object.fromEntries(Object.entries(processes).map(([name, pids]) => [name, perPid(pids)])),
  });
  const start = { t: performance.now(), ticks: ticks(), own: ownCpuMs() };
  return () => {
    const seconds = (performance.now() - start.t) / 1000;
    const end = ticks();
    const toMs = (t) => (t * 1000) / CLK_TCK;
    const delta = (name, pid, now, part) => now[part] - (start.ticks[name].get(pid)?.[part] ?? 0);
    const used = (name, parts) => [...end[name]].reduce((t, [pid, now]) => t + parts.reduce((u, part) => u + delta(name, pid, now, part), 0), 0);
    const ms = Object.fromEntries(Object.keys(end).map((name) => [name, toMs(used(name, [0, 1]))]));
    const kernelMs = Object.fromEntries(Object.keys(end).map((name) => [name, toMs(used(name, [1]))]));
    const postgresPids = new Map([...end.postgres].map(([pid, now]) => [pid, toMs(delta('postgres', pid, now, 0) + delta('postgres', pid, now, 1))]));
    ms['load generator'] = ownCpuMs() - start.own;
    const pct = (name) => Math.round(ms[name] / 10 / seconds);
    return { broker: pct('broker'), postgres: pct('postgres'), ms, kernelMs, postgresPids, seconds };
  };
}

/**
 * `work` measured by a `cpuMeter` of `processes`: its result and the reading. With `databases`
 * (`{ adminDb, names }`), the reading's `postgresBy` shares Postgres' CPU out by the database each
 * backend serves, read when the work is done.
 */
async function metered(processes, work, databases) {
  const meter = cpuMeter(processes);
  const result = await work();
  const { postgresPids, ...cpu } = meter();
  if (databases) cpu.postgresBy = await postgresByDatabase(databases, postgresPids);
  return { result, cpu };
}

/** Each database's share of `postgresPids` (ms per backend), by pg_stat_activity. */
async function postgresByDatabase({ adminDb, names }, postgresPids) {
  const admin = new Client({ connectionString: adminDb });
  await admin.connect();
  try {
    const { rows } = await admin.query('SELECT pid, datname FROM pg_stat_activity WHERE datname = ANY($1)', [names]);
    const by = Object.fromEntries(names.map((name) => [name, 0]));
    for (const { pid, datname } of rows) by[datname] += postgresPids.get(pid) ?? 0;
    return by;
  } finally {
    await admin.end();
  }
}

/** Adds up CPU readings of several rounds (ms per process, in all and in the kernel; per database; seconds). */
function addCpu(readings) {
  const add = (into, from = {}) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
    return into;
  };
  const ms = {};
  const kernelMs = {};
  const postgresBy = {};
  for (const r of readings) add(ms, r.ms), add(kernelMs, r.kernelMs), add(postgresBy, r.postgresBy);
  const seconds = readings.reduce((t, r) => t + r.seconds, 0);
  const pct = (name) => Math.round(ms[name] / 10 / seconds);
  return { ms, kernelMs, postgresBy, seconds, broker: pct('broker'), postgres: pct('postgres') };
}

/**
 * Per database so far (pg_stat_database): transactions committed (`n`), and blocks found in
 * Postgres' shared buffers (`hit`) or read from outside them (`read`: the OS cache or the disk).
 */
async function commits(adminDb, databases) {
  const admin = new Client({ connectionString: adminDb });
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

/** Mean messages per consumer transaction, from a service's own /metrics. */
async function meanBatch(port) {
  const text = await metricsOf(port);
  const read = (name) => Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm'))?.[1] ?? NaN);
  return read('troupe_consumer_batch_messages_sum') / read('troupe_consumer_batch_messages_count');
}

module.exports = { addCpu, commits, cpuMeter, meanBatch, metered, metricsOf, sampleRss, sumOf };
