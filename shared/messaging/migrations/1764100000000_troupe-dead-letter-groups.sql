-- Up Migration

-- Dead letters grouped by failure: the fingerprint of how a letter failed (a hash of the
-- service, the event type, the error class and the error message without its ids and numbers,
-- shared/messaging/src/dead-letters/fingerprint.ts). The keeper writes it with each row; rows kept
-- before this column have none, and `DeadLetters` fills theirs in before it groups or selects by
-- group, so the normalisation is written once, in TypeScript, not again here in SQL.
ALTER TABLE troupe_dead_letters ADD COLUMN fingerprint text;
-- A group's letters, oldest first (replay and purge by group), its count, first and last seen;
-- and the rows still without a fingerprint (`fingerprint IS NULL`).
CREATE INDEX troupe_dead_letters_fingerprint_idx ON troupe_dead_letters (fingerprint, dead_lettered_at);

-- Down Migration
DROP INDEX troupe_dead_letters_fingerprint_idx;
ALTER TABLE troupe_dead_letters DROP COLUMN fingerprint;
