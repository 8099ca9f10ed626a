import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// A process started as a service starts (telemetry first, then the libraries it patches), asked
// which libraries ended up patched.
const SERVICE_DIR = join(__dirname, '..', '..', '..', 'services', 'order');
const PROBE = `
  require('@troupe/telemetry').startTelemetry('probe');
  console.log(JSON.stringify({
    pg: Boolean(require('pg').Client.prototype.query.__wrapped),
    http: Boolean(require('node:http').Server.prototype.emit.__wrapped),
    httpClient: Boolean(require('node:http').request.__wrapped),
  }));`;

/** Which of pg, the HTTP server (requests served) and the HTTP client (requests made) are patched. */
async function patched(env: Record<string, string>): Promise<{ pg: boolean; http: boolean }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', PROBE], {
    cwd: SERVICE_DIR,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  const { httpClient, ...rest } = JSON.parse(stdout) as { pg: boolean; http: boolean; httpClient: boolean };
  // Requests made are never traced (payment's calls to the card gateway, an outside system).
  expect(httpClient).toBe(false);
  return rest;
}

describe('instrumentations a service starts with', () => {
  it('when nothing is set, then http is instrumented and pg is not (no span per SQL statement)', async () => {
    expect(await patched({})).toEqual({ pg: false, http: true });
  });

  it('when OTEL_NODE_ENABLED_INSTRUMENTATIONS names pg, then pg is instrumented too (a span per SQL statement)', async () => {
    expect(await patched({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,express,pg,pino' })).toEqual({ pg: true, http: true });
  });

  it('when OTEL_NODE_DISABLED_INSTRUMENTATIONS names one, then it is not instrumented at all', async () => {
    expect(await patched({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,pg', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http' })).toEqual({ pg: true, http: false });
  });
});
