import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { createLogger } from '@troupe/platform';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { startWeb, type RunningWeb } from '../src/main';

// GET /api/orders/stream, the web front's live list, against an order service that answers
// GET /orders with lists this test shapes: small or large, changing at every poll or not. The
// web front runs here, so the test can watch what its sockets hold.
const OPERATOR_READ_TOKEN = 'live-stream-read-token-0123';
const MAX_CLIENTS = 3;
const HEARTBEAT_MS = 300;

/** What the stand-in order service answers: `items` lines per order (the size), and whether each answer differs. */
const upstream = { items: 1, changing: true, served: 0, bytesServed: 0, authorizations: new Set<string | undefined>() };
let orderService: Server;
let web: RunningWeb;
let base: string;
/** The server side of every connection to the web front, by the client's port. */
const serverSockets = new Map<number, Socket>();
const opened: { close(): void }[] = [];

function orderList(): string {
  const now = new Date().toISOString();
  const orders = Array.from({ length: 100 }, () => ({
    orderId: randomUUID(),
    status: 'PENDING',
    items: Array.from({ length: upstream.items }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1, unitPriceCents: 100 })),
    total: { amountCents: 100 * upstream.items, currency: 'USD' },
    createdAt: now,
    updatedAt: now,
  }));
  return JSON.stringify({ orders: upstream.changing ? orders : orders.map((o, i) => ({ ...o, orderId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` })) });
}
let constantList: string | undefined;

beforeAll(async () => {
  orderService = createServer((req, res) => {
    upstream.authorizations.add(req.headers.authorization);
    if (req.headers.authorization !== `Bearer ${OPERATOR_READ_TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"operator token required"}');
      return;
    }
    const body = upstream.changing ? orderList() : (constantList ??= orderList());
    upstream.served++;
    upstream.bytesServed += body.length;
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => orderService.listen(0, '127.0.0.1', resolve));
  const config = loadConfig({
    PORT: '0',
    ORDER_URL: `http://127.0.0.1:${(orderService.address() as AddressInfo).port}`,
    OPERATOR_READ_TOKEN,
    LIVE_STREAM_MAX_CLIENTS: String(MAX_CLIENTS),
    LIVE_STREAM_HEARTBEAT_MS: String(HEARTBEAT_MS),
    POLL_INTERVAL_MS: '100',
    LIVE_ORDERS: '100',
    LOG_LEVEL: 'silent',
  });
  web = await startWeb(config, createLogger('web', 'silent'));
  web.server.on('connection', (socket: Socket) => {
    const port = socket.remotePort!;
    serverSockets.set(port, socket);
    socket.on('close', () => serverSockets.delete(port));
  });
  base = `http://127.0.0.1:${web.port}`;
});

afterEach(async () => {
  for (const stream of opened.splice(0)) stream.close();
  // Every stream closed, as the web front sees it, before the next test counts.
  await expect.poll(() => metric('troupe_web_live_streams'), { timeout: 5000 }).toBe(0);
  Object.assign(upstream, { items: 1, changing: true });
});

afterAll(async () => {
  await web?.stop();
  await new Promise((resolve) => orderService?.close(resolve));
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** A page listening: how many lists and heartbeats it has read, each SSE block counted once it is whole. */
async function listen() {
  const controller = new AbortController();
  const response = await fetch(`${base}/api/orders/stream`, { signal: controller.signal });
  const stream = { status: response.status, response, lists: 0, heartbeats: 0, close: () => controller.abort() };
  opened.push(stream);
  if (response.status === 200 && response.body) {
    const decoder = new TextDecoder();
    let pending = '';
    void (async () => {
      try {
        for await (const chunk of response.body!) {
          pending += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = pending.indexOf('\n\n')) >= 0) {
            const block = pending.slice(0, end);
            pending = pending.slice(end + 2);
            if (block.startsWith('event: orders\n')) stream.lists++;
            if (block === ': heartbeat') stream.heartbeats++;
          }
        }
      } catch {
        // aborted
      }
    })();
  }
  return stream;
}

describe('GET /api/orders/stream', () => {
  it('when more pages listen than LIVE_STREAM_MAX_CLIENTS, then the extra one is refused with 503 and the others keep receiving', async () => {
    const pages = await Promise.all(Array.from({ length: MAX_CLIENTS }, () => listen()));
    expect(pages.map((p) => p.status)).toEqual([200, 200, 200]);
    await expect.poll(() => pages.every((p) => p.lists >= 1), { timeout: 5000 }).toBe(true);

    const refused = await listen();
    expect([refused.status, refused.response.headers.get('retry-after'), refused.response.headers.get('content-type')]).toEqual([503, '5', 'application/json; charset=utf-8']);
    expect(await refused.response.json()).toEqual({ error: `the live list has as many readers as it serves (${MAX_CLIENTS}); try again later` });
    expect(await metric('troupe_web_live_streams_refused_total')).toBeGreaterThanOrEqual(1);

    const seen = pages.map((p) => p.lists);
    await expect.poll(() => pages.every((p, i) => p.lists >= seen[i]! + 3), { timeout: 5000 }).toBe(true);
    // The order service was asked with the operator's token, and only with it.
    expect([...upstream.authorizations]).toEqual([`Bearer ${OPERATOR_READ_TOKEN}`]);

    // One leaves: a place is free again.
    pages[0]!.close();
    await expect.poll(() => metric('troupe_web_live_streams'), { timeout: 5000 }).toBe(MAX_CLIENTS - 1);
    expect((await listen()).status).toBe(200);
  });

  it('when the list does not change, then the page still gets a heartbeat comment every LIVE_STREAM_HEARTBEAT_MS', async () => {
    upstream.changing = false;
    const page = await listen();
    await expect.poll(() => page.lists, { timeout: 5000 }).toBe(1);
    const started = Date.now();
    await expect.poll(() => page.heartbeats, { timeout: 5000, interval: 20 }).toBeGreaterThanOrEqual(3);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS - 50);
    expect(page.lists).toBe(1);
  });

  it('when a reader stops reading while large lists keep coming, then the web front holds at most about one list for it, drops it, and the others keep receiving', async () => {
    // About 900 KB a list, a new one every 100 ms.
    upstream.items = 150;
    const fast = await listen();
    await expect.poll(() => fast.lists, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    const listBytes = orderList().length;

    // A client that sends its request and never reads: the kernel's buffers fill, then the web
    // front's socket does.
    const slow = connect(web.port, '127.0.0.1');
    await new Promise<void>((resolve) => slow.once('connect', resolve));
    slow.pause();
    slow.write(`GET /api/orders/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    let closedByServer = false;
    slow.on('close', () => (closedByServer = true));
    opened.push({ close: () => slow.destroy() });
    const servedBefore = upstream.bytesServed;

    // Watch what the web front holds in memory for the slow reader until it lets go.
    let mostHeld = 0;
    const sampler = setInterval(() => {
      const socket = serverSockets.get(slow.localPort!);
      if (socket) mostHeld = Math.max(mostHeld, socket.writableLength);
    }, 5);
    try {
      await expect.poll(() => metric('troupe_web_live_streams_dropped_total'), { timeout: 20_000, interval: 100 }).toBe(1);
    } finally {
      clearInterval(sampler);
    }
    const producedMeanwhile = upstream.bytesServed - servedBefore;
    // Far more was produced than the reader took; the web front never held more than one list
    // (and the heartbeat) beyond what the socket had taken, where writing without a bound would
    // hold every list the reader missed.
    expect(producedMeanwhile).toBeGreaterThan(5 * listBytes);
    expect(mostHeld).toBeGreaterThan(0);
    expect(mostHeld).toBeLessThan(listBytes + 64 * 1024);
    expect(await metric('troupe_web_live_stream_updates_skipped_total')).toBeGreaterThan(0);

    // The dropped reader's connection is closed by the server once what was sent is read.
    slow.resume();
    await expect.poll(() => closedByServer, { timeout: 10_000 }).toBe(true);
    // The one that reads went on getting lists all along, and still does.
    const seen = fast.lists;
    await expect.poll(() => fast.lists, { timeout: 5000 }).toBeGreaterThan(seen);
    expect(await metric('troupe_web_live_streams')).toBe(1);
  });
});
