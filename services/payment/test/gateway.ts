import type { GatewayEntry } from '@troupe/contracts';
import { createLogger } from '@troupe/platform';
import { createTestDatabase, type TestDatabase } from '@troupe/testing';
import { startHarness, type Harness } from '@troupe/service-harness';
import { inject } from 'vitest';
import { loadConfig } from '../../gateway/src/config';
import { startGateway, type RunningGateway } from '../../gateway/src/main';
import { loadConfig as loadPaymentConfig, type Config } from '../src/config';
import { paymentService } from '../src/main';

export const GATEWAY_ADMIN_TOKEN = 'test-gateway-admin-token-0123';

export interface TestGateway {
  url: string;
  /** Every charge and refund the gateway holds for the order. */
  ledger(orderId: string): Promise<GatewayEntry[]>;
  /** PUT /admin/faults; returns the status. */
  setFaults(change: Record<string, number>): Promise<number>;
  /** Stops it (its port closes: calls are refused) and starts it again on the same port and ledger. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and drops its database. */
  remove(): Promise<void>;
}

/** The real card gateway (services/gateway), in this process, on a database of its own. */
export async function startTestGateway(label: string): Promise<TestGateway> {
  const database: TestDatabase = await createTestDatabase(inject('databaseUrl'), `${label}_gateway`, inject('access').gateway);
  let port = 0;
  let running: RunningGateway | undefined;
  const start = async () => {
    running = await startGateway(
      loadConfig({ DATABASE_URL: database.url, PORT: String(port), ADMIN_TOKEN: GATEWAY_ADMIN_TOKEN, LOG_LEVEL: 'silent' }),
      createLogger('gateway', 'silent'),
    );
    port = running.port;
  };
  await start();
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await running?.stop();
    running = undefined;
  };
  return {
    url,
    async ledger(orderId) {
      // The admin token reads what an operator may (docs/decisions/0029).
      const response = await fetch(`${url}/ledger?orderId=${orderId}`, { headers: { authorization: `Bearer ${GATEWAY_ADMIN_TOKEN}` } });
      return ((await response.json()) as { entries: GatewayEntry[] }).entries;
    },
    async setFaults(change) {
      const response = await fetch(`${url}/admin/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${GATEWAY_ADMIN_TOKEN}` },
        body: JSON.stringify(change),
      });
      return response.status;
    },
    stop,
    start,
    async remove() {
      await stop();
      await database.drop();
    },
  };
}

/** The payment service under test (its harness) calling a gateway of its own. */
export async function startPaymentWithGateway(label: string, env: Record<string, string>): Promise<{ payment: Harness<Config>; gateway: TestGateway }> {
  const gateway = await startTestGateway(label);
  const payment = await startHarness({ label, loadConfig: loadPaymentConfig, service: paymentService, publishesOn: 'payment.events', env: { GATEWAY_URL: gateway.url, ...env } });
  return { payment, gateway };
}
