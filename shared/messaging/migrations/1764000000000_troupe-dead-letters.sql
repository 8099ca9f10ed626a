-- Up Migration

-- Dead letters, kept in the service's database: every message that reaches <service>.dlq (sent
-- there by the consumer, or by the broker past a queue's delivery limit) is moved here and acked
-- (shared/messaging/src/dead-letters/keeper.ts). Reading them is a SELECT, so looking at them never
-- hands a message back to a queue, which RabbitMQ 4 counts as a delivery (decision 0021).
CREATE TABLE troupe_dead_letters (
  -- The event id (AMQP messageId), or a hash of the body for a message that had none.
  id               text        NOT NULL,
  -- A replayed message that fails again comes back with its replay count one higher: a row of
  -- its own, so the replay that sent it can delete the row it took and no other.
  replay_count     integer     NOT NULL,
  -- The AMQP properties (headers included) and the body, as the broker delivered them. json,
  -- not jsonb: a header may quote a body with a NUL in it (a poison message's parse error), which
  -- jsonb refuses; json keeps the text as it is.
  properties       json        NOT NULL,
  body             bytea       NOT NULL,
  dead_lettered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, replay_count)
);
CREATE INDEX troupe_dead_letters_at_idx ON troupe_dead_letters (dead_lettered_at);

-- Down Migration
DROP TABLE troupe_dead_letters;
