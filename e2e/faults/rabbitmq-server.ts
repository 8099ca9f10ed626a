/**
 * The `rabbitmq-server` that fault tests start their own nodes with: RABBITMQ_SERVER when set (CI
 * points it at RabbitMQ 4, see scripts/test-servers.sh), else the host's Debian install. Its
 * `rabbitmqctl` is the one first on PATH.
 */
export const RABBITMQ_SERVER = process.env.RABBITMQ_SERVER ?? '/usr/lib/rabbitmq/bin/rabbitmq-server';
