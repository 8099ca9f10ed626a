import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import { contracts } from './contracts';

/**
 * The e2e project's setup file: every answer and message the suites see is checked against the
 * published documents (see contracts.ts). A test during which one broke them fails when it ends,
 * with every violation; one found outside a test (starting the services) fails the file.
 */
contracts.install();

const failIfAny = (found: string[], during: string) => {
  if (found.length > 0) throw new Error(`${found.length} answer(s) or message(s) broke the published contracts ${during}:\n  ${found.join('\n  ')}`);
};

const outside: string[] = [];

beforeEach(async () => {
  outside.push(...(await contracts.settle()));
});

afterEach(async () => failIfAny(await contracts.settle(), 'during this test'));

afterAll(async () => {
  outside.push(...(await contracts.settle()));
  await contracts.writeCoverage(expect.getState().testPath ?? 'unknown');
  failIfAny(outside, 'outside its tests (setting up or tearing down)');
});
