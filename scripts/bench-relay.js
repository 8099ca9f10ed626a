#!/usr/bin/env node
// The reference for `make bench`: a bare amqplib relay of the same four hops as troupe's workflow
// (fanout exchanges, quorum queues, persistent messages, publisher confirms, manual acks after the
// confirm), with no database, no validation, no tracing. Three relays run here, in one process;
// the benchmark publishes into the first exchange and consumes from the last queue.
const amqp = require('amqplib');

async function main() {
  const [url, prefetch = '100'] = process.argv.slice(2);
  const connection = await amqp.connect(url, { noDelay: true });
  const hops = ['b0', 'b1', 'b2', 'b3'];
  const setup = await connection.createChannel();
  for (const name of hops) await setup.assertExchange(`${name}.events`, 'fanout', { durable: true });
  for (let i = 0; i < hops.length; i++) {
    await setup.assertQueue(`q${i}`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await setup.bindQueue(`q${i}`, `${hops[i]}.events`, '');
  }
  await setup.close();
  for (let i = 0; i < 3; i++) {
    const consume = await connection.createChannel();
    const publish = await connection.createConfirmChannel();
    await consume.prefetch(Number(prefetch));
    await consume.consume(`q${i}`, (message) => {
      if (!message) return;
      publish.publish(`${hops[i + 1]}.events`, '', message.content, { persistent: true, contentType: 'application/json', messageId: message.properties.messageId }, (error) => {
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
