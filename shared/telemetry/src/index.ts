import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';

let sdk: NodeSDK | undefined;

const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'];
const INSTRUMENTATIONS = ['http', 'express', 'pg', 'pino'] as const;
type Instrumentation = (typeof INSTRUMENTATIONS)[number];
/**
 * Without OTEL_NODE_ENABLED_INSTRUMENTATIONS, a span per SQL statement (`pg`) is off: those were
 * about 25 of every order's 40 spans and 60% of the bytes exported, for detail a trace does not
 * need to show every hop (decision 0016).
 */
const DEFAULT_ENABLED: Instrumentation[] = ['http', 'express', 'pino'];

/**
 * Starts OpenTelemetry for a service, configured by the standard OTEL_* variables. Must run
 * before the app loads http, express, pg or pino (hence `node --import ./dist/instrumentation.js`),
 * or the instrumentations have nothing to patch.
 *
 * - OTEL_SERVICE_NAME defaults to the service's name.
 * - No OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT: nothing is exported, but spans and trace ids still
 *   exist, so logs and GET /orders/{id} carry a trace id and context still propagates.
 * - OTEL_NODE_ENABLED_INSTRUMENTATIONS (comma-separated: http, express, pg, pino) says which
 *   instrumentations are on (default http, express, pino: `pg`, a span per SQL statement, is off);
 *   OTEL_NODE_DISABLED_INSTRUMENTATIONS then turns some of those off: the names and precedence of
 *   @opentelemetry/auto-instrumentations-node (one named in both is off), but a name troupe does
 *   not have stops the service instead of being ignored.
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
  const on = instrumentationsOn(env);
  if (typeof on === 'string') {
    process.stderr.write(`invalid configuration:\n  ${on}\n`);
    process.exit(1);
  }
  const exporting = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_TRACES_EXPORTER !== 'none';
  // An instrumentation that is off is left out: one constructed with `enabled: false` is still
  // enabled when the SDK registers it.
  const instrumentations = {
    // Requests served, not made: the one call a service makes over `node:http` is payment's to the
    // card gateway, an outside system whose time the payment's process span already holds (and
    // which a real gateway would not join troupe's traces for).
    http: () =>
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => /^\/(healthz|readyz|metrics)\b/.test(request.url ?? ''),
        disableOutgoingRequestInstrumentation: true,
      }),
    // The HTTP server span (named after the route) says what a request did; a span per
    // middleware (json parser, logger, …) is noise at a cost on every request.
    express: () => new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
    // Only queries inside a traced operation (a request or a message), not the pollers'.
    pg: () => new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    // Adds trace_id, span_id and trace_flags to every log line written inside a span. Sending
    // each record to the OpenTelemetry logs API as well (a second stream that parses every line
    // again) only when something exports logs: with OTEL_LOGS_EXPORTER=none it is work for nothing.
    pino: () => new PinoInstrumentation({ disableLogSending: !logsExported(env) }),
  } satisfies Record<Instrumentation, () => unknown>;
  sdk = new NodeSDK({
    ...(exporting ? {} : { spanProcessors: [new tracing.NoopSpanProcessor()] }),
    instrumentations: on.map((name) => instrumentations[name]()),
  });
  sdk.start();
}

/**
 * Whether the SDK exports logs, read as it reads OTEL_LOGS_EXPORTER once `startTelemetry` has set
 * its default: a comma-separated list, and none at all if `none` is in it.
 */
export function logsExported(env: NodeJS.ProcessEnv): boolean {
  const names = (env.OTEL_LOGS_EXPORTER ?? 'none').split(',').map((name) => name.trim()).filter(Boolean);
  return names.length > 0 && !names.includes('none');
}

/**
 * The instrumentations OTEL_NODE_ENABLED_INSTRUMENTATIONS and OTEL_NODE_DISABLED_INSTRUMENTATIONS
 * leave on (names without the package prefix, as in @opentelemetry/auto-instrumentations-node),
 * or what is wrong with them.
 */
export function instrumentationsOn(env: NodeJS.ProcessEnv): Instrumentation[] | string {
  const known = (name: string): name is Instrumentation => (INSTRUMENTATIONS as readonly string[]).includes(name);
  const listed = (variable: string): Instrumentation[] | string => {
    const names = (env[variable] ?? '').split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = names.filter((name) => !known(name));
    return unknown.length > 0 ? `${variable}: ${unknown.join(', ')} is not one of ${INSTRUMENTATIONS.join(', ')}` : [...new Set(names.filter(known))];
  };
  const enabled = listed('OTEL_NODE_ENABLED_INSTRUMENTATIONS');
  if (typeof enabled === 'string') return enabled;
  const disabled = listed('OTEL_NODE_DISABLED_INSTRUMENTATIONS');
  if (typeof disabled === 'string') return disabled;
  // Unset, or a list with no name in it: the default.
  return (enabled.length > 0 ? enabled : DEFAULT_ENABLED).filter((name) => !disabled.includes(name));
}

/** Flushes the spans still batched; call last on shutdown. A no-op if telemetry never started. */
export async function shutdownTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown().catch(() => undefined);
}
