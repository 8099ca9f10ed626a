#!/usr/bin/env node
// The references for `make bench`: amqplib relays (durable exchanges, quorum queues, persistent
// messages, publisher confirms, manual acks after the confirm), with no validation, no tracing and
// no logs, each in one process (`constrained`: one per service); only `outbox` and `constrained`
// use a database.
//
// - `hops` (the four-hop reference): the four hops as a chain, one queue per exchange; the bench
//   publishes into b0.events and waits on b3.events.
// - `choreography`: troupe's own topology (docs/design.md "Topology"): the four services' fanout
//   exchanges, every subscriber's queue (eight), events of troupe's size. The payment, inventory
//   and notification "services" relay the event that moves the order on; every other delivery
//   (the order service following all of them, the events a service ignores) is acked, as troupe's
//   consumers do. The bench publishes into order.events and waits on notification.events. What
//   this costs is what the broker alone costs for troupe's workflow.
// - `outbox`: the same choreography with each consumer's part done in the shape of troupe's unit
//   of work (decision 0004), and nothing else: the deliveries that arrived while the last batch
//   was handled are one transaction: `BEGIN`, one `INSERT … RETURNING` claiming them in an inbox,
//   then per message a read and a write of its own state (as troupe's handlers look before they
//   write), one `INSERT` staging what the batch publishes in an outbox, `COMMIT` (synchronous);
//   then the staged messages are published with confirms, the deliveries acked, and the
//   published outbox rows deleted by a shared `DELETE` committed without waiting for its flush.
//   One connection per queue, one for the `DELETE`. No HTTP, no order row, no validation, no
//   tracing, no logs: what the outbox and inbox cost on this topology. A reference, not a
//   service: a database error or a refused publish ends the process (the bench then fails).
//   `OUTBOX_MAX_BATCH` caps the messages per transaction (to see what a batch's size costs); on
//   request (`stats`) it reports the consumers' batches and messages so far.
// - `constrained`: the outbox choreography held to what troupe's design requires of any
//   implementation, and nothing else: orders are placed through a transaction of their own
//   (`place.events` → `order.place`, the order service's part: the order row written and
//   OrderPlaced staged in the outbox; the request arrives as a message the broker does not persist,
//   on a classic queue, as cheap a hand-off as it has, where troupe's comes by HTTP); the payment
//   consumer makes each charge in turn before its batch commits, as one synchronous-commit
//   `INSERT` into a ledger of the card gateway's on a connection of its own (the gateway's
//   transaction, without its HTTP); the notification consumer records each mail as accepted the
//   same way, in turn, before its batch commits (decision 0032); and each service's consumers run
//   in a process of their own, with their own connections (`RELAY_SERVICE`: the bench starts one
//   relay per service). What this costs is the floor for troupe's workflow on the host running the
//   bench; what troupe costs beyond it is its own code (HTTP, validation, tracing, logs, metrics).
//   `CONSTRAINTS` (a comma-separated subset of place, charge, mail, processes,
//   mail-per-transaction; by default all but the last) applies only those, to see what each
//   costs; `mail-per-transaction` is the notification consumer taking one message per transaction
//   instead (decision 0023's way, which 0032 replaced).
const amqp = require('amqplib');
const { Client } = require('pg');

const TOPOLOGIES = {
  hops: {
    exchanges: ['b0.events', 'b1.events', 'b2.events', 'b3.events'],
    queues: [
      { queue: 'q0', exchange: 'b0.events', relayTo: 'b1.events' },
      { queue: 'q1', exchange: 'b1.events', relayTo: 'b2.events' },
      { queue: 'q2', exchange: 'b2.events', relayTo: 'b3.events' },
    ],
  },
  choreography: {
    exchanges: ['order.events', 'payment.events', 'inventory.events', 'notification.events'],
    queues: [
      { queue: 'payment.order.events', exchange: 'order.events', relayTo: 'payment.events' },
      { queue: 'order.payment.events', exchange: 'payment.events' },
      { queue: 'inventory.payment.events', exchange: 'payment.events', relayTo: 'inventory.events' },
      { queue: 'notification.payment.events', exchange: 'payment.events' },
      { queue: 'order.inventory.events', exchange: 'inventory.events' },
      { queue: 'notification.inventory.events', exchange: 'inventory.events', relayTo: 'notification.events' },
      { queue: 'payment.inventory.events', exchange: 'inventory.events' },
      { queue: 'order.notification.events', exchange: 'notification.events' },
    ],
  },
};

