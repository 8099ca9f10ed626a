#!/usr/bin/env bash
# Prints where everything `docker compose up` started can be reached (used by `make up`).
# The ports are the ones published in docker-compose.yml, all on 127.0.0.1 only;
# test/compose.tools.test.ts checks that every published port is listed here.
set -euo pipefail

cat <<URLS
troupe's addresses (published on 127.0.0.1 only; \`docker compose ps\` shows what is healthy):

  The page         http://127.0.0.1:8080    place orders, watch each one travel through the four services

  Services
    order          http://127.0.0.1:3000    POST /orders, GET /orders/{id}
    payment        http://127.0.0.1:3001
    inventory      http://127.0.0.1:3002    GET /stock/{sku}
    notification   http://127.0.0.1:3003    GET /notifications?orderId={id}
    gateway        http://127.0.0.1:3004    the card gateway: GET /ledger?orderId={id} (operator)
    observer       http://127.0.0.1:3005    the choreography seen whole: GET /map, GET /invariants (operator)
    (each also serves /healthz, /readyz and /metrics; an operator's reads, GET /orders,
    /failed-attempts?orderId= and the ledger, need Authorization: Bearer <OPERATOR_READ_TOKEN>,
    from .env)

  Look inside
    RabbitMQ       http://127.0.0.1:15672   user troupe, password RABBITMQ_PASSWORD in .env
    Mailpit        http://127.0.0.1:8025    the emails the customers got
    Jaeger         http://127.0.0.1:16686   one trace per order
    Prometheus     http://127.0.0.1:9090
    Grafana        http://127.0.0.1:3030    dashboard "troupe workflow"; anonymous viewing, admin / GRAFANA_ADMIN_PASSWORD in .env

  For tools and services run on the host
    AMQP           amqp://troupe:<RABBITMQ_PASSWORD>@127.0.0.1:5672
    Postgres       postgres://postgres:<POSTGRES_PASSWORD>@127.0.0.1:5432/<service>
    OTLP           http://127.0.0.1:4318 (HTTP), 127.0.0.1:4317 (gRPC), into Jaeger
    RabbitMQ       http://127.0.0.1:15692/metrics   Prometheus format (/metrics/per-object: per queue)
URLS
