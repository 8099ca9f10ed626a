-- Up Migration

-- The card gateway (services/gateway) keeps its own ledger and its own count of transient
-- failures; the payment service no longer simulates one.
DROP TABLE gateway_calls;

-- Down Migration
CREATE TABLE gateway_calls (
  order_id   uuid PRIMARY KEY,
  calls      integer     NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
