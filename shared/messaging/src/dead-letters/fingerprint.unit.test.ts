import { describe, expect, it } from 'vitest';
import { failureOf, fingerprint, normaliseMessage } from './fingerprint';

const letter = (orderId: string, amount: string, overrides: Partial<Parameters<typeof failureOf>[1]> = {}) => ({
  type: 'OrderPlaced',
  reason: 'permanent',
  errorName: 'PermanentError',
  error: `PermanentError: order ${orderId} over its limit: ${amount} > 100`,
  ...overrides,
});
const groupOf = (service: string, l: Parameters<typeof failureOf>[1]) => fingerprint(failureOf(service, l));

describe('normaliseMessage', () => {
  it('when a message has UUIDs, hex ids, numbers, times and quoted values, then each becomes its placeholder', () => {
    expect(
      normaliseMessage(
        'order 3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b: charge a1b2c3d4e5f6 of 12.50 EUR at 2026-12-07T09:47:52.123Z refused for "ada@example.com" (attempt 3 of 5, 0x1f)',
      ),
    ).toBe('order <uuid>: charge <id> of <n> EUR at <time> refused for <value> (attempt <n> of <n>, <id>)');
  });

  it('when ids, numbers or addresses are quoted, then the quoted value is a placeholder', () => {
    expect(normaliseMessage(`order "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b" not found for 'ada@example.com'; key \`ORD-42\``)).toBe('order <value> not found for <value>; key <value>');
    expect(normaliseMessage('no customer "Ada Lovelace"')).toBe('no customer <value>');
  });

  it('when a quoted word is a name (a constraint, a relation), then it stays, its failure told apart from others', () => {
    expect(normaliseMessage('duplicate key value violates unique constraint "payments_order_id_key"')).toBe('duplicate key value violates unique constraint "payments_order_id_key"');
    expect(normaliseMessage('relation "public.orders" does not exist')).toBe('relation "public.orders" does not exist');
  });

  it("when words have apostrophes, then they do not pair up as quotes; a quote beside them still does", () => {
    expect(normaliseMessage("can't reserve 12 items, don't retry")).toBe("can't reserve <n> items, don't retry");
    expect(normaliseMessage("can't reserve 'SKU-123', it doesn't exist")).toBe("can't reserve <value>, it doesn't exist");
  });

  it('when a message was cut short inside an id or a quoted value, then what the cut left of it is dropped', () => {
    expect(normaliseMessage('refused: order 3f2b8c1e-9a4d-4e6f…')).toBe('refused: order');
    expect(normaliseMessage('refused: order 00000000-00…')).toBe('refused: order');
    expect(normaliseMessage('refused for "Ada Love…')).toBe('refused for');
    expect(normaliseMessage('refused for "Ada" as "blocked…')).toBe('refused for "Ada" as');
  });

  it('when the message starts with the error name, then the name is left out; words with digits in them stay', () => {
    expect(normaliseMessage('TransientGatewayError: gateway timed out (sha256, utf8)', 'TransientGatewayError')).toBe('gateway timed out (sha256, utf8)');
  });

  it('when a message was truncated, then its ellipsis is dropped and it is cut at 300 characters', () => {
    const long = `${'word '.repeat(200)}…`;
    expect(normaliseMessage(long)).toHaveLength(300);
    expect(normaliseMessage(long).endsWith('…')).toBe(false);
  });
});

describe('fingerprint', () => {
  it('when two dead letters differ only in order id and amount, then they share a group', () => {
    const a = groupOf('payment', letter('3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b', '120.50'));
    const b = groupOf('payment', letter('00000000-0000-4000-8000-000000000001', '7'));
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  it('when the error class, the message, the event type or the service differs, then the group differs', () => {
    const base = groupOf('payment', letter('3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b', '1'));
    const others = [
      groupOf('payment', letter('3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b', '1', { errorName: 'TypeError', error: 'TypeError: order 3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b over its limit: 1 > 100' })),
      groupOf('payment', letter('3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b', '1', { error: 'PermanentError: customer 42 blocked' })),
      groupOf('payment', letter('3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b', '1', { type: 'PaymentCompleted' })),
      groupOf('inventory', letter('3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b', '1')),
    ];
    expect(new Set([base, ...others]).size).toBe(5);
  });
  it('when two unique constraints or two relations are violated, then they are two groups, not one', () => {
    const violation = (error: string) => groupOf('payment', { type: 'OrderPlaced', reason: 'exhausted', errorName: 'DatabaseError', error });
    expect(violation('duplicate key value violates unique constraint "payments_order_id_key"')).not.toBe(violation('duplicate key value violates unique constraint "payments_pkey"'));
    expect(violation('relation "payments" does not exist')).not.toBe(violation('relation "refunds" does not exist'));
  });
});

describe('failureOf', () => {
  it('when the consumer recorded the error name, then it is the class and the message is without it', () => {
    expect(failureOf('payment', letter('3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b', '9'))).toEqual({
      service: 'payment',
      type: 'OrderPlaced',
      errorClass: 'PermanentError',
      message: 'order <uuid> over its limit: <n> > <n>',
    });
  });

  it('when a letter was kept before the error name was recorded, then the name in front of its error is the class, and it groups with newer ones', () => {
    const old = letter('3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b', '9', { errorName: undefined });
    expect(failureOf('payment', old).errorClass).toBe('PermanentError');
    expect(groupOf('payment', old)).toBe(groupOf('payment', letter('00000000-0000-4000-8000-000000000001', '3')));
  });

  it('when a plain Error letter was kept before the error name was recorded, then it groups with a new one of the same failure', () => {
    const old = { type: 'OrderPlaced', reason: 'exhausted', error: 'Error: boom' };
    expect(failureOf('payment', old)).toMatchObject({ errorClass: 'Error', message: 'boom' });
    expect(groupOf('payment', old)).toBe(groupOf('payment', { ...old, errorName: 'Error' }));
  });

  it('when a letter is poison, was dead-lettered by the broker, or names no error, then the reason is the class', () => {
    expect(failureOf('payment', { type: 'OrderPlaced', reason: 'poison', error: 'body is not valid JSON (at character 12)' })).toMatchObject({ errorClass: 'poison', message: 'body is not valid JSON (at character <n>)' });
    expect(failureOf('payment', { type: 'OrderPlaced', reason: 'broker: delivery_limit', error: 'TransientGatewayError: gateway timed out' }).errorClass).toBe('broker: delivery_limit');
    expect(failureOf('payment', { reason: 'exhausted', error: 'something odd' })).toEqual({ service: 'payment', type: 'unknown', errorClass: 'exhausted', message: 'something odd' });
  });
});