// The outbox reference handles what troupe's services handle: the three relays and the order
// service's three tracking queues; the two deliveries troupe ignores are only acked.
TOPOLOGIES.outbox = {
  ...TOPOLOGIES.choreography,
  queues: TOPOLOGIES.choreography.queues.map((q) => ({ ...q, handled: q.relayTo !== undefined || q.queue.startsWith('order.') })),
};
const constraints = new Set((process.env.CONSTRAINTS ?? 'place,charge,mail,processes').split(','));
TOPOLOGIES.constrained = {
  exchanges: ['place.events', ...TOPOLOGIES.outbox.exchanges],
  queues: [
    // Without `place`, the placing queue only passes the order on, as the bench's publish into
    // order.events does for the other references.
    { queue: 'order.place', exchange: 'place.events', relayTo: 'order.events', handled: constraints.has('place'), transient: true },
    ...TOPOLOGIES.outbox.queues.map((q) => ({
      ...q,
      ...(q.queue === 'payment.order.events' && constraints.has('charge') ? { effects: true } : {}),
      ...(q.queue === 'notification.inventory.events' && constraints.has('mail') ? { effects: true } : {}),
      ...(q.queue === 'notification.inventory.events' && constraints.has('mail-per-transaction') ? { maxBatch: 1 } : {}),
    })),
  ],
};

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS inbox (queue text, event_id uuid, PRIMARY KEY (queue, event_id));
  CREATE TABLE IF NOT EXISTS state (queue text, order_id uuid, PRIMARY KEY (queue, order_id));
  CREATE TABLE IF NOT EXISTS outbox (id bigserial PRIMARY KEY, exchange text NOT NULL, message_id uuid NOT NULL, body bytea NOT NULL);
  CREATE TABLE IF NOT EXISTS effects (queue text, id uuid, PRIMARY KEY (queue, id))`;
const STATEMENTS = {
  claim: 'INSERT INTO inbox (queue, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id',
  find: 'SELECT 1 FROM state WHERE queue = $1 AND order_id = $2',
  write: 'INSERT INTO state (queue, order_id) VALUES ($1, $2)',
  stage: `INSERT INTO outbox (exchange, message_id, body)
    SELECT $1, m.id, m.body FROM unnest($2::uuid[], $3::bytea[]) AS m(id, body) WHERE m.id = ANY($4::uuid[])
    RETURNING id, message_id, body`,
  delete: 'DELETE FROM outbox WHERE id = ANY($1::bigint[])',
  effect: 'INSERT INTO effects (queue, id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
};
const run = (client, name, values) => client.query({ name, text: STATEMENTS[name], values });

async function pgClient(databaseUrl, setup) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  if (setup) await client.query(setup);
  return client;
}

/** Runs `work` on each batch (at most `max` items) of the items pushed while the previous batch was being worked on. */
function batcher(work, max = Infinity) {
  let pending = [];
  let running = false;
  const drain = async () => {
    running = true;
    while (pending.length > 0) {
      const batch = pending.splice(0, max);
      await work(batch);
    }
    running = false;
  };
  return (...items) => {
    pending.push(...items);
    if (!running) drain().catch((error) => (console.error(error), process.exit(1)));
  };
}

/** One queue of the outbox reference (described at the top); counts its batches and messages in `counts`. */
async function outboxConsumer(connection, databaseUrl, prefetch, deleteRows, counts, { queue, relayTo, effects, maxBatch }) {
  const client = await pgClient(databaseUrl, 'SET synchronous_commit = on');
  // Each effect outside the database (a charge, a mail) recorded in a committed transaction of
  // its own, on a connection of its own, before the next.
  const outside = effects ? await pgClient(databaseUrl, 'SET synchronous_commit = on') : undefined;
  const consume = await connection.createChannel();
  await consume.prefetch(prefetch);
  const publish = relayTo ? await connection.createConfirmChannel() : undefined;
  const handle = batcher(async (batch) => {
    counts.batches += 1;
    counts.messages += batch.length;
    const ids = batch.map((m) => m.properties.messageId);
    await client.query('BEGIN');
    const claimed = (await run(client, 'claim', [queue, ids])).rows.map((row) => row.event_id);
    for (const id of claimed) {
      await run(client, 'find', [queue, id]);
      if (outside) await run(outside, 'effect', [queue, id]);
      await run(client, 'write', [queue, id]);
    }
    const staged = relayTo ? (await run(client, 'stage', [relayTo, ids, batch.map((m) => m.content), claimed])).rows : [];
    await client.query('COMMIT');
    const options = (messageId) => ({ persistent: true, contentType: 'application/json', messageId });
    await Promise.all(
      staged.map((row) => new Promise((resolve, reject) => publish.publish(relayTo, '', row.body, options(row.message_id), (e) => (e ? reject(e) : resolve())))),
    );
    if (staged.length > 0) deleteRows(...staged.map((row) => row.id));
    for (const m of batch) consume.ack(m);
  }, maxBatch ?? Number(process.env.OUTBOX_MAX_BATCH ?? Infinity));
  await consume.consume(queue, (message) => message && handle(message));
}

async function main() {
  const [url, prefetch = '100', topologyName = 'hops', databaseUrl] = process.argv.slice(2);
  const topology = TOPOLOGIES[topologyName];
  if (!topology) throw new Error(`unknown topology ${topologyName}`);
  const connection = await amqp.connect(url, { noDelay: true });
  const setup = await connection.createChannel();
  for (const exchange of topology.exchanges) await setup.assertExchange(exchange, 'fanout', { durable: true });
  for (const { queue, exchange, transient } of topology.queues) {
    // A transient hand-off: a classic queue, its messages not persisted (so nothing is written to disk).
    await setup.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': transient ? 'classic' : 'quorum' } });
    await setup.bindQueue(queue, exchange, '');
  }
  await setup.close();
  // One service's queues (their names begin with it), or all of them.
  const service = process.env.RELAY_SERVICE;
  const queues = topology.queues.filter((q) => service === undefined || q.queue.startsWith(`${service}.`));
  if (topologyName === 'outbox' || topologyName === 'constrained') {
    const deleter = await pgClient(databaseUrl, `${SCHEMA}; SET synchronous_commit = off`);
    const deleteRows = batcher((ids) => run(deleter, 'delete', [ids]));
    // The outbox consumers' batches and messages, for `stats`.
    const counts = { batches: 0, messages: 0 };
    for (const q of queues.filter((q) => q.handled)) await outboxConsumer(connection, databaseUrl, Number(prefetch), deleteRows, counts, q);
    process.on('message', (m) => m === 'stats' && process.send({ stats: counts }));
  }
  for (const { queue, relayTo, handled } of queues) {
    if (handled) continue;
    const consume = await connection.createChannel();
    await consume.prefetch(Number(prefetch));
    if (!relayTo) {
      await consume.consume(queue, (message) => message && consume.ack(message));
      continue;
    }
    const publish = await connection.createConfirmChannel();
    await consume.consume(queue, (message) => {
      if (!message) return;
      publish.publish(relayTo, '', message.content, { persistent: true, contentType: 'application/json', messageId: message.properties.messageId }, (error) => {
        if (error) consume.nack(message, false, true);
        else consume.ack(message);
      });
    });
  }
  process.send?.('ready');
  process.on('SIGTERM', () => connection.close().finally(() => process.exit(0)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
