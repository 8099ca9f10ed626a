// The history phase's data (history.js): `orders` orders' worth of rows written straight into the
// four services' databases with set-based INSERTs (never through the system), as a service holds
// them after that many orders: every order, its history and its payment, reservation and
// notification, each consumer's inbox rows, and an idempotency key per order. Also the EXPLAIN of
// each hot-path statement against them. See docs/benchmarks.md.
const { Client } = require('pg');

// Seeded rows are spread over the last week: inside the inbox's retention and the keys' lifetime,
// so the pruning has nothing to do while the bench measures.
const AGE = (i, n) => `now() - make_interval(secs => ${i}::float8 * 604800 / ${n})`;
const ORDER_ID = (i) => `md5('seed-order-' || ${i})::uuid`;

/** The rows of each database, as SQL run with $1 = the number of orders. */
const SEEDS = {
  order: [
    `INSERT INTO orders (id, customer_id, email, status, items, total_cents, currency, trace_id, created_at, updated_at)
     SELECT ${ORDER_ID('i')}, 'seed-' || (i % 100000), 'seed@example.com', 'COMPLETED',
            '[{"sku":"SKU-TSHIRT","quantity":1,"unitPriceCents":2000}]', 2000, 'USD', md5(i::text), ${AGE('i', '$1::int')}, ${AGE('i', '$1::int')}
       FROM generate_series(1, $1::int) AS i`,
    `INSERT INTO order_history (order_id, type, event_id, occurred_at)
     SELECT ${ORDER_ID('i')}, t.type, CASE WHEN t.n > 1 THEN gen_random_uuid() END, ${AGE('i', '$1::int')} + make_interval(secs => t.n * 0.01)
       FROM generate_series(1, $1::int) AS i
      CROSS JOIN (VALUES (1, 'OrderPlaced'), (2, 'PaymentCompleted'), (3, 'InventoryReserved'), (4, 'NotificationSent')) AS t(n, type)`,
    inbox(['order.payment.events', 'order.inventory.events', 'order.notification.events']),
    `INSERT INTO idempotency_keys (key, fingerprint, status_code, response, created_at, expires_at)
     SELECT 'seed-' || i, md5(i::text), 202, '{"status":"PENDING"}', ${AGE('i', '$1::int')}, ${AGE('i', '$1::int')} + interval '8 days'
       FROM generate_series(1, $1::int) AS i`,
  ],
  payment: [
    `INSERT INTO payments (id, order_id, status, amount_cents, currency, created_at)
     SELECT gen_random_uuid(), ${ORDER_ID('i')}, 'CAPTURED', 2000, 'USD', ${AGE('i', '$1::int')} FROM generate_series(1, $1::int) AS i`,
    inbox(['payment.order.events']),
  ],
  inventory: [
    `INSERT INTO reservations (id, order_id, items, created_at)
     SELECT gen_random_uuid(), ${ORDER_ID('i')}, '[{"sku":"SKU-TSHIRT","quantity":1}]', ${AGE('i', '$1::int')} FROM generate_series(1, $1::int) AS i`,
    inbox(['inventory.payment.events']),
  ],
  notification: [
    `INSERT INTO notifications (id, order_id, kind, channel, recipient, subject, body, sent_at)
     SELECT gen_random_uuid(), ${ORDER_ID('i')}, 'ORDER_CONFIRMED', 'log', 'seed@example.com', 'Your order is confirmed',
            'Thank you for your order. It is paid and on its way; we will tell you when it ships.', ${AGE('i', '$1::int')}
       FROM generate_series(1, $1::int) AS i`,
    // Each mail's record of its acceptance, kept as long as the inbox's rows.
    `INSERT INTO mails_accepted (notification_id, accepted_at) SELECT id, sent_at FROM notifications LIMIT $1::int`,
    inbox(['notification.inventory.events']),
  ],
};

function inbox(queues) {
  return `INSERT INTO troupe_inbox (consumer, event_id, processed_at)
          SELECT q, gen_random_uuid(), ${AGE('i', '$1::int')} FROM generate_series(1, $1::int) AS i
           CROSS JOIN unnest(ARRAY[${queues.map((q) => `'${q}'`).join(', ')}]) AS q`;
}

