import http from 'node:http';
import https from 'node:https';
import { gatewayEntrySchema, type GatewayEntry } from '@troupe/contracts';
import { DependencyError } from '@troupe/messaging';
import { PermanentError } from '@troupe/messaging/domain';
import { TransientGatewayError, type ChargeResult, type PaymentGateway } from '../domain/gateway';

/** The dependency's name in logs, metrics and /readyz. */
export const GATEWAY = 'gateway';

// The gateway cannot be reached at all: its outage, not this charge's problem (decision 0009). A
// connection not made within the call's bound counts as no answer in time (transient).
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
// Answers that say "not now": try again later, under the same key.
const TRY_AGAIN = new Set([408, 429]);
// The longest answer read: the gateway's are a few hundred bytes; a longer one is not its answer.
const MAX_ANSWER_BYTES = 64 * 1024;
// Idle connections are closed before the gateway's own keep-alive timeout (Node's default is
// 5 s), so a call is not sent down a connection the gateway is closing.
const IDLE_SOCKET_MS = 4000;

export interface HttpGatewayOptions {
  url: string;
  timeoutMs: number;
}

interface Answer {
  status: number;
  body: string;
}

/** No answer within the call's bound. */
class CallTimedOut extends Error {}

/**
 * The card gateway over HTTP (services/gateway). Every call carries an idempotency key, so a call
 * repeated for any reason (a timeout whose charge went through, a redelivery after a crash
 * between the answer and COMMIT, a batch run again) charges or refunds once. Failures are
 * classified for the messaging library: unreachable → `DependencyError` (the subscription pauses
 * until `probe` passes); 5xx, 408, 429 or no answer in time → `TransientGatewayError` (retried with
 * backoff); any other 4xx → `PermanentError` (a bug in the request: dead-lettered at once).
 *
 * Calls go through `node:http` on kept-alive connections rather than `fetch`, which took 2 to 3.5
 * times the CPU per call (docs/benchmarks.md, "Small changes"). Redirects are not followed: a
 * gateway's answer is never one, and a 3xx is an unexpected answer (transient).
 */
export function httpGateway({ url, timeoutMs }: HttpGatewayOptions): PaymentGateway & { probe(): Promise<void> } {
  const base = new URL(url);
  const transport = base.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS });

  /**
   * One request, answered in full within `timeoutMs` (connecting, a resend and reading the answer
   * included). A kept-alive connection the gateway closes just as a request reuses it (its
   * keep-alive timeout racing the request) fails the request before any answer: it is sent once
   * more, on another connection, under the same idempotency key.
   */
  const send = (method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      let settled = false;
      let current: http.ClientRequest | undefined;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        outcome();
      };
      const fail = (error: Error) => settle(() => reject(error));
      const attempt = (mayResend: boolean): http.ClientRequest => {
        let answered = false;
        const request = transport.request(new URL(path, base), { method, agent, headers }, (response) => {
          answered = true;
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) request.destroy(new Error(`gateway answered more than ${MAX_ANSWER_BYTES} bytes`));
            else chunks.push(chunk);
          });
          response.on('error', fail);
          response.on('end', () => settle(() => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })));
        });
        request.on('error', (error: NodeJS.ErrnoException) => {
          const stale = mayResend && !answered && request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
          if (stale && !settled) current = attempt(false);
          else fail(error);
        });
        request.end(body);
        return request;
      };
      const deadline = setTimeout(() => {
        const error = new CallTimedOut(`no answer within ${timeoutMs} ms`);
        if (current) current.destroy(error);
        fail(error);
      }, timeoutMs);
      try {
        current = attempt(true);
      } catch (error) {
        // A request Node refuses before sending it (a header it cannot send).
        fail(error as Error);
      }
    });

  const call = async (path: string, idempotencyKey: string, payload: unknown): Promise<GatewayEntry> => {
    const body = JSON.stringify(payload);
    let response: Answer;
    try {
      response = await send('POST', path, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'idempotency-key': idempotencyKey }, body);
    } catch (error) {
      throw classifyFailedCall(error as Error, timeoutMs);
    }
    const answer = parsed(response.body);
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
      const response = await send('GET', '/readyz', {});
      if (response.status < 200 || response.status > 299) throw new Error(`gateway /readyz answered ${response.status}`);
    },
  };
}

function parsed(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function classifyFailedCall(error: Error, timeoutMs: number): Error {
  if (error instanceof CallTimedOut) return new TransientGatewayError(`gateway did not answer within ${timeoutMs} ms`);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE.has(code)) return new DependencyError(GATEWAY, error);
  // Reached but lost mid-call (reset, closed): the charge may or may not have gone through; the
  // retry's idempotency key makes either case safe.
  return new TransientGatewayError(`gateway call failed: ${error.message}`);
}
