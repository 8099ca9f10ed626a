// The choreography map and the invariants panels, from the observer (through the web front's
// /api/map and /api/invariants). The page's helpers come in as `page`, so this file draws only.
import { layoutMap, perMinuteText } from './map.js';

const SVG = 'http://www.w3.org/2000/svg';
const REFRESH_MS = 3000;
const INVARIANTS = {
  'order-settles': 'Every order settles',
  'events-consistent': "An order's events agree",
  'stock-matches': 'Stock matches the reservations',
  'one-charge-per-paid-order': 'One charge per paid order',
};

const svg = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
const text = (x, y, content, attrs = {}) => svg('text', { x, y, ...attrs }, content);
const $ = (id) => document.getElementById(id);

/** Draws both panels now and every few seconds; `page` is { el, api, admin, hasToken, select, ago, settings }. */
export function startChoreography(page) {
  const refresh = () => {
    if (document.hidden) return;
    void loadMap(page);
    void loadInvariants(page);
  };
  refresh();
  setInterval(refresh, REFRESH_MS);
  return { refresh };
}

// --- the map ------------------------------------------------------------------------------------

async function loadMap(page) {
  const panel = $('map');
  let map;
  try {
    // Unlocked, the map is asked with the admin token: the drift samples (message bodies) are an admin's to read.
    map = page.hasToken() ? await page.admin('/api/map') : await page.api('/api/map');
  } catch (error) {
    panel.dataset.state = 'unavailable';
    $('map-state').textContent = `${error.message}: the map needs the observer (services/observer, OBSERVER_URL)`;
    $('map-state').className = 'map-state error';
    return;
  }
  panel.dataset.state = 'live';
  const undeclared = map.edges.filter((e) => !e.declared).length;
  $('map-state').textContent = `${perMinuteText(map.ordersPerMinute).replace('/min', '')} orders/min · window ${Math.round(map.windowMs / 60_000)} min · ${map.drift.length ? `${map.drift.length} drift entr${map.drift.length === 1 ? 'y' : 'ies'}` : 'no drift'}${undeclared ? ` · ${undeclared} undeclared edge${undeclared === 1 ? '' : 's'}` : ''}`;
  $('map-state').className = `map-state ${map.drift.length ? 'warn' : ''}`;
  $('map-drawing').replaceChildren(drawMap(map, page));
  $('map-drift').replaceChildren(...map.drift.map((d) => driftItem(d, page)));
  $('map-drift-title').hidden = map.drift.length === 0;
}

function drawMap(map, page) {
  const layout = layoutMap(map);
  const root = svg(
    'svg',
    { viewBox: `-2 -2 ${layout.width + 4} ${layout.height + 4}`, width: '100%', role: 'group', 'aria-labelledby': 'map-svg-title', class: 'map-svg' },
    svg('title', { id: 'map-svg-title' }, 'Who publishes what to whom: services, their exchanges, and each subscriber queue with its event types'),
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '9', markerHeight: '9', markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow-head' }))),
  );
  for (const link of layout.links) {
    root.append(svg('path', { d: link.d, class: `link svc-${link.from}`, 'data-link': link.id, 'marker-end': 'url(#arrow)' }));
  }
  for (const service of layout.services) root.append(serviceNode(service));
  for (const exchange of layout.exchanges) root.append(exchangeNode(exchange));
  for (const queue of layout.queues) root.append(queueNode(queue));
  // Last, so each edge's label sits on its row of the queue.
  for (const edge of layout.edges) root.append(edgeGroup(edge, page));
  return root;
}

function edgeGroup(edge, page) {
  const seen = edge.lastSeenAt ? `last seen ${page.ago(edge.lastSeenAt)}` : 'not seen in the window';
  const what = { undeclared: 'undeclared (not in the AsyncAPI document)', silent: 'silent: declared, no traffic while orders flow', flowing: 'flowing', idle: 'idle' }[edge.state];
  const label = `${edge.type} from ${edge.exchange} to ${edge.queue}: ${perMinuteText(edge.perMinute)}, ${seen}, ${what}`;
  return svg(
    'g',
    {
      class: `edge ${edge.state} svc-${edge.producer}`,
      role: 'img',
      'aria-label': label,
      'data-edge-id': edge.id,
      'data-per-minute': edge.perMinute,
      'data-declared': edge.declared,
      'data-silent': edge.silent,
      'data-state': edge.state,
      'data-last-seen-at': edge.lastSeenAt ?? '',
    },
    svg('title', {}, label),
    // Only the line fades with age: its label stays readable.
    svg('path', { d: edge.d, 'stroke-width': edge.strokeWidth.toFixed(1), opacity: edge.opacity.toFixed(2), 'marker-end': 'url(#arrow)' }),
    text(edge.label.x, edge.label.y, `${edge.declared ? '' : '⚠ '}${edge.type}`, { class: 'edge-type' }),
    text(edge.label.rateX, edge.label.y, perMinuteText(edge.perMinute), { class: 'edge-rate', 'text-anchor': 'end' }),
  );
}

