-- Up Migration

-- Mails the SMTP server has accepted, each recorded the moment it was, in a transaction of its own:
-- when the transaction that records its notification does not commit (the process dies, the
-- COMMIT fails), the message comes again, finds its mail accepted and does not send it twice
-- (docs/decisions/0032). Kept as long as the inbox's rows: pruned after INBOX_RETENTION_SECONDS.
CREATE TABLE mails_accepted (
  notification_id uuid        PRIMARY KEY,
  accepted_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mails_accepted_accepted_at ON mails_accepted (accepted_at);

-- Down Migration
DROP TABLE mails_accepted;
