-- Up Migration

-- What was sent to whom. One notification of each kind per order, whatever is redelivered.
CREATE TABLE notifications (
  id         uuid PRIMARY KEY,
  order_id   uuid        NOT NULL,
  kind       text        NOT NULL CHECK (kind IN ('ORDER_CONFIRMED', 'PAYMENT_DECLINED', 'ORDER_CANCELLED_REFUNDED')),
  channel    text        NOT NULL CHECK (channel IN ('email', 'log')),
  recipient  text        NOT NULL,
  subject    text        NOT NULL,
  body       text        NOT NULL,
  sent_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (order_id, kind)
);

-- Down Migration
DROP TABLE notifications;
