import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DependencyError } from '@troupe/messaging';
import { PermanentError } from '@troupe/messaging/domain';
import { freePort } from '@troupe/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { httpGateway } from '../src/adapters/http-gateway';
import { TransientGatewayError } from '../src/domain/gateway';

// The adapter against real HTTP servers that answer as the card gateway can go wrong: what each
// answer becomes for the messaging library. The real gateway's answers are in payment.int.test.ts.
const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const entry = (orderId: string) => ({
  id: '8d3c5b3e-4b7e-4a43-9a57-3c1f1f9d0c11',
  kind: 'charge',
  idempotencyKey: orderId,
  orderId,
  amountCents: 1000,
  currency: 'EUR',
  outcome: 'approved',
  declineReason: null,
  createdAt: new Date().toISOString(),
});

/** A server answering each request with `answer`; returns its URL and the requests it saw. */
async function serve(answer: (request: http.IncomingMessage, body: string, response: http.ServerResponse) => void) {
  const seen: { method?: string; url?: string; key?: string; body: string }[] = [];
  const connections: Socket[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({ method: request.method, url: request.url, key: request.headers['idempotency-key'] as string | undefined, body });
      answer(request, body, response);
    });
  });
  server.on('connection', (socket: Socket) => connections.push(socket));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, connections };
}