function serviceNode(service) {
  const ready = service.ready === null ? 'unknown' : service.ready ? 'ready' : 'not ready';
  const dead = service.deadLetters === null ? 'dead letters unknown' : `${service.deadLetters} dead letter${service.deadLetters === 1 ? '' : 's'}`;
  return svg(
    'g',
    { class: `node service svc-${service.name} ${service.ready === false ? 'down' : ''}`, role: 'img', 'aria-label': `${service.name} service: ${ready}, ${dead}`, 'data-map-service': service.name, 'data-ready': String(service.ready), 'data-dead-letters': String(service.deadLetters) },
    svg('rect', { x: service.x, y: service.y, width: service.width, height: service.height, rx: 10 }),
    svg('circle', { cx: service.x + 16, cy: service.y + 20, r: 5, class: `dot ${ready.replace(' ', '-')}` }),
    text(service.x + 28, service.y + 25, service.name, { class: 'node-title' }),
    text(service.x + 14, service.y + 44, `${ready} · ${dead}`, { class: `node-meta ${service.deadLetters ? 'has-dead' : ''}` }),
  );
}

function exchangeNode(exchange) {
  return svg(
    'g',
    { class: `node exchange svc-${exchange.producer} ${exchange.declared ? '' : 'undeclared'}`, role: 'img', 'aria-label': `exchange ${exchange.name} (fanout), published by ${exchange.producer}: ${perMinuteText(exchange.perMinute)}`, 'data-exchange': exchange.name },
    svg('rect', { x: exchange.x, y: exchange.y, width: exchange.width, height: exchange.height, rx: 4 }),
    text(exchange.x + 12, exchange.y + 23, exchange.name, { class: 'node-title mono' }),
    text(exchange.x + 12, exchange.y + 43, `fanout · ${perMinuteText(exchange.perMinute)}`, { class: 'node-meta' }),
  );
}

function queueNode(queue) {
  const s = queue.subscription;
  const stats = s
    ? `${s.consuming === null ? 'consumers ?' : s.consuming ? 'consuming' : 'NOT consuming'} · ${s.ready ?? '?'} ready · ${s.unacked ?? '?'} unacked${s.pausedBy.length ? ` · paused by ${s.pausedBy.join(', ')}` : ''}`
    : 'no subscription seen';
  const trouble = s && (s.consuming === false || s.pausedBy.length > 0);
  return svg(
    'g',
    {
      class: `node queue svc-${queue.service} ${queue.declared ? '' : 'undeclared'} ${trouble ? 'trouble' : ''}`,
      role: 'img',
      'aria-label': `queue ${queue.name} of ${queue.service}${queue.declared ? '' : ' (undeclared)'}: ${stats}`,
      'data-queue': queue.name,
      'data-ready': s?.ready ?? '',
      'data-unacked': s?.unacked ?? '',
      'data-consuming': s ? String(s.consuming) : '',
      'data-paused-by': s ? s.pausedBy.join(',') : '',
    },
    svg('rect', { x: queue.x, y: queue.y, width: queue.width, height: queue.height, rx: 8 }),
    svg('rect', { x: queue.x, y: queue.y, width: 5, height: queue.height, class: 'queue-band' }),
    text(queue.x + 14, queue.y + 17, queue.name, { class: 'node-title mono' }),
    text(queue.x + queue.width - 10, queue.y + 17, queue.service, { class: 'queue-owner', 'text-anchor': 'end' }),
    queue.edges.length ? null : text(queue.x + 14, queue.y + 38, 'no declared event reaches it', { class: 'node-meta' }),
    text(queue.x + 14, queue.y + queue.height - 8, stats, { class: `node-meta ${trouble ? 'has-dead' : ''}` }),
  );
}

