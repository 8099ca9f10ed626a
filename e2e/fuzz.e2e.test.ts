import { anOrderRequest } from '@troupe/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useSystem } from './support/hooks';
import { SERVICES, type Service } from './support/system';

// Property: whatever a client sends, the answer is 2xx or 4xx with a JSON body (an error names
// what was wrong), and every service is still ready afterwards. Bodies are generated around a
// valid order (each field replaced by arbitrary JSON, strings with control characters, NUL and
// lone surrogates, unknown fields, raw text that is not JSON), so most requests reach the
// validation of one field rather than failing at the first.
const ADMIN_TOKEN = 'fuzz-admin-token';
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

const nasty = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom('\u0000', '\u0007', '\n', '\u007f', '\u0085', '\ud800', '\udfff', '\u202e', 'é', ' ', 'a'), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000', 'SKU-TSHIRT\u0000', 'tok_visa\u0000', 'a'.repeat(20_000)) },
);
const anyJson = fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 3 }), nasty, fc.double(), fc.bigInt().map(String));

const body = fc.oneof(
  // One field of a valid order replaced by anything.
  fc
    .record({
      field: fc.constantFrom('customerId', 'email', 'items', 'paymentMethod', 'extra'),
      value: anyJson,
    })
    .map(({ field, value }) => JSON.stringify({ ...anOrderRequest(), [field]: value })),
  // Anything inside an item or the payment method.
  fc
    .record({ sku: fc.oneof(nasty, fc.constant('SKU-TSHIRT')), quantity: anyJson, token: fc.oneof(nasty, fc.constant('tok_visa')) })
    .map(({ sku, quantity, token }) => JSON.stringify({ ...anOrderRequest(), items: [{ sku, quantity }], paymentMethod: { token } })),
  // A valid order whose customer id is any Unicode text: accepted unless it has control characters.
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((customerId) => JSON.stringify(anOrderRequest({ customerId }))),
  // Whole bodies: any JSON, or text that is not JSON at all.
  anyJson.map((value) => JSON.stringify(value) ?? 'null'),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/** Percent-encodes every byte, so invalid UTF-8 (%FF) and encoded NUL (%00) reach the server as sent. */
const pathSegment = fc.uint8Array({ maxLength: 60 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
const queryString = fc
  .array(fc.tuple(fc.constantFrom('orderId', 'limit', 'id', 'x', ''), pathSegment), { maxLength: 4 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

/** Header values the HTTP client itself can send (no control characters but tab, Latin-1 only, no outer blanks). */
const sendableHeader = (value: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(value) && value === value.trim();

const requests: fc.Arbitrary<{ service: Service; method: string; path: string; body?: string; headers?: Record<string, string> }> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ body, key: fc.option(nasty.filter(sendableHeader)) }).map(({ body, key }) => ({ service: 'order' as const, method: 'POST', path: '/orders', body, headers: key === null ? ({} as Record<string, string>) : { 'idempotency-key': key } })) },
  { weight: 1, arbitrary: pathSegment.map((id) => ({ service: 'order' as const, method: 'GET', path: `/orders/${id}` })) },
  { weight: 1, arbitrary: pathSegment.map((sku) => ({ service: 'inventory' as const, method: 'GET', path: `/stock/${sku}` })) },
  { weight: 1, arbitrary: queryString.map((q) => ({ service: 'notification' as const, method: 'GET', path: `/notifications?${q}` })) },
  {
    weight: 1,
    arbitrary: fc.record({ service: fc.constantFrom(...SERVICES), q: queryString, body: fc.option(body) }).map(({ service, q, body }) =>
      body === null
        ? { service, method: 'GET', path: `/admin/dlq?${q}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }
        : { service, method: 'POST', path: `/admin/dlq/purge?${q}`, body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    ),
  },
);

describe('every input from outside', () => {
  const ctx = useSystem('fuzz', () => ({ ADMIN_TOKEN }));

  it(`when ${RUNS} generated requests hit the four services, then every answer is 2xx or 4xx with a JSON body, and every service stays ready`, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requests, async (request) => {
        const response = await fetch(`${ctx.system.baseUrl(request.service)}${request.path}`, {
          method: request.method,
          headers: { 'content-type': 'application/json', ...request.headers },
          ...(request.body === undefined ? {} : { body: request.body }),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `${request.method} ${request.path} → ${response.status} ${text.slice(0, 300)}`).toBeLessThan(500);
        expect(response.headers.get('content-type') ?? '', `${request.method} ${request.path}`).toMatch(/^application\/json/);
        expect(() => JSON.parse(text)).not.toThrow();
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    console.log(`fuzz: ${RUNS} requests, by status: ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);

    for (const service of SERVICES) {
      const ready = await fetch(`${ctx.system.baseUrl(service)}/readyz`);
      expect(ready.status, `${service} /readyz after the fuzzing`).toBe(200);
    }
    expect(statuses.get(202) ?? 0, 'some generated orders were valid and accepted').toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0, 'most were refused with 400').toBeGreaterThan(RUNS / 4);
  });
});
