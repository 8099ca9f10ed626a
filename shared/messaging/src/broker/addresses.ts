import type { Options } from 'amqplib';

/**
 * Splits `RABBITMQ_URL` into one URL per broker node: a comma-separated list of full amqp(s)://
 * URLs (`amqp://u:p@rabbit-0:5672,amqp://u:p@rabbit-1:5672`). Throws naming the bad entry.
 */
export function parseBrokerUrls(value: string): URL[] {
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => entry === '')) throw new Error('has an empty entry (addresses are separated by single commas)');
  return entries.map((entry, index) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`entry ${index + 1} is not a URL like amqp://user:pass@host:5672`);
    }
    if (!/^amqps?:$/.test(url.protocol)) throw new Error(`entry ${index + 1} must be amqp:// or amqps://, not ${url.protocol}//`);
    if (!url.hostname) throw new Error(`entry ${index + 1} has no host`);
    return url;
  });
}

/**
 * The broker nodes of a cluster, tried in turn. amqplib's recovery reconnects to the object it was
 * first given, re-reading its fields on every attempt; `target` is that object, and `advance`
 * points it at the next node, so a reconnect after a node's death goes to another one.
 */
export class BrokerAddresses {
  readonly target: Options.Connect = {};
  private readonly urls: URL[];
  private index: number;

  constructor(
    value: string,
    private readonly heartbeatSeconds: number,
  ) {
    this.urls = parseBrokerUrls(value);
    // Replicas start on different nodes, so a cluster's connections spread without a load balancer.
    this.index = Math.floor(Math.random() * this.urls.length);
    this.point();
  }

  get size(): number {
    return this.urls.length;
  }

  /** `host:port` of the node the next (or current) connection goes to; never the credentials. */
  get current(): string {
    const url = this.urls[this.index] as URL;
    return `${url.hostname}:${url.port || (url.protocol === 'amqps:' ? 5671 : 5672)}`;
  }

  advance(): void {
    this.index = (this.index + 1) % this.urls.length;
    this.point();
  }

  private point(): void {
    const url = this.urls[this.index] as URL;
    const query = url.searchParams;
    const number = (name: string) => (query.has(name) ? Number(query.get(name)) : undefined);
    // The same reading amqplib gives a URL string: guest/guest only when no credentials are
    // given, the vhost still percent-encoded (amqplib decodes it), '/' when there is none.
    const anonymous = url.username === '' && url.password === '';
    Object.assign(this.target, {
      protocol: url.protocol.slice(0, -1),
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : undefined,
      username: anonymous ? undefined : decodeURIComponent(url.username),
      password: anonymous ? undefined : decodeURIComponent(url.password),
      vhost: url.pathname.slice(1) || undefined,
      heartbeat: number('heartbeat') ?? this.heartbeatSeconds,
      frameMax: number('frameMax'),
      maxFrameSize: number('maxFrameSize'),
      channelMax: number('channelMax'),
      locale: query.get('locale') ?? undefined,
    } satisfies Options.Connect);
  }
}
