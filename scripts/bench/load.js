// Driving orders through a system and summing up what they took.
const amqp = require('amqplib');
const { percentile: nearestRank } = require('@troupe/cli/stats');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The nearest-rank percentile `troupe load` reports too; NaN (as the tables print it) for no sample. */
const percentile = (sorted, p) => nearestRank(sorted, p) ?? NaN;

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

/** Resolves waiters by orderId when the final event of an order arrives on `exchange`. */
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

/** Errors of several runs added up. */
const errorsOf = (runs) => runs.reduce((t, r) => t + r.errors, 0);

/**
 * How far from arrival order requests were answered: for each request (`{ sentAt, answeredAt }`),
 * how many of those sent after it were answered before it. A server that serves in arrival order
 * answers a request before every later one, or together with the later ones it shares a batch with.
 */
function overtakes(requests) {
  const bySent = [...requests].sort((a, b) => a.sentAt - b.sentAt);
  return bySent.map((request, i) => {
    let later = 0;
    for (let j = i + 1; j < bySent.length; j += 1) if (bySent[j].answeredAt < request.answeredAt) later += 1;
    return later;
  });
}

module.exports = { completions, drive, errorsOf, median, overtakes, percentile, sleep, summarise, summariseRounds };
