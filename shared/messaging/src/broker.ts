/**
 * The connection alone, for a process that watches the broker without the rest of the library
 * (the observer): it recovers by itself across a cluster's nodes and re-runs its setup on every
 * connect. This entry loads amqplib and nothing of the database.
 */
export { BrokerConnection, type BrokerConnectionOptions } from './broker/connection';
export { parseBrokerUrls } from './broker/addresses';
