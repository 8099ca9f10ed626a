#!/usr/bin/env bash
# Runs the command given (the broker) once the nodes' shared Erlang cookie is where the server and
# the CLI tools read it: $HOME/.erlang.cookie, HOME being /var/lib/rabbitmq in the image (root's
# own ~/.erlang.cookie is a link to it, so the health checks read it too). It comes from compose's
# secret /run/secrets/rabbitmq-erlang-cookie (generated into .env by `make env`), never from a
# command line or the environment: an -setcookie argument is in every `ps` listing, and
# RABBITMQ_ERLANG_COOKIE is deprecated. Erlang refuses a cookie file that anyone but its owner can
# read, so it is the rabbitmq user's, mode 400. Written on every start: a changed cookie takes effect
# with `docker compose up -d`.
set -euo pipefail

secret=/run/secrets/rabbitmq-erlang-cookie
[[ -s "$secret" ]] || { echo "no Erlang cookie in $secret: run make env (or make up) to generate .env" >&2; exit 1; }
install -m 400 -o rabbitmq -g rabbitmq "$secret" /var/lib/rabbitmq/.erlang.cookie
exec "$@"
