import { METRIC, type ErrorBody, type OrderList, type OrdersFeedEvent } from '@troupe/contracts';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Upstream } from './upstream';

export interface OrdersFeedOptions {
  intervalMs: number;
  limit: number;
  /** Streams at once; one more is refused with 503. */
  maxClients: number;
  /** How often each stream gets a comment line; a reader not drained for a whole interval is dropped. */
  heartbeatMs: number;
  logger: Logger;
  registry: Registry;
}

/** One listening page: whether its socket is full, and the list it was last sent. */
interface Client {
  res: Response;
  /** `res.write` returned false and 'drain' has not come yet: nothing more is written. */
  behind: boolean;
  /** It was already behind at the last heartbeat. */
  behindAtBeat: boolean;
  sent: string | undefined;
}

/** How long a refused page should wait before it tries again. */
const RETRY_AFTER_SECONDS = 5;

/**
 * The live list of orders, as server-sent events. However many pages listen, the web front asks
 * the order service once per interval (and only while someone listens), and sends a page the
 * list only when it changed.
 *
 * Bounded: at most `maxClients` streams. A page whose socket is full (`write` returned false) is
 * written nothing more, updates included, until it drains, then gets the latest list: the list is
 * a state, so the ones it skipped are worth nothing. So each stream holds at most one list beyond
 * the socket's buffers, however slowly its reader reads; one still full at two heartbeats running
 * is dropped.
 */
export class OrdersFeed {
  private readonly clients = new Set<Client>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private polling = false;
  private readonly refused: Counter;
  private readonly dropped: Counter;
  private readonly skipped: Counter;

  constructor(
    private readonly upstream: Upstream,
    private readonly options: OrdersFeedOptions,
  ) {
    const registers = [options.registry];
    const clients = this.clients;
    new Gauge({
      name: METRIC.liveStreams,
      help: 'Live order lists being streamed (GET /api/orders/stream).',
      registers,
      collect() {
        this.set(clients.size);
      },
    });
    this.refused = new Counter({ name: METRIC.liveStreamsRefused, help: 'Live order lists refused with 503: LIVE_STREAM_MAX_CLIENTS were open.', registers });
    this.dropped = new Counter({ name: METRIC.liveStreamsDropped, help: 'Live order lists closed because their reader had not read for a heartbeat interval.', registers });
    this.skipped = new Counter({ name: METRIC.liveStreamUpdatesSkipped, help: 'Updates not written to a live order list whose reader was behind (it gets the latest once it drains).', registers });
  }

  /** Streams to `res` until the browser goes away: the current list at once, then every change. */
  subscribe(res: Response): void {
    if (this.clients.size >= this.options.maxClients) {
      this.refused.inc();
      res
        .status(503)
        .set('Retry-After', String(RETRY_AFTER_SECONDS))
        .json({ error: `the live list has as many readers as it serves (${this.options.maxClients}); try again later` } satisfies ErrorBody);
      return;
    }
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    const client: Client = { res, behind: false, behindAtBeat: false, sent: undefined };
    this.clients.add(client);
    res.on('drain', () => {
      client.behind = false;
      client.behindAtBeat = false;
      if (this.last !== undefined && client.sent !== this.last) this.send(client, this.last);
    });
    res.on('close', () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.stop();
    });
    this.write(client, `retry: 2000\n\n`);
    if (this.last) this.send(client, this.last);
    this.timer ??= setInterval(() => void this.poll(), this.options.intervalMs);
    this.heartbeat ??= setInterval(() => this.beat(), this.options.heartbeatMs);
    void this.poll();
  }

  /** Looks now rather than at the next tick (after an order was placed from the page). */
  nudge(): void {
    if (this.clients.size > 0) void this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
    this.last = undefined;
  }

  /** Ends every stream (at shutdown, so the server can close). */
  close(): void {
    this.stop();
    for (const { res } of this.clients) res.end();
    this.clients.clear();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const { orders } = await this.upstream.get<OrderList>('order', `/orders?limit=${this.options.limit}`, { operator: true });
      const data = JSON.stringify({ orders, available: true } satisfies OrdersFeedEvent);
      this.broadcast(data);
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'could not list the latest orders');
      this.broadcast(JSON.stringify({ orders: [], available: false } satisfies OrdersFeedEvent));
    } finally {
      this.polling = false;
    }
  }

  private broadcast(data: string): void {
    if (data === this.last) return;
    this.last = data;
    for (const client of this.clients) this.send(client, data);
  }

  private send(client: Client, data: string): void {
    if (client.behind) {
      this.skipped.inc();
      return;
    }
    client.sent = data;
    this.write(client, `event: orders\ndata: ${data}\n\n`);
  }

  private write(client: Client, chunk: string): void {
    if (client.behind) return;
    if (!client.res.write(chunk)) client.behind = true;
  }

  // A comment line (ignored by EventSource) keeps idle proxies from closing the stream, and finds
  // the readers that stopped reading: still behind at two heartbeats running, dropped.
  private beat(): void {
    for (const client of this.clients) {
      if (client.behind && client.behindAtBeat) {
        this.dropped.inc();
        this.options.logger.warn('dropped a live list whose reader stopped reading');
        this.clients.delete(client);
        client.res.destroy();
        continue;
      }
      client.behindAtBeat = client.behind;
      this.write(client, `: heartbeat\n\n`);
    }
    if (this.clients.size === 0) this.stop();
  }
}
