-- Up Migration

-- GET /orders lists the latest orders first.
CREATE INDEX orders_created_at_idx ON orders (created_at DESC, id);

-- Down Migration
DROP INDEX orders_created_at_idx;
