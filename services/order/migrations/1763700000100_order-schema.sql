-- Up Migration

-- The price list the order service sells from (its own copy: it never asks inventory).
CREATE TABLE products (
  sku              text PRIMARY KEY,
  name             text    NOT NULL,
  unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
  currency         char(3) NOT NULL DEFAULT 'USD'
);
INSERT INTO products (sku, name, unit_price_cents) VALUES
  ('SKU-TSHIRT', 'troupe T-shirt', 2000),
  ('SKU-MUG', 'troupe mug', 1200),
  ('SKU-HOODIE', 'troupe hoodie', 4500),
  ('SKU-SOLDOUT', 'the thing everyone wants', 9900)
ON CONFLICT (sku) DO NOTHING;

CREATE TABLE orders (
  id           uuid PRIMARY KEY,
  customer_id  text        NOT NULL,
  email        text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('PENDING', 'PAID', 'RESERVED', 'COMPLETED', 'CANCELLED')),
  items        jsonb       NOT NULL,
  total_cents  integer     NOT NULL,
  currency     char(3)     NOT NULL,
  trace_id     text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Every event seen about an order, in the order it happened.
CREATE TABLE order_history (
  id          bigserial PRIMARY KEY,
  order_id    uuid        NOT NULL REFERENCES orders (id),
  type        text        NOT NULL,
  event_id    uuid,
  occurred_at timestamptz NOT NULL
);
CREATE INDEX order_history_order_idx ON order_history (order_id, occurred_at, id);

-- Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the response of the first request
-- with a key, replayed for every repeat with the same body.
CREATE TABLE idempotency_keys (
  key          text PRIMARY KEY,
  fingerprint  text        NOT NULL,
  status_code  integer     NOT NULL,
  response     jsonb       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);

-- Down Migration
DROP TABLE idempotency_keys;
DROP TABLE order_history;
DROP TABLE orders;
DROP TABLE products;