function driftItem(d, page) {
  const what = { 'undeclared-type': `undeclared event type ${d.type}`, 'unknown-version': `${d.type} version ${d.version}, not in the contract`, 'undeclared-subscription': `undeclared subscription ${d.queue}`, 'silent-edge': `silent: no ${d.type} reaches ${d.queue ?? 'its subscriber'}` }[d.kind] ?? d.kind;
  const { el } = page;
  return el(
    'li',
    { 'data-drift-kind': d.kind, 'data-count': String(d.count), 'data-exchange': d.exchange, ...(d.type ? { 'data-type': d.type } : {}) },
    el(
      'details',
      {},
      el('summary', {}, el('strong', {}, what), ` on ${d.exchange} · `, el('span', { class: 'drift-count' }, `${d.count}×`), ` · last seen ${page.ago(d.lastSeenAt)}`),
      el('p', { class: 'meta' }, `first seen ${new Date(d.firstSeenAt).toLocaleTimeString()} · last ${new Date(d.lastSeenAt).toLocaleTimeString()}`),
      d.sample
        ? el('pre', { class: 'drift-sample', 'aria-label': 'A sample message' }, d.sample)
        : el('p', { class: 'meta drift-no-sample' }, page.hasToken() ? 'No sample.' : 'A sample message is shown once Operations is unlocked with the admin token.'),
    ),
  );
}

// --- the invariants ----------------------------------------------------------------------------

async function loadInvariants(page) {
  const { el } = page;
  let answer;
  try {
    answer = await page.api('/api/invariants');
  } catch (error) {
    $('invariants').dataset.state = 'unavailable';
    $('invariants-state').textContent = `${error.message}: the invariants need the observer`;
    $('invariants-state').className = 'hint error';
    $('violations').replaceChildren();
    $('invariants-found').replaceChildren();
    return;
  }
  $('invariants').dataset.state = 'live';
  const { open, found, settleWithinMs } = answer;
  $('invariants-state').textContent = open.length
    ? `${open.length} open · checked ${page.ago(answer.checkedAt)}`
    : `All hold · checked ${page.ago(answer.checkedAt)} · an order must settle within ${Math.round(settleWithinMs / 1000)} s`;
  $('invariants-state').className = `hint ${open.length ? 'error' : 'ok'}`;
  $('violations').replaceChildren(...open.map((v) => violationItem(v, page)));
  $('invariants-found').replaceChildren(
    ...Object.entries(found).map(([name, count]) =>
      el('div', { class: `found ${count ? 'some' : ''}`, 'data-found-invariant': name, 'data-count': String(count) }, el('dt', {}, INVARIANTS[name] ?? name), el('dd', {}, String(count))),
    ),
  );
}

function violationItem(v, page) {
  const { el } = page;
  const status = el('span', { class: 'resolve-status', role: 'status' });
  const links = [];
  if (v.orderId) {
    links.push(el('a', { href: '#journey', 'data-order-link': v.orderId, onclick: () => page.select(v.orderId) }, `Order ${v.orderId.slice(0, 8)}'s journey`));
  }
  if (v.traceId && page.settings.jaegerUiUrl) {
    links.push(el('a', { href: `${page.settings.jaegerUiUrl}/trace/${v.traceId}`, target: '_blank', rel: 'noopener', 'data-trace-link': v.traceId }, 'Trace in Jaeger ↗'));
  }
  const resolve = async () => {
    if (!page.hasToken()) {
      status.textContent = 'Unlock Operations with the admin token first.';
      return;
    }
    try {
      await page.admin(`/api/admin/invariants/${encodeURIComponent(v.id)}/resolve`, { method: 'POST' });
      await loadInvariants(page);
    } catch (error) {
      status.textContent = error.message;
    }
  };
  return el(
    'li',
    { 'data-violation-id': v.id, 'data-invariant': v.invariant, ...(v.orderId ? { 'data-order-id': v.orderId } : {}) },
    el('div', { class: 'violation-head' }, el('strong', {}, INVARIANTS[v.invariant] ?? v.invariant), el('code', {}, v.invariant), el('time', { datetime: v.foundAt, title: v.foundAt }, `found ${page.ago(v.foundAt)}`)),
    el('p', { class: 'detail' }, v.detail),
    el(
      'p',
      { class: 'links' },
      ...links,
      v.sku ? el('span', { class: 'mono' }, v.sku) : null,
      page.settings.admin ? el('button', { type: 'button', class: 'ghost', onclick: resolve, 'aria-label': `Resolve ${v.invariant} ${v.id}` }, 'Resolve') : null,
      status,
    ),
  );
}
