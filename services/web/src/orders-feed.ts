import type { OrderList, OrdersFeedEvent } from '@troupe/contracts';
import type { Response } from 'express';
import type { Logger } from 'pino';
import type { Upstream } from './upstream';

/**
 * The live list of orders, as server-sent events. However many pages listen, the web front asks
 * the order service once per interval (and only while someone listens), and sends a page the
 * list only when it changed.
 */
export class OrdersFeed {
  private readonly clients = new Set<Response>();
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private polling = false;

  constructor(
    private readonly upstream: Upstream,
    private readonly options: { intervalMs: number; limit: number; logger: Logger },
  ) {}

  /** Streams to `res` until the browser goes away: the current list at once, then every change. */
  subscribe(res: Response): void {
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    res.write(`retry: 2000\n\n`);
    if (this.last) res.write(`event: orders\ndata: ${this.last}\n\n`);
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    this.timer ??= setInterval(() => void this.poll(), this.options.intervalMs);
    void this.poll();
  }

  /** Looks now rather than at the next tick (after an order was placed from the page). */
  nudge(): void {
    if (this.clients.size > 0) void this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  /** Ends every stream (at shutdown, so the server can close). */
  close(): void {
    this.stop();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const { orders } = await this.upstream.get<OrderList>('order', `/orders?limit=${this.options.limit}`);
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
    for (const res of this.clients) res.write(`event: orders\ndata: ${data}\n\n`);
  }
}
