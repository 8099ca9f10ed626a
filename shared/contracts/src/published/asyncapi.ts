import { z } from 'zod';
import { envelopeSchema } from '../envelope';
import { EVENT_TYPES, eventCatalog, type EventType } from '../events';
import { HEADER, HEADER_DESCRIPTIONS } from '../headers';
import { deadLetterQueueOf, eventsHandledBy, exchangeOf, queueOf, SERVICES, SUBSCRIPTIONS, type ServiceName } from '../topology';
import { jsonSchema } from './json-schema';

const AMQP_BINDING_VERSION = '0.3.0';

/**
 * AsyncAPI specification extensions that say, machine-readably, who takes part in an operation:
 * the service that sends or receives, and the queue a receiver binds to the channel's exchange.
 * The observer draws its map from these and nothing else (docs/decisions/0030).
 */
export const EXTENSION = { service: 'x-troupe-service', queue: 'x-troupe-queue' } as const;
const channelId = (service: ServiceName) => `${service}Events`;
const capitalized = (name: string) => `${name[0]?.toUpperCase() ?? ''}${name.slice(1)}`;
const latest = (type: EventType) => Math.max(...Object.keys(eventCatalog[type].versions).map(Number));

/** The message headers: W3C trace context, and what retries, dead-lettering and replays add. */
function headersSchema() {
  const troupe = Object.fromEntries(
    (Object.keys(HEADER) as (keyof typeof HEADER)[]).map((key) => [HEADER[key], { type: HEADER_DESCRIPTIONS[key].type, description: HEADER_DESCRIPTIONS[key].description }]),
  );
  return {
    type: 'object',
    properties: {
      traceparent: { type: 'string', description: 'W3C Trace Context: the order\'s trace (https://www.w3.org/TR/trace-context/)', pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' },
      tracestate: { type: 'string', description: 'W3C Trace Context vendor state' },
      ...troupe,
    },
  };
}

/** The event in its envelope: `type` and `version` fixed, `data` the event's own schema. */
function payloadOf(type: EventType) {
  const version = latest(type);
  const data = (eventCatalog[type].versions as Record<number, z.ZodType>)[version] as z.ZodType;
  return jsonSchema(envelopeSchema.extend({ type: z.literal(type), version: z.literal(version), data }), 'draft-7');
}

/**
 * troupe's events as an AsyncAPI 3.0 document, generated from the zod contracts: one channel per
 * fanout exchange, one message per event (the envelope with the event's data), its AMQP
 * properties and headers, the operation by which its producer sends it, and the operations by
 * which each subscriber receives it (from `SUBSCRIBED_EVENTS`), each naming its service and
 * queue in `x-troupe-*` fields (`EXTENSION`).
 */
export function asyncApiDocument() {
  const messages = Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      {
        name: type,
        title: type,
        summary: `${type} v${latest(type)}, published by the ${eventCatalog[type].producer} service`,
        contentType: 'application/json',
        correlationId: { description: 'Every event of one order carries its id', location: '$message.payload#/orderId' },
        headers: { $ref: '#/components/schemas/Headers' },
        payload: payloadOf(type),
        bindings: { amqp: { messageType: type, bindingVersion: AMQP_BINDING_VERSION } },
      },
    ]),
  );
  const typesOf = (service: ServiceName) => EVENT_TYPES.filter((type) => eventCatalog[type].producer === service);
  const channels = Object.fromEntries(
    SERVICES.map((service) => [
      channelId(service),
      {
        address: exchangeOf(service),
        title: `${service} events`,
        description: `The ${service} service's fanout exchange. Each subscriber binds its own durable quorum queue, \`<subscriber>.${exchangeOf(service)}\`, with retries on that queue and a dead-letter queue \`<subscriber>.dlq\`.`,
        messages: Object.fromEntries(typesOf(service).map((type) => [type, { $ref: `#/components/messages/${type}` }])),
        bindings: {
          amqp: { is: 'routingKey', exchange: { name: exchangeOf(service), type: 'fanout', durable: true, autoDelete: false, vhost: '/' }, bindingVersion: AMQP_BINDING_VERSION },
        },
      },
    ]),
  );
  const operations: Record<string, object> = Object.fromEntries(
    EVENT_TYPES.map((type) => {
      const service = eventCatalog[type].producer;
      return [
        `publish${type}`,
        {
          action: 'send',
          title: `The ${service} service publishes ${type}`,
          [EXTENSION.service]: service,
          channel: { $ref: `#/channels/${channelId(service)}` },
          messages: [{ $ref: `#/channels/${channelId(service)}/messages/${type}` }],
          bindings: { amqp: { deliveryMode: 2, mandatory: true, bindingVersion: AMQP_BINDING_VERSION } },
        },
      ];
    }),
  );
  // Who consumes what: each subscriber's queue on a producer's exchange, and the events it handles.
  for (const consumer of SERVICES) {
    for (const producer of SUBSCRIPTIONS[consumer]) {
      const queue = queueOf(consumer, exchangeOf(producer));
      operations[`${consumer}Receives${capitalized(producer)}Events`] = {
        action: 'receive',
        title: `The ${consumer} service receives ${exchangeOf(producer)}`,
        [EXTENSION.service]: consumer,
        [EXTENSION.queue]: queue,
        description: `Through its own durable quorum queue \`${queue}\`, bound to the exchange; retried on \`${queue}.retry.<delay>ms\`, dead-lettered to \`${deadLetterQueueOf(consumer)}\`. Other event types on the exchange are acknowledged and ignored.`,
        channel: { $ref: `#/channels/${channelId(producer)}` },
        messages: eventsHandledBy(consumer, producer).map((type) => ({ $ref: `#/channels/${channelId(producer)}/messages/${type}` })),
        bindings: { amqp: { ack: true, bindingVersion: AMQP_BINDING_VERSION } },
      };
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'troupe events',
      version: '1.0.0',
      description:
        'The events of troupe\'s order choreography: each service sends its events to its own fanout exchange and receives, from the exchanges it subscribes to, the ones it handles. Every message is persistent JSON with messageId = the event id and type = the event type, published with confirms; consumers deduplicate on the id.',
      license: { name: 'MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      rabbitmq: { host: 'localhost:5672', protocol: 'amqp', protocolVersion: '0.9.1', description: 'RabbitMQ (docker compose, or RABBITMQ_URL)' },
    },
    channels,
    operations,
    components: { messages, schemas: { Headers: headersSchema() } },
  };
}
