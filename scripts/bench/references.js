// The amqplib references troupe is measured against (relay.js runs them), each in a vhost and a
// process (or one per service) of its own: the bench publishes an order's first event and waits
// for its last.
const { fork } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { join } = require('node:path');
const amqp = require('amqplib');
const { SERVICES } = require('@troupe/contracts');
const { completions } = require('./load');
const { database, referenceVhost } = require('./start-up');

// An OrderPlaced-sized body (the choreography relay carries events as large as troupe's).
const EVENT_PADDING = 'x'.repeat(700);

/** `topology`: `hops` (the bare relay), `choreography`, `outbox` or `constrained` (relay.js describes each). */
async function startReference(run, topology = 'hops') {
  const first = { hops: 'b0.events', constrained: 'place.events' }[topology] ?? 'order.events';
  const last = topology === 'hops' ? 'b3.events' : 'notification.events';
  const url = await referenceVhost(run, `troupe-bench-${topology}-${run.stamp}`);
  const withDatabase = topology === 'outbox' || topology === 'constrained';
  const relayArgs = [url, '100', topology, ...(withDatabase ? [(await database(run, `bench_${topology}_${run.stamp}`)).url] : [])];
  const { outboxMaxBatch, constraints } = run.options;
  const env = { ...process.env, CONSTRAINTS: constraints, ...(outboxMaxBatch > 0 ? { OUTBOX_MAX_BATCH: String(outboxMaxBatch) } : {}) };
  // The constrained outbox with `processes`: one relay per service, started one after the other
  // (each declares the topology and the tables: never two at once).
  const services = topology === 'constrained' && constraints.split(',').includes('processes') ? SERVICES : [undefined];
  const relays = [];
  let stopping = false;
  for (const service of services) {
    const relay = fork(join(__dirname, 'relay.js'), relayArgs, { env: { ...env, ...(service ? { RELAY_SERVICE: service } : {}) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    run.started(relay);
    run.defer(() => new Promise((r) => (relay.exitCode !== null ? r() : ((stopping = true), relay.once('exit', r), relay.kill('SIGTERM')))));
    await new Promise((resolve, reject) => {
      relay.once('message', resolve);
      relay.once('exit', () => reject(new Error(`the ${topology} reference exited`)));
    });
    // A reference that dies mid-run would leave every order of its rounds to time out: end the run.
    relay.once('exit', (code) => stopping || (console.error(`the ${topology} reference exited (${code}) mid-run`), run.end(1)));
    relays.push(relay);
  }
  const done = await completions(url, last);
  run.defer(() => done.close());
  const connection = await amqp.connect(url, { noDelay: true });
  run.defer(() => connection.close());
  const channel = await connection.createConfirmChannel();
  return {
    /** The relay processes' pids for `cpuMeter`: one key (`relay`), or one per service (`relay:order`, …). */
    processes: Object.fromEntries(relays.map((relay, i) => [services[i] ? `relay:${services[i]}` : 'relay', [relay.pid]])),
    /** The outbox references' consumer batches and messages so far (over every relay process). */
    stats: async () => {
      const each = await Promise.all(relays.map((relay) => new Promise((resolve) => (relay.once('message', (m) => resolve(m.stats)), relay.send('stats')))));
      return { batches: each.reduce((t, s) => t + s.batches, 0), messages: each.reduce((t, s) => t + s.messages, 0) };
    },
    placeAndWait: async () => {
      const orderId = randomUUID();
      const completed = done.wait(orderId);
      await new Promise((resolve, reject) =>
        channel.publish(
          first,
          '',
          Buffer.from(JSON.stringify({ id: randomUUID(), orderId, ...(topology === 'hops' ? {} : { data: EVENT_PADDING }) })),
          // The constrained outbox's request is a transient hand-off (relay.js), as an HTTP request is.
          { persistent: topology !== 'constrained', messageId: orderId },
          (e) => (e ? reject(e) : resolve()),
        ),
      );
      await completed;
    },
  };
}

module.exports = { startReference };
