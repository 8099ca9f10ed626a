-- Up Migration

-- The ledger: one row per charge (approved or declined) and per refund, keyed by the caller's
-- Idempotency-Key. The primary key is what makes a repeated request charge nothing new; the
-- request's hash tells a replay (same body) from a key reused for something else.
CREATE TABLE ledger_entries (
  idempotency_key text        PRIMARY KEY,
  id              uuid        NOT NULL UNIQUE,
  kind            text        NOT NULL CHECK (kind IN ('charge', 'refund')),
  order_id        text        NOT NULL,
  amount_cents    integer     NOT NULL CHECK (amount_cents > 0),
  currency        char(3)     NOT NULL,
  outcome         text        NOT NULL CHECK (outcome IN ('approved', 'declined', 'refunded')),
  decline_reason  text,
  request_hash    text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'charge') = (outcome IN ('approved', 'declined')))
);
CREATE INDEX ledger_entries_order ON ledger_entries (order_id, created_at);

-- Attempts per idempotency key that ended in a transient failure (tok_flaky): not charges, so
-- not in the ledger; kept so that the third attempt succeeds whichever caller replica makes it.
CREATE TABLE transient_failures (
  idempotency_key text        PRIMARY KEY,
  failures        integer     NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE transient_failures;
DROP TABLE ledger_entries;
