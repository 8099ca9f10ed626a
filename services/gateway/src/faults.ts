import { Faults } from '@troupe/platform';

/**
 * The gateway's fault switches (off by default; docs/decisions/0010): a share of charge and
 * refund requests answered 503 before anything is charged, and a delay before every answer.
 */
export const gatewayFaults = () =>
  new Faults({
    gatewayFailureRate: { description: 'Share of charge and refund requests the gateway answers 503 before charging anything (the caller retries)', min: 0, max: 1, defaultValue: 0, unit: 'ratio' },
    gatewayLatencyMs: { description: 'Time the gateway takes before answering each charge and refund', min: 0, max: 10_000, defaultValue: 0, unit: 'ms' },
  });

export type GatewayFaults = ReturnType<typeof gatewayFaults>;
