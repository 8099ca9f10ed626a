import { gatewayEntrySchema, type GatewayEntry } from '@troupe/contracts';
import { DependencyError } from '@troupe/messaging';
import { PermanentError } from '@troupe/messaging/domain';
import { TransientGatewayError, type ChargeResult, type PaymentGateway } from '../domain/gateway';

/** The dependency's name in logs, metrics and /readyz. */
export const GATEWAY = 'gateway';

// The gateway cannot be reached at all: its outage, not this charge's problem (decision 0009).
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
// Answers that say "not now": try again later, under the same key.
const TRY_AGAIN = new Set([408, 429]);

export interface HttpGatewayOptions {
  url: string;
  timeoutMs: number;
}

/**
 * The card gateway over HTTP (services/gateway). Every call carries an idempotency key, so a call
 * repeated for any reason (a timeout whose charge went through, a redelivery after a crash
 * between the answer and COMMIT, a batch run again) charges or refunds once. Failures are
 * classified for the messaging library: unreachable → `DependencyError` (the subscription pauses
 * until `probe` passes); 5xx, 408, 429 or no answer in time → `TransientGatewayError` (retried with
 * backoff); any other 4xx → `PermanentError` (a bug in the request: dead-lettered at once).
 */
export function httpGateway({ url, timeoutMs }: HttpGatewayOptions): PaymentGateway & { probe(): Promise<void> } {
  const call = async (path: string, idempotencyKey: string, body: unknown): Promise<GatewayEntry> => {
    let response: Response;
    try {
      response = await fetch(new URL(path, url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Idempotency-Key': idempotencyKey },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw classifyFailedCall(error, timeoutMs);
    }
    const answer = (await response.json().catch(() => undefined)) as unknown;
    const said = (answer as { error?: unknown } | undefined)?.error;
    const reason = typeof said === 'string' ? said : `HTTP ${response.status}`;
    // A 503 naming a dependency of the gateway's own (its database) is the gateway's outage, as
    // an unreachable gateway is: the subscription pauses, no attempt is spent.
    if (response.status === 503 && typeof (answer as { dependency?: unknown } | undefined)?.dependency === 'string') {
      throw new DependencyError(GATEWAY, new Error(reason));
    }
    if (response.status >= 500 || TRY_AGAIN.has(response.status)) throw new TransientGatewayError(reason);
    if (response.status >= 400) throw new PermanentError(`gateway refused ${path} (${response.status}): ${reason}`);
    const entry = gatewayEntrySchema.safeParse(answer);
    if (!entry.success) throw new TransientGatewayError(`gateway answered ${response.status} with an unexpected body`);
    return entry.data;
  };

  return {
    async charge({ orderId, token, amountCents, currency }): Promise<ChargeResult> {
      // The order id is the charge's key: however often this order is charged, the card is charged once.
      const entry = await call('/charges', orderId, { orderId, amountCents, currency, token });
      return entry.outcome === 'approved' ? { approved: true } : { approved: false, reason: entry.declineReason ?? 'declined' };
    },
    async refund({ orderId, amountCents, currency }): Promise<void> {
      await call('/refunds', `refund:${orderId}`, { orderId, amountCents, currency });
    },
    async probe(): Promise<void> {
      // Ready, not only alive: a gateway whose database is away answers /healthz but charges nothing.
      const response = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`gateway /readyz answered ${response.status}`);
    },
  };
}

function classifyFailedCall(error: unknown, timeoutMs: number): Error {
  if ((error as { name?: unknown }).name === 'TimeoutError') return new TransientGatewayError(`gateway did not answer within ${timeoutMs} ms`);
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code === 'string' && UNREACHABLE.has(code)) return new DependencyError(GATEWAY, error);
  // Reached but lost mid-call (reset, closed): the charge may or may not have gone through; the
  // retry's idempotency key makes either case safe.
  const cause = (error as { cause?: { message?: unknown } }).cause?.message;
  return new TransientGatewayError(`gateway call failed: ${typeof cause === 'string' ? cause : (error as Error).message}`);
}
