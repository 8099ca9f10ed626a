-- Up Migration

-- The CHECKs are the invariant itself: whatever the code does, stock cannot go negative.
CREATE TABLE stock (
  sku        text PRIMARY KEY,
  available  integer     NOT NULL CHECK (available >= 0),
  reserved   integer     NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO stock (sku, available) VALUES
  ('SKU-TSHIRT', 1000000),
  ('SKU-MUG', 1000000),
  ('SKU-HOODIE', 1000000),
  ('SKU-SOLDOUT', 0)
ON CONFLICT (sku) DO NOTHING;

-- One reservation per order.
CREATE TABLE reservations (
  id         uuid PRIMARY KEY,
  order_id   uuid        NOT NULL UNIQUE,
  items      jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE reservations;
DROP TABLE stock;
