import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';

let sdk: NodeSDK | undefined;

const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'];
const INSTRUMENTATIONS = ['http', 'express', 'pg', 'pino'];

/**
 * Starts OpenTelemetry for a service, configured by the standard OTEL_* variables. Must run
 * before the app loads http, express, pg or pino (hence `node --import ./dist/instrumentation.js`),
 * or the instrumentations have nothing to patch.
 *
 * - OTEL_SERVICE_NAME defaults to the service's name.
 * - No OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT: nothing is exported, but spans and trace ids still
 *   exist, so logs and GET /orders/{id} carry a trace id and context still propagates.
 * - OTEL_NODE_DISABLED_INSTRUMENTATIONS (comma-separated: http, express, pg, pino) turns
 *   instrumentations off, e.g. `pg` for no span per SQL statement.
 * - Metrics and logs are never exported over OTLP unless asked for explicitly: Prometheus
 *   scrapes /metrics, and a traces-only backend (Jaeger) rejects /v1/metrics and /v1/logs.
 */
export function startTelemetry(serviceName: string, env: NodeJS.ProcessEnv = process.env): void {
  if (sdk) return;
  env.OTEL_SERVICE_NAME ||= serviceName;
  env.OTEL_METRICS_EXPORTER ||= 'none';
  env.OTEL_LOGS_EXPORTER ||= 'none';
  const protocolVariable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[protocolVariable] || 'http/protobuf';
  if (!PROTOCOLS.includes(protocol)) {
    process.stderr.write(`invalid configuration:\n  ${protocolVariable}: must be one of ${PROTOCOLS.join(', ')} (got ${protocol})\n`);
    process.exit(1);
  }
  // As in @opentelemetry/auto-instrumentations-node: names without the package prefix.
  const disabled = (env.OTEL_NODE_DISABLED_INSTRUMENTATIONS ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = disabled.filter((name) => !INSTRUMENTATIONS.includes(name));
  if (unknown.length > 0) {
    process.stderr.write(`invalid configuration:\n  OTEL_NODE_DISABLED_INSTRUMENTATIONS: ${unknown.join(', ')} is not one of ${INSTRUMENTATIONS.join(', ')}\n`);
    process.exit(1);
  }
  const enabled = (name: string) => ({ enabled: !disabled.includes(name) });
  const exporting = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_TRACES_EXPORTER !== 'none';
  sdk = new NodeSDK({
    ...(exporting ? {} : { spanProcessors: [new tracing.NoopSpanProcessor()] }),
    instrumentations: [
      new HttpInstrumentation({
        ...enabled('http'),
        ignoreIncomingRequestHook: (request) => /^\/(healthz|readyz|metrics)\b/.test(request.url ?? ''),
      }),
      // The HTTP server span (named after the route) says what a request did; a span per
      // middleware (json parser, logger, …) is noise at a cost on every request.
      new ExpressInstrumentation({ ...enabled('express'), ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
      // Only queries inside a traced operation (a request or a message), not the pollers'.
      new PgInstrumentation({ ...enabled('pg'), requireParentSpan: true, ignoreConnectSpans: true }),
      // Adds trace_id, span_id and trace_flags to every log line written inside a span.
      new PinoInstrumentation(enabled('pino')),
    ],
  });
  sdk.start();
}

/** Flushes the spans still batched; call last on shutdown. A no-op if telemetry never started. */
export async function shutdownTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown().catch(() => undefined);
}
