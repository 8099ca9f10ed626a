-- Up Migration

-- The pruning of inbox rows past their retention finds the oldest rows by this index, in small
-- batches, however large the inbox is (shared/service/src/pruning.ts).
CREATE INDEX troupe_inbox_processed_at_idx ON troupe_inbox (processed_at);

-- Down Migration
DROP INDEX troupe_inbox_processed_at_idx;
