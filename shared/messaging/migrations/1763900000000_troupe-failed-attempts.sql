-- Up Migration

-- Every attempt at a message that failed and was retried or dead-lettered, written by the
-- consumer when it moves the message on (shared/messaging/src/consume/failed-attempts.ts). The broker
-- keeps only the latest failure in a message's headers, and nothing once a retry succeeded: this
-- is what lets an order's journey show its retries. Served by GET /failed-attempts?orderId=.
CREATE TABLE troupe_failed_attempts (
  consumer           text        NOT NULL,
  event_id           uuid        NOT NULL,
  -- 0 before any replay from the dead-letter queue: a replay starts again at attempt 1.
  replay             integer     NOT NULL,
  attempt            integer     NOT NULL,
  order_id           uuid        NOT NULL,
  event_type         text        NOT NULL,
  outcome            text        NOT NULL CHECK (outcome IN ('retried', 'dead-lettered')),
  retry_delay_ms     integer,
  dead_letter_reason text,
  error_name         text        NOT NULL,
  error              text        NOT NULL,
  failed_at          timestamptz NOT NULL DEFAULT now(),
  -- A message seen again at the same attempt (a redelivery after a crash) is recorded once.
  PRIMARY KEY (consumer, event_id, replay, attempt)
);
CREATE INDEX troupe_failed_attempts_order_idx ON troupe_failed_attempts (order_id, failed_at);
-- Pruned with the inbox's retention, oldest first (shared/service/src/pruning.ts).
CREATE INDEX troupe_failed_attempts_failed_at_idx ON troupe_failed_attempts (failed_at);

-- Down Migration
DROP TABLE troupe_failed_attempts;
