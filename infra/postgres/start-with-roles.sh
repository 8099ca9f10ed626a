#!/usr/bin/env bash
# Postgres' entrypoint in compose: starts Postgres as the image would, then (on every start, so a
# changed password takes effect with `docker compose up -d`) makes sure each service has its own
# role, owner of its own database and of everything in it, and nothing more: not a superuser, no
# CREATEDB or CREATEROLE, and CONNECT on every service database revoked from PUBLIC
# (docs/decisions/0012-least-privilege.md). Passwords come from the environment:
# <SERVICE>_POSTGRES_PASSWORD. The superuser's, which the image sets on the first start only, is set
# again too, so POSTGRES_PASSWORD in .env is the one in force.
set -euo pipefail

ready=/tmp/troupe-roles-ready
rm -f "$ready"

docker-entrypoint.sh "$@" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server"; exit $?' TERM INT

# Over TCP: while the entrypoint initialises an empty volume, its temporary server listens on the
# socket only.
until pg_isready -q --host=127.0.0.1 --username="$POSTGRES_USER" --dbname=postgres; do
  kill -0 "$server" 2>/dev/null || { wait "$server"; exit $?; }
  sleep 1
done

# A password reaches psql in its environment (\getenv), never as an argument (which `ps` shows).
TROUPE_ROLE_PASSWORD="${POSTGRES_PASSWORD:?}" psql -v ON_ERROR_STOP=1 -q --host=127.0.0.1 --username="$POSTGRES_USER" --dbname=postgres \
  -v role="$POSTGRES_USER" <<'SQL'
\getenv password TROUPE_ROLE_PASSWORD
ALTER ROLE :"role" PASSWORD :'password';
SQL

# The card gateway too: a database and role of its own, like the services'.
for service in order payment inventory notification gateway; do
  var="${service^^}_POSTGRES_PASSWORD"
  TROUPE_ROLE_PASSWORD="${!var:?$var is not set}" psql -v ON_ERROR_STOP=1 -q --host=127.0.0.1 --username="$POSTGRES_USER" --dbname=postgres \
    -v role="troupe_${service}" -v db="${service}" <<'SQL'
\getenv password TROUPE_ROLE_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
\connect :"db"
SELECT format('ALTER %s public.%I OWNER TO %I', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END, c.relname, :'role')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v')
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) \gexec
SQL
done
echo "troupe: service roles troupe_order, troupe_payment, troupe_inventory, troupe_notification, troupe_gateway ready"
touch "$ready"

wait "$server"
