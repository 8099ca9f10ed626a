import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { asyncApiDocument } from '@troupe/contracts';
import { describe, expect, it } from 'vitest';
import { choreographyOf, ContractError } from './choreography';

/** A fresh copy of the published document, to change at will. */
const published = (): Record<string, any> => JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'contracts', 'asyncapi.json'), 'utf8'));

describe('the map drawn from the AsyncAPI document', () => {
  it('when no file is given, then the document generated in-process draws the same map as the published file', () => {
    expect(choreographyOf(asyncApiDocument())).toEqual(choreographyOf(published()));
  });

  it('when the published document is read, then every exchange has its producer and every subscription its edges', () => {
    const map = choreographyOf(published());
    expect(map.exchanges).toEqual([
      { name: 'order.events', producer: 'order' },
      { name: 'payment.events', producer: 'payment' },
      { name: 'inventory.events', producer: 'inventory' },
      { name: 'notification.events', producer: 'notification' },
    ]);
    expect(map.edges).toContainEqual({
      id: 'payment.events/PaymentCompleted/inventory',
      exchange: 'payment.events',
      producer: 'payment',
      type: 'PaymentCompleted',
      subscriber: 'inventory',
      queue: 'inventory.payment.events',
    });
    expect(map.edges).toHaveLength(12);
    expect(map.subscriptions).toHaveLength(8);
    expect(map.carries.get('payment.events')?.get('PaymentRefunded')).toEqual(new Set([1]));
  });

  it('when a copy of the document gains a subscription, then the map gains its edge, with nothing else changed', () => {
    const document = published();
    const before = choreographyOf(document);
    document.operations.inventoryReceivesNotificationEvents = {
      action: 'receive',
      'x-troupe-service': 'inventory',
      'x-troupe-queue': 'inventory.notification.events',
      channel: { $ref: '#/channels/notificationEvents' },
      messages: [{ $ref: '#/channels/notificationEvents/messages/NotificationSent' }],
    };
    const after = choreographyOf(document);
    expect(after.edges.filter((e) => !before.edges.some((b) => b.id === e.id))).toEqual([
      {
        id: 'notification.events/NotificationSent/inventory',
        exchange: 'notification.events',
        producer: 'notification',
        type: 'NotificationSent',
        subscriber: 'inventory',
        queue: 'inventory.notification.events',
      },
    ]);
    expect(after.subscriptions).toContainEqual({ service: 'inventory', exchange: 'notification.events', queue: 'inventory.notification.events' });
  });

  it('when a message gains a version in the document, then the map knows it', () => {
    const document = published();
    document.components.messages.OrderPlaced.payload.properties.version = { type: 'integer', enum: [1, 2] };
    expect(choreographyOf(document).carries.get('order.events')?.get('OrderPlaced')).toEqual(new Set([1, 2]));
  });

  it('when an operation does not say who takes part, then reading it fails naming the field', () => {
    const document = published();
    delete document.operations.publishOrderPlaced['x-troupe-service'];
    expect(() => choreographyOf(document)).toThrow(new ContractError('operations.publishOrderPlaced.x-troupe-service must be a non-empty string'));
    expect(() => choreographyOf({ openapi: '3.1.0' })).toThrow(ContractError);
  });
});
