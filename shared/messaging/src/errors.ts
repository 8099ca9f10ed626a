/**
 * Thrown by a handler when trying again cannot help (a business rule, a bad reference): the
 * message goes to the dead-letter queue at once instead of being retried.
 */
export class PermanentError extends Error {
  override name = 'PermanentError';
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
