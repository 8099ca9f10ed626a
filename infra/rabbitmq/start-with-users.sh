#!/usr/bin/env bash
# The broker's entrypoint in compose: starts RabbitMQ as the image would, then (on every start, so
# a changed password takes effect with `docker compose up -d`) gives each service its own user
# with least-privilege permissions on the vhost "/" (docs/decisions/0012-least-privilege.md).
# Passwords come from the environment: <SERVICE>_RABBITMQ_PASSWORD. The operator user is the
# image's RABBITMQ_DEFAULT_USER, which the image creates on the first start only: its password is
# set again here, so RABBITMQ_PASSWORD in .env is the one in force. The permissions are those of
# brokerPermissionsOf() in shared/contracts/src/topology.ts; test/compose.tools.test.ts checks that
# the two agree. The node's Erlang cookie: infra/rabbitmq/with-erlang-cookie.sh.
set -euo pipefail

ready=/tmp/troupe-users-ready
rm -f "$ready"

bash /etc/troupe/with-erlang-cookie.sh docker-entrypoint.sh rabbitmq-server &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server"; exit $?' TERM INT

until rabbitmqctl -q await_startup >/dev/null 2>&1; do
  kill -0 "$server" 2>/dev/null || { wait "$server"; exit $?; }
  sleep 2
done

# A password goes to rabbitmqctl on its standard input, never as an argument (which `ps` shows).
password() { # name password
  printf '%s' "$2" | rabbitmqctl -q change_password "$1" >/dev/null
}
user() { # name password configure write read
  printf '%s' "$2" | rabbitmqctl -q add_user "$1" >/dev/null 2>&1 || password "$1" "$2"
  rabbitmqctl -q set_permissions -p / "$1" "$3" "$4" "$5" >/dev/null
}
password "${RABBITMQ_DEFAULT_USER:?}" "${RABBITMQ_DEFAULT_PASS:?}"
user troupe-order "${ORDER_RABBITMQ_PASSWORD:?}" '^order\..*$' '^order\..*$' '^(order\..*|payment\.events|inventory\.events|notification\.events)$'
user troupe-payment "${PAYMENT_RABBITMQ_PASSWORD:?}" '^payment\..*$' '^payment\..*$' '^(payment\..*|order\.events|inventory\.events)$'
user troupe-inventory "${INVENTORY_RABBITMQ_PASSWORD:?}" '^inventory\..*$' '^inventory\..*$' '^(inventory\..*|payment\.events)$'
user troupe-notification "${NOTIFICATION_RABBITMQ_PASSWORD:?}" '^notification\..*$' '^notification\..*$' '^(notification\..*|payment\.events|inventory\.events)$'
# The observer: configure and write its own queues only, read them and the four fanout exchanges
# (observerPermissions() in shared/contracts): it can see the choreography and cannot take part.
user troupe-observer "${OBSERVER_RABBITMQ_PASSWORD:?}" '^observer\..*$' '^observer\..*$' '^(observer\..*|order\.events|payment\.events|inventory\.events|notification\.events)$'
echo "troupe: service users troupe-order, troupe-payment, troupe-inventory, troupe-notification, troupe-observer ready"
touch "$ready"

wait "$server"