/**
 * Seeds every database (`urls`: service → admin URL of its bench database) in parallel, then
 * vacuums and analyzes them so the planner knows their size and autovacuum does not start in the
 * middle of a measurement. Returns the seconds it took and the rows written.
 */
async function seedHistory(urls, orders) {
  const started = performance.now();
  const counts = await Promise.all(
    Object.entries(SEEDS).map(async ([service, statements]) => {
      const client = new Client({ connectionString: urls[service] });
      await client.connect();
      try {
        let rows = 0;
        for (const sql of statements) rows += (await client.query(sql, [orders])).rowCount ?? 0;
        await client.query('VACUUM (ANALYZE)');
        return rows;
      } finally {
        await client.end();
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, rows: counts.reduce((t, n) => t + n, 0) };
}


// The statements each service runs per order (and the pruning's), with a seeded order's id.
const SEEDED = ORDER_ID(5);
const HOT_PATHS = {
  order: {
    'lock the order (tracking an event)': `SELECT status, created_at, EXISTS (SELECT 1 FROM order_history h WHERE h.order_id = ${SEEDED} AND h.event_id = gen_random_uuid()) FROM orders WHERE id = ${SEEDED} FOR UPDATE OF orders`,
    'record the event': `UPDATE orders SET status = 'PAID' WHERE id = ${SEEDED}`,
    'GET /orders/{id}': `SELECT o.id, (SELECT json_agg(h.type ORDER BY h.occurred_at, h.id) FROM order_history h WHERE h.order_id = o.id) FROM orders o WHERE o.id = ${SEEDED}`,
    'Idempotency-Key lookup': `SELECT fingerprint FROM idempotency_keys WHERE key = 'seed-5'`,
    'expired key forgotten': `DELETE FROM idempotency_keys WHERE key = 'seed-5' AND expires_at <= now()`,
    'inbox pruning batch': `DELETE FROM troupe_inbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM troupe_inbox WHERE processed_at < now() - interval '14 days' ORDER BY processed_at LIMIT 1000 FOR UPDATE SKIP LOCKED))`,
    'key pruning batch': `DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys WHERE expires_at <= now() ORDER BY expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED))`,
  },
  payment: { 'existing payment': `SELECT 1 FROM payments WHERE order_id = ${SEEDED}` },
  inventory: {
    'lock stock, existing reservation': `SELECT s.sku, EXISTS (SELECT 1 FROM reservations r WHERE r.order_id = ${SEEDED}) FROM stock s WHERE s.sku = ANY(ARRAY['SKU-TSHIRT']) ORDER BY s.sku FOR UPDATE OF s`,
  },
  notification: {
    'GET /notifications': `SELECT id FROM notifications WHERE order_id = ${SEEDED} ORDER BY sent_at, id`,
    'accepted mail lookup': `SELECT 1 FROM mails_accepted WHERE notification_id = ${SEEDED}`,
    'accepted mail pruning batch': `DELETE FROM mails_accepted WHERE ctid = ANY(ARRAY(SELECT ctid FROM mails_accepted WHERE accepted_at < now() - interval '14 days' ORDER BY accepted_at LIMIT 1000 FOR UPDATE SKIP LOCKED))`,
  },
};

/**
 * EXPLAINs each hot-path statement against the seeded databases: `indexed` unless the plan reads a
 * large table whole (a sequential scan of anything but the four-row stock table).
 */
async function explainHotPaths(urls) {
  const results = [];
  for (const [service, statements] of Object.entries(HOT_PATHS)) {
    const client = new Client({ connectionString: urls[service] });
    await client.connect();
    try {
      for (const [name, sql] of Object.entries(statements)) {
        const lines = (await client.query(`EXPLAIN (COSTS OFF) ${sql}`)).rows.map((r) => r['QUERY PLAN'].trim());
        const scans = lines.filter((l) => /Scan/.test(l)).map((l) => l.replace(/^->\s*/, ''));
        results.push({ service, name, plan: scans.join('; '), indexed: !scans.some((l) => /Seq Scan on (?!stock)/.test(l)) });
      }
    } finally {
      await client.end();
    }
  }
  return results;
}

module.exports = { explainHotPaths, seedHistory };
