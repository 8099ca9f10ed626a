import type { ServiceChecks, ServiceName } from '@troupe/contracts';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Subscription } from './consume/handler';
import type { Dependency } from './outages/outages';
import type { RetryPolicy } from './retry-policy';

/** What a service gives `Messaging`: its name, broker, database and subscriptions, and the knobs with their defaults. */
export interface MessagingOptions {
  service: ServiceName;
  /** amqp(s):// URL of the broker, or of each node of a cluster, comma-separated (see `parseBrokerUrls`). */
  url: string;
  /** This service's database: the inbox and outbox live beside its own tables. */
  pool: Pool;
  logger: Logger;
  registry?: Registry;
  /** Everything this service consumes (see `subscribe`). */
  subscriptions?: readonly Subscription[];
  /** Unacked messages the broker may push to each consumer. */
  prefetch?: number;
  /** Most messages handled in one transaction (defaults to `prefetch`). */
  maxBatch?: number;
  /** Transactions in flight at most for the whole service; one order's messages stay in sequence. */
  concurrency?: number;
  /** How long the running transactions go without handling a message before another may start beside them (see `BatchQueue`; default 0). */
  spreadAfterMs?: number;
  retry?: RetryPolicy;
  /** Deliveries after which the broker itself dead-letters a message (crash-loop backstop). */
  deliveryLimit?: number;
  /** Give up (and call `onFatal`) when the broker has been unreachable this long. */
  giveUpAfterMs?: number;
  /** Longest wait for a publish's confirm; past it the broker counts as away (see `ConfirmPublisher`). */
  confirmTimeoutMs?: number;
  /** Largest message body handled; a bigger one is dead-lettered without being parsed (see `decodeWithin`). */
  maxMessageBytes?: number;
  /** AMQP heartbeat, so a dead TCP peer is noticed in seconds rather than minutes. */
  heartbeatSeconds?: number;
  /** Outbox relay safety-net poll interval. */
  outboxPollIntervalMs?: number;
  /** Age after which the safety-net poll takes an outbox row nobody published (see `OutboxRelay`). */
  outboxSweepAfterMs?: number;
  /**
   * What handlers need besides the broker and this service's database (which is always probed),
   * e.g. an SMTP server: on a `DependencyError` naming one, the subscriptions that hit it pause
   * until its probe passes (decision 0009).
   */
  dependencies?: readonly Dependency[];
  /** Longest wait between two probes of a dependency that is away. */
  probeMaxDelayMs?: number;
  /** Called once when reconnecting has been given up: the process should exit non-zero. */
  onFatal: (error: Error) => void;
}

/**
 * The broker's side of a service's readiness (GET /readyz's checks, less the database): whether
 * it is connected and to which node, the dependencies found away by the handlers and for how
 * long (see `Outages`), and each subscription. Typed from the contract the answer is published with.
 */
export type MessagingStatus = Omit<ServiceChecks, 'database'>;
