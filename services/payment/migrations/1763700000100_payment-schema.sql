-- Up Migration

-- One payment per order: the unique order_id is the last line of defence against a double charge.
CREATE TABLE payments (
  id            uuid PRIMARY KEY,
  order_id      uuid        NOT NULL UNIQUE,
  status        text        NOT NULL CHECK (status IN ('CAPTURED', 'DECLINED', 'REFUNDED')),
  amount_cents  integer     NOT NULL CHECK (amount_cents >= 0),
  currency      char(3)     NOT NULL,
  decline_reason text,
  refund_reason text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  refunded_at   timestamptz
);

-- The simulated gateway's own memory (a real gateway keeps this on its side): calls per order,
-- so tok_flaky can fail exactly twice whichever replica or attempt calls it.
CREATE TABLE gateway_calls (
  order_id   uuid PRIMARY KEY,
  calls      integer     NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE gateway_calls;
DROP TABLE payments;
