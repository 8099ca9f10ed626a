import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import express, { type ErrorRequestHandler, type Express, type Request, type Response, type NextFunction } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ZodError } from 'zod';
import { METRIC, type ErrorBody, type Health, type Readiness as ReadinessBody } from '@troupe/contracts';

/** How long a client should wait before trying again while a dependency is away. */
export const RETRY_AFTER_SECONDS = 5;

/** Whether the process is ready, and its checks as GET /readyz publishes them (`readinessSchema`). */
export interface Readiness {
  ready: boolean;
  checks: ReadinessBody['checks'];
}

export interface HttpAppOptions {
  logger: Logger;
  registry: Registry;
  readiness: () => Promise<Readiness>;
  /**
   * Whether this replica can take requests, whatever its other dependencies say (GET
   * /readyz/requests, the Kubernetes readiness probe of a service whose requests need only its
   * database); unset: no such route.
   */
  requestReadiness?: () => Promise<Readiness>;
  /** Largest JSON body accepted (bytes); larger is 413. */
  bodyLimitBytes?: number;
  routes: (app: Express) => void;
  /**
   * Names the dependency (database, broker, …) an error says is away, if it says so: the request
   * is then answered 503 with Retry-After (decision 0009). Without it every error is the request's
   * or the server's own.
   */
  unavailableDependency?: (error: unknown) => string | undefined;
}

/** An HTTP error the client can act on: `status`, a JSON body `{ error, details? }`, and any headers the status calls for. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: ErrorBody['details'],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** A 400 naming each invalid field: `{ error, details: [{ field, message }] }`. */
export function validationError(error: ZodError): HttpError {
  const details = error.issues.flatMap((issue) => {
    // An unknown key is reported against the key itself, not its parent object.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys.map((key) => ({
      field: [...issue.path, ...(key === undefined ? [] : [key])].join('.') || '(body)',
      message: key === undefined ? issue.message : 'unknown field',
    }));
  });
  const first = details[0];
  return new HttpError(400, first ? `invalid request: ${first.field}: ${first.message}` : 'invalid request', details);
}

/** The shell every service shares: JSON, logs, metrics, health, 404 and error handling. */
export function createHttpApp(options: HttpAppOptions): Express {
  const { logger, registry } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Every answer is live state (an order's status, stock, a journey): no ETag, so no conditional
  // request gets a 304 with no body, which the published document does not have.
  app.set('etag', false);

  const requests = new Counter({
    name: METRIC.httpRequests,
    help: 'HTTP requests served, by method, route and status code.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: METRIC.httpDuration,
    help: 'HTTP request duration, by method and route.',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  app.use((req, res, next) => {
    if (app.locals.closing === true) res.set('Connection', 'close');
    const start = performance.now();
    res.on('finish', () => {
      // The matched route pattern, never the raw URL (unbounded label values).
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      duration.observe({ method: req.method, route }, (performance.now() - start) / 1000);
    });
    next();
  });
  app.use(
    pinoHttp({
      logger,
      autoLogging: { ignore: (req) => ['/healthz', '/readyz', '/readyz/requests', '/metrics'].includes(req.url ?? '') },
      // Routes about an order put its id in res.locals, so the request's log line carries it.
      customProps: (_req, res) => {
        const orderId = (res as unknown as { locals?: { orderId?: string } }).locals?.orderId;
        return orderId ? { orderId } : {};
      },
      // A 503 is an answer the server chose (a dependency away, a transient failure), not a fault in it.
      customLogLevel: (_req, res, err) => (err || (res.statusCode >= 500 && res.statusCode !== 503) ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      serializers: {
        req: (req: { method: string; url: string; id: unknown }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use((req, _res, next) => {
    const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
    if (['POST', 'PUT', 'PATCH'].includes(req.method) && (hasBody || req.headers['transfer-encoding']) && !req.is('application/json')) {
      return next(new HttpError(415, 'request body must be JSON (Content-Type: application/json)'));
    }
    next();
  });
  app.use(express.json({ limit: options.bodyLimitBytes ?? 16 * 1024, strict: true }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' } satisfies Health);
  });
  const answerReadiness = (check: () => Promise<Readiness>) => async (_req: Request, res: Response) => {
    const { ready, checks } = await check();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks } satisfies ReadinessBody);
  };
  app.get('/readyz', answerReadiness(options.readiness));
  if (options.requestReadiness) app.get('/readyz/requests', answerReadiness(options.requestReadiness));
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', registry.contentType).send(await registry.metrics());
  });

  options.routes(app);

  app.use((_req: Request, _res: Response, next: NextFunction) => next(new HttpError(404, 'not found')));
  const onError: ErrorRequestHandler = (error, req, res, _next) => {
    const dependency = options.unavailableDependency?.(error);
    if (dependency !== undefined && !res.headersSent) {
      // The server's condition, not the request's: say so, and when to come back (decision 0009).
      req.log.warn({ dependency, err: (error as Error).message }, 'dependency unavailable');
      res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).json({ error: `${dependency} unavailable; try again later`, dependency } satisfies ErrorBody);
      return;
    }
    const status = httpStatusOf(error);
    if (status >= 500) req.log.error({ err: error }, 'request failed');
    // An HttpError's message is written for the caller (a 502 names the service that did not
    // answer); anything else that breaks may hold what the caller must not see.
    const body: ErrorBody = {
      error: status >= 500 && !(error instanceof HttpError) ? 'internal error' : publicMessage(error, status),
    };
    if (error instanceof HttpError && error.details !== undefined) body.details = error.details;
    if (res.headersSent) return;
    if (error instanceof HttpError && error.headers) res.set(error.headers);
    res.status(status).json(body);
  };
  app.use(onError);
  return app;
}

function httpStatusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  const status = (error as { status?: unknown; statusCode?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

// Body-parser errors carry a `type`; their messages can echo input, so say it in our words.
function publicMessage(error: unknown, status: number): string {
  if (error instanceof HttpError) return error.message;
  switch ((error as { type?: string }).type) {
    case 'entity.parse.failed':
      return 'request body is not valid JSON';
    case 'entity.too.large':
      return 'request body is too large';
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return 'unsupported request body encoding';
    default:
      return status === 415 ? 'unsupported media type' : 'bad request';
  }
}

/**
 * Idle keep-alive connections are kept longer than any client or proxy keeps them (load balancers
 * commonly idle out at 60 s): when the server closes one first, a request the client sends on it
 * at that moment meets a closed socket and gets no response at all (decision 0009).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Listens, resolving once bound (so start-up fails loudly on EADDRINUSE). */
export function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // Above the idle time, so the headers deadline is never what ends an idle connection.
    server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
    server.on('clientError', answerUnparsableRequest);
  });
}

/**
 * Requests that Node's HTTP parser refuses (headers over 16 KB, malformed request lines) never
 * reach express; by default Node answers them with a bare status line. Answer with the same JSON
 * error body as every other 4xx, so a client can always parse the response.
 */
function answerUnparsableRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request timed out']
        : [400, 'Bad Request', 'malformed HTTP request'];
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Stops accepting connections and waits for in-flight requests. Keep-alive clients get
 * `Connection: close` on their next response (see `createHttpApp`), and whatever is still open
 * after `graceMs` is closed, so a busy client cannot hold the shutdown open.
 */
export function closeServer(server: Server, app: Express, graceMs = 2000): Promise<void> {
  app.locals.closing = true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

