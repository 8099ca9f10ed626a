#!/usr/bin/env node
// The references for `make bench`: bare amqplib relays (durable exchanges, quorum queues,
// persistent messages, publisher confirms, manual acks after the confirm), with no database, no
// validation, no tracing, all in this one process.
//
// - `hops` (the four-hop reference): the four hops as a chain, one queue per exchange; the bench
//   publishes into b0.events and waits on b3.events.
// - `choreography`: troupe's own topology (docs/design.md "Topology"): the four services' fanout
//   exchanges, every subscriber's queue (eight), events of troupe's size. The payment, inventory
//   and notification "services" relay the event that moves the order on; every other delivery
//   (the order service following all of them, the events a service ignores) is acked, as troupe's
//   consumers do. The bench publishes into order.events and waits on notification.events. What
//   this costs is what the broker alone costs for troupe's workflow.
const amqp = require('amqplib');

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

async function main() {
  const [url, prefetch = '100', topologyName = 'hops'] = process.argv.slice(2);
  const topology = TOPOLOGIES[topologyName];
  if (!topology) throw new Error(`unknown topology ${topologyName}`);
  const connection = await amqp.connect(url, { noDelay: true });
  const setup = await connection.createChannel();
  for (const exchange of topology.exchanges) await setup.assertExchange(exchange, 'fanout', { durable: true });
  for (const { queue, exchange } of topology.queues) {
    await setup.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await setup.bindQueue(queue, exchange, '');
  }
  await setup.close();
  for (const { queue, relayTo } of topology.queues) {
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
