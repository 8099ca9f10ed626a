// Loads nothing: domain code imports these through `@troupe/messaging/domain`, without amqplib or pg.

/**
 * Thrown by a handler when trying again cannot help (a business rule, a bad reference): the
 * message goes to the dead-letter queue at once instead of being retried.
 */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

/**
 * Something a handler needs is away (its database, an SMTP server, an API): not the message's
 * fault, so it spends none of the message's attempts. Wrap an outside dependency's connection
 * failures in it, naming the dependency (and give `Messaging` a probe of the same name).
 */
export class DependencyError extends Error {
  override name = 'DependencyError';
  constructor(
    readonly dependency: string,
    cause: unknown,
  ) {
    super(`${dependency} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The broker is not connected right now; the caller should back off and try again. */
export class BrokerUnavailableError extends Error {
  override name = 'BrokerUnavailableError';
}

/** The broker confirmed the message but no queue took it (docs/design.md "Topology"). */
export class UnroutableError extends Error {
  override name = 'UnroutableError';
}

export const errorMessage = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);
