#!/usr/bin/env bash
# A RabbitMQ node and a PostgreSQL cluster of the tests' own, beside whatever broker and database
# the host runs, from the server binaries in BIN_DIR (rabbitmq-server, rabbitmqctl, initdb, pg_ctl,
# psql). CI runs the whole suite on RabbitMQ 4 and PostgreSQL 17 this way, the versions troupe ships.
#
#   scripts/test-servers.sh start BIN_DIR   # starts both (AMQP 5673, Postgres 5433), prints the env
#   scripts/test-servers.sh env BIN_DIR     # the variables that point `make test` at them
#   scripts/test-servers.sh stop            # stops both and deletes their files
#
#   eval "$(scripts/test-servers.sh start /path/to/bin)" && make test && scripts/test-servers.sh stop
#
# The node runs as the `rabbitmq` user (it owns the Erlang cookie rabbitmqctl needs) and the
# cluster as `postgres`, so this runs as root. Ports and the node name can be changed with
# TEST_AMQP_PORT, TEST_PG_PORT and TEST_RABBITMQ_NODE.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
STATE=${TEST_SERVERS_DIR:-/tmp/troupe-test-servers}
AMQP_PORT=${TEST_AMQP_PORT:-5673}
DIST_PORT=$((AMQP_PORT + 20000))
PG_PORT=${TEST_PG_PORT:-5433}
NODE=${TEST_RABBITMQ_NODE:-troupe-test@localhost}
log() { echo "test-servers: $*" >&2; }

print_env() {
  local bin=$1
  cat <<EOF
export RABBITMQ_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres
export RABBITMQ_NODENAME=$NODE
export RABBITMQ_SERVER=$bin/rabbitmq-server
export PG_BIN_DIR=$bin
export PATH=$bin:\$PATH
EOF
}

start_rabbitmq() {
  local bin=$1 dir=$STATE/rabbitmq
  mkdir -p "$dir"
  # The settings troupe's brokers run with (infra/rabbitmq): RabbitMQ 4.3's refusals, the largest
  # message, and the dead-lettering confirm timeout. The plugin keys stay out: the node runs no
  # plugin. RabbitMQ 4.0 takes any queue for a transient non-exclusive one when its app starts
  # again (a false positive fixed in 4.1.0), so on 4.0 that refusal would stop `rabbitmqctl
  # start_app` after a `stop_app`, as the fault tests do: it is left out there.
  local refusals='^deprecated_features\|^max_message_size'
  case "$("$bin/rabbitmqctl" version 2>/dev/null)" in 4.0.*) refusals='^deprecated_features\.permit\.global_qos\|^max_message_size' ;; esac
  { echo "listeners.tcp.default = 127.0.0.1:$AMQP_PORT"; grep "$refusals" "$HERE/infra/rabbitmq/rabbitmq.conf"; } >"$dir/rabbitmq.conf"
  cp "$HERE/infra/rabbitmq/advanced.config" "$dir/advanced.config"
  echo '[].' >"$dir/enabled_plugins"
  : >"$dir/rabbitmq-env.conf"
  chown -R rabbitmq:rabbitmq "$dir"
  HOME=/var/lib/rabbitmq RABBITMQ_NODENAME=$NODE RABBITMQ_NODE_PORT=$AMQP_PORT RABBITMQ_DIST_PORT=$DIST_PORT \
    RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf \
    RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins \
    RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log RABBITMQ_PID_FILE=$dir/pid \
    "$bin/rabbitmq-server" -detached
  RABBITMQ_NODENAME=$NODE "$bin/rabbitmqctl" -q wait "$dir/pid" --timeout 90 >/dev/null
  RABBITMQ_NODENAME=$NODE "$bin/rabbitmqctl" -q await_startup --timeout 90
  log "RabbitMQ $(RABBITMQ_NODENAME=$NODE "$bin/rabbitmqctl" -q eval 'rabbit_misc:version().' | tr -d '"') as $NODE on 127.0.0.1:$AMQP_PORT"
}

start_postgres() {
  local bin=$1 dir=$STATE/postgres
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 >"$dir/initdb.log"
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
  log "$("$bin/psql" -At -h 127.0.0.1 -p "$PG_PORT" -U postgres -c 'select version()' | cut -d' ' -f1-2) on 127.0.0.1:$PG_PORT"
}

stop_all() {
  local pid
  if [ -f "$STATE/rabbitmq/pid" ]; then
    pid=$(cat "$STATE/rabbitmq/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [ -f "$STATE/postgres/data/postmaster.pid" ]; then
    pid=$(head -1 "$STATE/postgres/data/postmaster.pid")
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -rf "$STATE"
}

case "${1:-}" in
  start)
    [ -x "${2:-}/rabbitmq-server" ] && [ -x "$2/initdb" ] || { log "usage: $0 start BIN_DIR (with rabbitmq-server, rabbitmqctl, initdb, pg_ctl, psql)"; exit 2; }
    bin=$(cd "$2" && pwd)
    stop_all
    start_rabbitmq "$bin" || { stop_all; exit 1; }
    start_postgres "$bin" || { stop_all; exit 1; }
    print_env "$bin"
    ;;
  env) print_env "$(cd "${2:?usage: $0 env BIN_DIR}" && pwd)" ;;
  stop) stop_all ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
