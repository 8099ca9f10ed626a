import { DependencyError, PermanentError } from '../errors';

/**
 * The three kinds of failure (decision 0009): the handler's own (spends an attempt, retried with
 * backoff), permanent (dead-lettered at once), and a dependency's (spends nothing: the
 * subscription pauses until the dependency answers again).
 */
export type FailureClass = { kind: 'handler' } | { kind: 'permanent' } | { kind: 'dependency'; dependency: string };

export const DATABASE = 'database';
export const BROKER = 'broker';

// SQLSTATEs that say the server, not the statement, is the problem: connection exceptions (08xxx),
// admin or crash shutdown (57P01-57P03), a read-only server or database (25006), no connection
// slot left (53300).
const DATABASE_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '25006', '53300']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
// node-postgres reports a lost or unobtainable connection in words, without a code.
const DATABASE_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /^Query read timeout$/,
  /is not queryable/,
  /database ".*" is not currently accepting connections/,
  /the database system is (starting up|shutting down|in recovery mode)/,
];

export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof PermanentError) return { kind: 'permanent' };
  if (error instanceof DependencyError) return { kind: 'dependency', dependency: error.dependency };
  if (!(error instanceof Error)) return { kind: 'handler' };
  if (isBrokerFailure(error)) return { kind: 'dependency', dependency: BROKER };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (DATABASE_UNAVAILABLE.has(code) || code.startsWith('08') || NETWORK_CODES.has(code))) {
    return { kind: 'dependency', dependency: DATABASE };
  }
  if (DATABASE_MESSAGES.some((pattern) => pattern.test(error.message))) return { kind: 'dependency', dependency: DATABASE };
  return { kind: 'handler' };
}

/** Which dependency `error` says is away, if any (for HTTP: 503 instead of 500). */
export function unavailableDependency(error: unknown): string | undefined {
  const failure = classifyFailure(error);
  return failure.kind === 'dependency' ? failure.dependency : undefined;
}

// amqplib's "Channel closed" / "Connection closed" (IllegalOperationError) and our own.
function isBrokerFailure(error: Error): boolean {
  return error.name === 'BrokerUnavailableError' || (error.name === 'IllegalOperationError' && /(Channel|Connection) (closed|ended)/.test(error.message));
}
