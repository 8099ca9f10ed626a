import { HttpError } from '@troupe/platform';
import type { ServiceName } from '@troupe/contracts';

/** What the web front calls: the four services, the card gateway, and the observer. */
export type Upstreamed = ServiceName | 'gateway' | 'observer';

export interface UpstreamResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT';
  body?: unknown;
  headers?: Record<string, string>;
  /** Sends the admin token: for /admin routes. */
  admin?: boolean;
  /** Sends the read-only operator token: for an operator's reads (docs/decisions/0029). */
  operator?: boolean;
}

/**
 * The four services' HTTP APIs, the card gateway's and the observer's, as the web front calls them. A service that does not answer in
 * time is the page's 502, naming the service; its own 4xx answers are passed on as they are.
 */
export class Upstream {
  constructor(
    private readonly urls: Record<Upstreamed, string>,
    private readonly timeoutMs: number,
    private readonly tokens: { admin: string | undefined; operator: string | undefined },
  ) {}

  async call<T = unknown>(service: Upstreamed, path: string, options: CallOptions = {}): Promise<UpstreamResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    // Server-side only: no token ever reaches the browser.
    if (options.operator && this.tokens.operator) headers.authorization = `Bearer ${this.tokens.operator}`;
    if (options.admin && this.tokens.admin) headers.authorization = `Bearer ${this.tokens.admin}`;
    let response: Response;
    try {
      response = await fetch(`${this.urls[service]}${path}`, {
        method: options.method ?? 'GET',
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new HttpError(502, `the ${service} service is not answering`);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new HttpError(502, `the ${service} service answered ${response.status} without JSON`);
    }
    if (response.status >= 500) throw new HttpError(502, `the ${service} service answered ${response.status}`);
    return { status: response.status, body: body as T, headers: response.headers };
  }

  /** GET that must succeed: anything but 2xx is the page's 502. */
  async get<T>(service: Upstreamed, path: string, options: CallOptions = {}): Promise<T> {
    const response = await this.call<T>(service, path, options);
    if (response.status >= 300) throw new HttpError(502, `the ${service} service answered ${response.status} to ${path.split('?')[0]}`);
    return response.body;
  }
}
