-- Up Migration

-- Transactional outbox: events written in the same transaction as the change that caused them,
-- published later by the relay (see shared/messaging/src/outbox/relay.ts). A row is deleted only
-- after the broker confirmed it.
CREATE TABLE troupe_outbox (
  id          bigserial PRIMARY KEY,
  event_id    uuid        NOT NULL UNIQUE,
  exchange    text        NOT NULL,
  type        text        NOT NULL,
  order_id    uuid        NOT NULL,
  body        text        NOT NULL,
  headers     jsonb       NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- The relay publishes only the oldest unsent event of each order, so one order's events keep
-- their order even with several relays claiming rows with SKIP LOCKED.
CREATE INDEX troupe_outbox_order_idx ON troupe_outbox (order_id, id);

-- Inbox: one row per (consumer, event) processed, written in the same transaction as the
-- handler's effects. A redelivered event finds its row and is acknowledged with no effect.
CREATE TABLE troupe_inbox (
  consumer     text        NOT NULL,
  event_id     uuid        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

-- Down Migration
DROP TABLE troupe_inbox;
DROP TABLE troupe_outbox;
