import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../events';
import { eventsHandledBy, exchangeOf, SERVICES, SUBSCRIPTIONS } from '../topology';
import { asyncApiDocument } from './asyncapi';
import { openApiDocument } from './openapi';

const checkedIn = (name: string): unknown => JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'contracts', name), 'utf8'));

describe('the published contracts', () => {
  it('when the zod contracts change, then docs/contracts/asyncapi.json must be regenerated (make contracts)', () => {
    expect(checkedIn('asyncapi.json')).toEqual(JSON.parse(JSON.stringify(asyncApiDocument())));
  });

  it('when the zod contracts change, then docs/contracts/openapi.json must be regenerated (make contracts)', () => {
    expect(checkedIn('openapi.json')).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('the AsyncAPI document is valid AsyncAPI 3.0 for the official parser, with every event on its exchange', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(asyncApiDocument()));
    const errors = diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    expect(document?.messages().all().map((m) => m.name()).sort()).toEqual([...EVENT_TYPES].sort());
    expect(document?.channels().all().map((c) => c.address()).sort()).toEqual(['inventory.events', 'notification.events', 'order.events', 'payment.events']);
    // Who consumes what: one receive operation per subscription, with the events it handles.
    const received = document?.operations().filterByReceive().map((o) => `${o.channels().all()[0]?.address()} -> ${o.id()}: ${o.messages().all().map((m) => m.name()).join(',')}`);
    expect(received?.sort()).toEqual(
      SERVICES.flatMap((consumer) => SUBSCRIPTIONS[consumer].map((producer) => `${exchangeOf(producer)} -> ${consumer}Receives${producer[0]?.toUpperCase()}${producer.slice(1)}Events: ${eventsHandledBy(consumer, producer).join(',')}`)).sort(),
    );
    expect(received).toContain('payment.events -> notificationReceivesPaymentEvents: PaymentFailed,PaymentRefunded');
    expect(document?.operations().filterBySend().length).toBe(EVENT_TYPES.length);
  }, 30_000); // the parser runs its whole Spectral ruleset: seconds on a busy machine

  it('the OpenAPI document is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(openApiDocument() as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('the message payload refuses what the consumers refuse (a negative amount in OrderPlaced)', () => {
    const orderPlaced = asyncApiDocument().components.messages.OrderPlaced?.payload as { properties: { data: { properties: { total: { properties: { amountCents: { minimum: number } } } } } } };
    expect(orderPlaced.properties.data.properties.total.properties.amountCents.minimum).toBe(0);
  });
});