const json = (response: http.ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

/** The gateway's approval of the charge in `body`. */
const approve = (response: http.ServerResponse, body: string) => json(response, 201, entry((JSON.parse(body) as { orderId: string }).orderId));

const aCharge = { orderId: 'order-1', token: 'tok_visa', amountCents: 1000, currency: 'EUR' };

describe('the card gateway over HTTP', () => {
  it('when the gateway approves, then the charge is approved, sent once with the order id as its idempotency key', async () => {
    const { url, seen } = await serve((_, body, response) => approve(response, body));
    expect(await httpGateway({ url, timeoutMs: 1000 }).charge(aCharge)).toEqual({ approved: true });
    expect(seen).toEqual([{ method: 'POST', url: '/charges', key: 'order-1', body: JSON.stringify({ orderId: 'order-1', amountCents: 1000, currency: 'EUR', token: 'tok_visa' }) }]);
  });

  it('when the gateway closes a kept-alive connection as a call reuses it, then the call is sent again on a new connection, under the same key', async () => {
    // Each connection serves one request; the second on it is dropped (the race of a keep-alive
    // timeout with a call on its way), after the gateway has read it.
    const served = new WeakSet<Socket>();
    const { url, seen, connections } = await serve((request, body, response) => {
      if (served.has(request.socket)) return void request.socket.destroy();
      served.add(request.socket);
      approve(response, body);
    });
    const gateway = httpGateway({ url, timeoutMs: 1000 });
    expect(await gateway.charge({ ...aCharge, orderId: 'order-a' })).toEqual({ approved: true });
    expect(await gateway.charge({ ...aCharge, orderId: 'order-b' })).toEqual({ approved: true });
    expect(seen.map((s) => s.key)).toEqual(['order-a', 'order-b', 'order-b']);
    expect(connections).toHaveLength(2);
  });

  it('when a reused connection is lost after the answer began, then the call is not sent again: it fails, transient', async () => {
    const served = new WeakSet<Socket>();
    const { url, seen } = await serve((request, body, response) => {
      const { orderId } = JSON.parse(body) as { orderId: string };
      if (!served.has(request.socket) || orderId !== 'order-b') {
        served.add(request.socket);
        return json(response, 201, entry(orderId));
      }
      response.writeHead(201, { 'content-type': 'application/json' });
      response.write('{"id":', () => request.socket.resetAndDestroy());
    });
    const gateway = httpGateway({ url, timeoutMs: 1000 });
    expect(await gateway.charge({ ...aCharge, orderId: 'order-a' })).toEqual({ approved: true });
    await expect(gateway.charge({ ...aCharge, orderId: 'order-b' })).rejects.toBeInstanceOf(TransientGatewayError);
    // A call after it, answered: a resend of order-b, had there been one, was sent before it.
    expect(await gateway.charge({ ...aCharge, orderId: 'order-c' })).toEqual({ approved: true });
    expect(seen.map((s) => s.key).filter((key) => key === 'order-b')).toHaveLength(1);
  });

  it('when the call sent again gets no answer either, then it fails once the one bound for the whole call is up', async () => {
    const served = new WeakSet<Socket>();
    const { url, seen } = await serve((request, body, response) => {
      if (!served.has(request.socket)) {
        served.add(request.socket);
        // The first call answered; the second, sent again on a new connection, never is.
        if (seen.length === 1) approve(response, body);
        return;
      }
      request.socket.destroy();
    });
    const gateway = httpGateway({ url, timeoutMs: 300 });
    expect(await gateway.charge({ ...aCharge, orderId: 'order-a' })).toEqual({ approved: true });
    const started = performance.now();
    await expect(gateway.charge({ ...aCharge, orderId: 'order-b' })).rejects.toEqual(new TransientGatewayError('gateway did not answer within 300 ms'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(performance.now() - started).toBeLessThan(600);
    expect(seen.map((s) => s.key)).toEqual(['order-a', 'order-b', 'order-b']);
  });

  it('when a new connection is dropped, then the call is not sent again: it fails, transient', async () => {
    const { url, seen } = await serve((request) => void request.socket.destroy());
    await expect(httpGateway({ url, timeoutMs: 1000 }).charge(aCharge)).rejects.toEqual(new TransientGatewayError('gateway call failed: socket hang up'));
    expect(seen).toHaveLength(1);
  });

  it('when the gateway answers 503, 408 or 429, then the call is transient (retried under the same key)', async () => {
    for (const status of [503, 408, 429]) {
      const { url } = await serve((_, __, response) => json(response, status, { error: `busy ${status}` }));
      await expect(httpGateway({ url, timeoutMs: 1000 }).charge(aCharge)).rejects.toEqual(new TransientGatewayError(`busy ${status}`));
    }
  });

  it('when the gateway answers 503 naming a dependency of its own, then it is the gateway outage (a DependencyError)', async () => {
    const { url } = await serve((_, __, response) => json(response, 503, { error: 'database unavailable', dependency: 'database' }));
    await expect(httpGateway({ url, timeoutMs: 1000 }).charge(aCharge)).rejects.toBeInstanceOf(DependencyError);
  });

  it('when the gateway refuses the request with a 4xx, then the call is permanent, naming the status and reason', async () => {
    const { url } = await serve((_, __, response) => json(response, 422, { error: 'amountCents: too small' }));
    await expect(httpGateway({ url, timeoutMs: 1000 }).charge(aCharge)).rejects.toEqual(new PermanentError('gateway refused /charges (422): amountCents: too small'));
  });

  it('when the gateway answers 201 with a body that is not an entry, then the call is transient', async () => {
    const { url } = await serve((_, __, response) => json(response, 201, { ok: true }));
    await expect(httpGateway({ url, timeoutMs: 1000 }).charge(aCharge)).rejects.toEqual(new TransientGatewayError('gateway answered 201 with an unexpected body'));
  });

  it('when the answer is longer than any gateway answer, then reading stops and the call is transient', async () => {
    const { url } = await serve((_, __, response) => {
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(`{"padding":"${'x'.repeat(1024 * 1024)}"}`);
    });
    await expect(httpGateway({ url, timeoutMs: 1000 }).charge(aCharge)).rejects.toEqual(new TransientGatewayError('gateway call failed: gateway answered more than 65536 bytes'));
  });

  it('when the gateway sends its headers but not the rest of the answer in time, then the call is transient after the timeout', async () => {
    const { url } = await serve((_, __, response) => {
      response.writeHead(201, { 'content-type': 'application/json' });
      response.write('{"id":');
    });
    const started = performance.now();
    await expect(httpGateway({ url, timeoutMs: 300 }).charge(aCharge)).rejects.toEqual(new TransientGatewayError('gateway did not answer within 300 ms'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('when nothing listens at the URL, then the call is the gateway outage (a DependencyError) and the probe fails', async () => {
    const gateway = httpGateway({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 1000 });
    await expect(gateway.charge(aCharge)).rejects.toBeInstanceOf(DependencyError);
    await expect(gateway.probe()).rejects.toThrow(/ECONNREFUSED/);
  });

  it('when /readyz answers 503, then the probe fails naming the status; when it answers 200, then it passes', async () => {
    let ready = false;
    const { url } = await serve((_, __, response) => json(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' }));
    const gateway = httpGateway({ url, timeoutMs: 1000 });
    await expect(gateway.probe()).rejects.toThrow('gateway /readyz answered 503');
    ready = true;
    await expect(gateway.probe()).resolves.toBeUndefined();
  });
});
