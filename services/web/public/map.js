// The choreography map's geometry, kept apart from the DOM so it can be checked without a browser.
// A fixed layout in columns: each service beside the exchange it publishes to, each exchange
// beside the queues bound to it. Ordering the queues by exchange means no two edges cross.

const SERVICE = { x: 0, width: 170, height: 56 };
const EXCHANGE = { x: 250, width: 170, height: 56 };
const QUEUE = { x: 620, width: 390, head: 24, row: 20, foot: 22 };
export const MAP_WIDTH = QUEUE.x + QUEUE.width + 2;
const GAP = 10;
const GROUP_GAP = 22;
const SERVICE_ORDER = ['order', 'payment', 'inventory', 'notification'];

const rank = (service) => {
  const i = SERVICE_ORDER.indexOf(service);
  return i === -1 ? SERVICE_ORDER.length : i;
};
const byService = (a, b) => rank(a) - rank(b) || a.localeCompare(b);

/** "3/min", "0.5/min", "42/min": whole numbers as they are, a fraction with one decimal so a trickle does not read as nothing. */
export function perMinuteText(perMinute) {
  return `${Number.isInteger(perMinute) ? perMinute : perMinute < 10 ? perMinute.toFixed(1) : Math.round(perMinute)}/min`;
}

/**
 * How strongly an edge is drawn, from how long ago it last carried a message: full within five
 * seconds, fading to a floor over the window; never seen is fainter still.
 */
export function recencyOpacity(lastSeenAt, now, windowMs) {
  if (!lastSeenAt) return 0.25;
  const age = Math.max(0, now - Date.parse(lastSeenAt));
  if (age <= 5000) return 1;
  const span = Math.max(windowMs - 5000, 1);
  return Math.max(0.35, 1 - (0.65 * (age - 5000)) / span);
}

/** What an edge is, for its colour and dashes: undeclared (drift), silent (declared, no traffic), flowing, idle. */
export function edgeState(edge) {
  if (!edge.declared) return 'undeclared';
  if (edge.silent) return 'silent';
  return edge.perMinute > 0 ? 'flowing' : 'idle';
}

/**
 * Places every node and edge of an observer map: `{ width, height, services, exchanges, queues,
 * links, edges }` in SVG user units. Queues come from the subscriptions and from the edges (an
 * undeclared edge may lead to a queue nobody declared); each edge ends on its own row of its queue.
 */
export function layoutMap(map, now = Date.now()) {
  const exchangeNames = [...new Set([...map.exchanges.map((e) => e.name), ...map.edges.map((e) => e.exchange), ...map.subscriptions.map((s) => s.exchange)])];
  const exchangeOf = (name) => map.exchanges.find((e) => e.name === name) ?? { name, producer: map.edges.find((e) => e.exchange === name)?.producer ?? '?', declared: false };
  const ordered = exchangeNames.map(exchangeOf).sort((a, b) => byService(a.producer, b.producer) || a.name.localeCompare(b.name));

  const queues = [];
  const exchanges = [];
  let y = 0;
  for (const exchange of ordered) {
    const names = [...new Set([...map.subscriptions.filter((s) => s.exchange === exchange.name).map((s) => s.queue), ...map.edges.filter((e) => e.exchange === exchange.name).map((e) => e.queue)])];
    const group = names
      .map((name) => {
        const subscription = map.subscriptions.find((s) => s.queue === name);
        const edges = map.edges.filter((e) => e.queue === name && e.exchange === exchange.name).sort((a, b) => Number(b.declared) - Number(a.declared) || a.type.localeCompare(b.type));
        const service = subscription?.service ?? edges[0]?.subscriber ?? '?';
        return { name, service, subscription, edges, declared: subscription?.declared ?? edges.some((e) => e.declared) };
      })
      .sort((a, b) => byService(a.service, b.service));
    const top = y;
    for (const queue of group) {
      const height = QUEUE.head + Math.max(queue.edges.length, 1) * QUEUE.row + QUEUE.foot;
      queues.push({ ...queue, exchange: exchange.name, x: QUEUE.x, y, width: QUEUE.width, height });
      y += height + GAP;
    }
    const bottom = group.length ? y - GAP : y + EXCHANGE.height;
    const centre = (top + bottom) / 2;
    const rate = totalPerMinute(map.edges.filter((e) => e.exchange === exchange.name));
    exchanges.push({ ...exchange, x: EXCHANGE.x, y: centre - EXCHANGE.height / 2, width: EXCHANGE.width, height: EXCHANGE.height, perMinute: rate });
    y = Math.max(y - GAP, centre + EXCHANGE.height / 2) + GROUP_GAP;
  }

  // Each service beside the exchange it publishes to; one that publishes to none goes below.
  const services = [...map.services].sort((a, b) => byService(a.name, b.name)).map((service) => {
    const own = exchanges.find((e) => e.producer === service.name);
    const at = own ? own.y : y;
    if (!own) y += SERVICE.height + GROUP_GAP;
    return { ...service, x: SERVICE.x, y: at, width: SERVICE.width, height: SERVICE.height };
  });

  const links = exchanges.flatMap((exchange) => {
    const producer = services.find((s) => s.name === exchange.producer);
    if (!producer) return [];
    const yMid = exchange.y + exchange.height / 2;
    return [{ id: `${producer.name}->${exchange.name}`, from: producer.name, exchange: exchange.name, perMinute: exchange.perMinute, d: `M ${producer.x + producer.width} ${yMid} H ${exchange.x}` }];
  });

  const edges = queues.flatMap((queue) =>
    queue.edges.map((edge, i) => {
      const exchange = exchanges.find((e) => e.name === edge.exchange);
      const x1 = exchange.x + exchange.width;
      const y1 = exchange.y + exchange.height / 2;
      const x2 = queue.x;
      const y2 = queue.y + QUEUE.head + i * QUEUE.row + QUEUE.row / 2;
      const bend = (x2 - x1) / 2;
      return {
        ...edge,
        state: edgeState(edge),
        opacity: recencyOpacity(edge.lastSeenAt, now, map.windowMs),
        strokeWidth: edge.perMinute > 0 ? Math.min(1.5 + 0.8 * Math.log2(1 + edge.perMinute), 5) : 1.5,
        d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`,
        label: { x: x2 + 14, y: y2 + 4, rateX: x2 + QUEUE.width - 10 },
      };
    }),
  );
  return { width: MAP_WIDTH, height: Math.max(y - GROUP_GAP, 0) + 2, services, exchanges, queues, links, edges };
}

/** Messages a minute on an exchange: each event type once, however many queues it reaches. */
export function totalPerMinute(edges) {
  const byType = new Map();
  for (const edge of edges) byType.set(edge.type, Math.max(byType.get(edge.type) ?? 0, edge.perMinute));
  return [...byType.values()].reduce((sum, n) => sum + n, 0);
}
