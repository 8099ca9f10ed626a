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
const cpuTicks = (pids) =>
  pids.reduce((sum, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return sum + Number(fields[11]) + Number(fields[12]);
    } catch {
      return sum;
    }
  }, 0);

const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * CPU used over a phase by the broker, Postgres, the given processes (by name) and this load
 * generator: as % of one core, and as CPU milliseconds. Read from /proc, so it covers the kernel
 * time spent on each process's behalf (socket writes included). Returns the function that reads it.
 */
function cpuMeter(processes = {}) {
  // Per process id: a Postgres backend that exits during the phase would otherwise take its whole
  // past CPU out of the sum (a negative reading). One that starts counts from zero; what a backend
  // used in the phase before exiting is not seen (the services keep their connections open).
  const perPid = (pids) => new Map(pids.map((pid) => [pid, cpuTicks([pid])]));
  const ticks = () => ({
    broker: perPid(pidsOf('beam.smp')),
    postgres: perPid(pidsOf('postgres')),
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

/** `work` measured by a `cpuMeter` of `processes`: its result and the reading. */
async function metered(processes, work) {
  const meter = cpuMeter(processes);
  const result = await work();
  return { result, cpu: meter() };
}

/** Adds up CPU readings of several rounds (ms per process, seconds). */
function addCpu(readings) {
  const ms = {};
  for (const r of readings) for (const [k, v] of Object.entries(r.ms)) ms[k] = (ms[k] ?? 0) + v;
  const seconds = readings.reduce((t, r) => t + r.seconds, 0);
  const pct = (name) => Math.round(ms[name] / 10 / seconds);
  return { ms, seconds, broker: pct('broker'), postgres: pct('postgres') };
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
