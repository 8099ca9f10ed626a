-- One database per service (docs/design.md: each service owns its data). Run by the postgres image's
-- entrypoint once, when the data volume is empty; each service creates its own tables with its
-- migrations at start-up. "order" is a reserved word in SQL, hence the quotes.
CREATE DATABASE "order";
CREATE DATABASE "payment";
CREATE DATABASE "inventory";
CREATE DATABASE "notification";
