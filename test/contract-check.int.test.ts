import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contracts } from '../e2e/support/contracts';

// The e2e suites' referee, wired as they use it: fetch wrapped, an origin watched. A real HTTP
// server answers one route wrongly on purpose; the violation must be recorded (and handed to the
// setup file that fails the test), while a right answer and an unwatched origin record nothing.
describe('the contract check around fetch', () => {
  let server: Server;
  let watched: string;
  let unwatched: Server;
  let unwatchedUrl: string;

  const listen = (s: Server) => new Promise<string>((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/healthz') return res.end(JSON.stringify({ status: 'ok' }));
      // What the platform answered before readiness was in the contract: a field it did not have.
      res.end(JSON.stringify({ status: 'ready', checks: { database: true, broker: true, dependencies: {}, subscriptions: [], colour: 'green' } }));
    });
    unwatched = createServer((_req, res) => res.end('anything'));
    watched = await listen(server);
    unwatchedUrl = await listen(unwatched);
    contracts.install();
    contracts.watch(watched, 'payment');
  });

  afterAll(() => {
    server.close();
    unwatched.close();
  });

  it('when a watched service answers as the document says, then nothing is recorded', async () => {
    expect((await fetch(`${watched}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${unwatchedUrl}/readyz`)).text()).toBe('anything');
    expect(await contracts.settle()).toEqual([]);
  });

  it('when a watched service answers with a field the schema forbids, then the caller still gets the answer and the violation names the path, the status and the field', async () => {
    const response = await fetch(`${watched}/readyz`);
    expect(((await response.json()) as { status: string }).status).toBe('ready');
    expect(await contracts.settle()).toEqual([
      'GET /readyz → 200 (payment), declared as GET /readyz 200: body #/checks/colour = "green" fails openapi.json#/components/schemas/Readiness/properties/checks/anyOf/0/additionalProperties',
    ]);
  });
});
