// The page: no framework, no build step. Talks only to the web front's /api.
import { startChoreography } from './choreography.js';

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

const PATHS = {
  paid: { sku: 'SKU-TSHIRT', quantity: 2, token: 'tok_visa' },
  declined: { sku: 'SKU-MUG', quantity: 1, token: 'tok_declined' },
  soldout: { sku: 'SKU-SOLDOUT', quantity: 1, token: 'tok_visa' },
  flaky: { sku: 'SKU-HOODIE', quantity: 1, token: 'tok_flaky' },
};
const state = { settings: null, selected: null, orders: [], seen: new Set(), openSamples: new Set(), token: sessionStorage.getItem('troupe-admin-token') };

const money = ({ amountCents, currency }) => new Intl.NumberFormat('en', { style: 'currency', currency }).format(amountCents / 100);
const ms = (value) => (value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`);
const ago = (iso) => {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 60 ? `${Math.round(s)} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : new Date(iso).toLocaleTimeString();
};
const badge = (status) => el('span', { class: `badge ${status}` }, status);

async function api(path, options = {}) {
  const headers = { ...(options.body ? { 'content-type': 'application/json' } : {}), ...options.headers };
  const response = await fetch(path, { ...options, headers, body: options.body ? JSON.stringify(options.body) : undefined });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.error ?? `HTTP ${response.status}`), { status: response.status, body });
  return body;
}

// --- placing orders -----------------------------------------------------------------------------

async function place({ sku, quantity, token, email = 'ada@example.com', key }) {
  const request = { customerId: 'web-demo', email, items: [{ sku, quantity }], paymentMethod: { token } };
  const headers = key ? { 'Idempotency-Key': key } : {};
  const result = await api('/api/orders', { method: 'POST', body: request, headers });
  $('response').hidden = false;
  $('response-status').textContent = `HTTP ${result.status}${result.replayed ? ' · Idempotent-Replayed: true' : ''}${result.location ? ` · Location: ${result.location}` : ''}`;
  $('response-status').className = `response-status ${result.status < 300 ? 'ok' : 'bad'}`;
  $('response-body').textContent = JSON.stringify(result.body, null, 2);
  if (result.status < 300 && result.body.orderId) select(result.body.orderId);
}

function report(error) {
  $('response').hidden = false;
  $('response-status').textContent = error.message;
  $('response-body').textContent = error.body ? JSON.stringify(error.body, null, 2) : '';
}

for (const button of document.querySelectorAll('[data-path]')) {
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await place(PATHS[button.dataset.path]);
    } catch (error) {
      report(error);
    } finally {
      button.disabled = false;
    }
  });
}

$('order-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  // Sent as typed: the order service validates, and its 400 names the field.
  const quantity = Number(form.get('quantity'));
  await place({ sku: form.get('sku'), quantity, email: form.get('email'), token: form.get('token'), key: form.get('key').trim() }).catch(report);
});

// --- orders, live -------------------------------------------------------------------------------

function renderOrders(orders) {
  const list = $('order-list');
  $('orders-empty').hidden = orders.length > 0;
  $('orders-count').textContent = orders.length ? `latest ${orders.length}` : '';
  list.replaceChildren(
    ...orders.map((order) => {
      const what = order.items.map((i) => `${i.sku.replace('SKU-', '').toLowerCase()} ×${i.quantity}`).join(', ');
      const item = el(
        'li',
        { class: state.seen.has(`${order.orderId}:${order.status}`) ? '' : 'fresh', 'data-order-id': order.orderId, 'data-status': order.status },
        el(
          'button',
          { type: 'button', 'aria-current': String(order.orderId === state.selected), onclick: () => select(order.orderId), 'aria-label': `Order ${order.orderId.slice(0, 8)}, ${what}, ${order.status}` },
          el('span', { class: 'what' }, `${what} · ${money(order.total)}`),
          el('span', { class: 'meta mono' }, `${order.orderId.slice(0, 8)} · placed ${ago(order.createdAt)}`),
          badge(order.status),
        ),
      );
      return item;
    }),
  );
  for (const order of orders) state.seen.add(`${order.orderId}:${order.status}`);
}

function listen() {
  const source = new EventSource('/api/orders/stream');
  const feed = $('feed-state');
  source.addEventListener('open', () => {
    feed.textContent = 'live';
    feed.className = 'feed-state live';
  });
  source.addEventListener('error', () => {
    feed.textContent = 'reconnecting…';
    feed.className = 'feed-state down';
    // Refused (503: as many pages listen as the web front serves), the browser gives up for good:
    // try again later. A dropped stream is reconnected by the browser itself.
    if (source.readyState === EventSource.CLOSED) setTimeout(listen, 5000);
  });
  source.addEventListener('orders', (event) => {
    const { orders, available } = JSON.parse(event.data);
    feed.textContent = available ? 'live' : 'order service unavailable';
    feed.className = `feed-state ${available ? 'live' : 'down'}`;
    if (!available) return;
    const before = new Map(state.orders.map((o) => [o.orderId, o.updatedAt]));
    state.orders = orders;
    renderOrders(orders);
    const current = orders.find((o) => o.orderId === state.selected);
    if (current && before.get(current.orderId) !== current.updatedAt) void showJourney(current.orderId);
    if (orders.some((o) => before.get(o.orderId) !== o.updatedAt)) void loadStock();
  });
}

// --- one order's journey ------------------------------------------------------------------------

function select(orderId) {
  state.selected = orderId;
  for (const button of document.querySelectorAll('#order-list button')) {
    button.setAttribute('aria-current', String(button.closest('li').dataset.orderId === orderId));
  }
  void showJourney(orderId);
}

const NOTES = {
  PaymentFailed: 'the card was not charged; the order is cancelled',
  InventoryRejected: 'not enough stock; the payment is to be refunded',
  PaymentRefunded: 'compensation: the charge is given back',
};

async function showJourney(orderId) {
  let journey;
  try {
    journey = await api(`/api/orders/${orderId}/journey`, state.token ? { headers: { authorization: `Bearer ${state.token}` } } : {});
  } catch (error) {
    $('journey-empty').hidden = false;
    $('journey-empty').textContent = `Could not load the journey: ${error.message}`;
    return;
  }
  if (state.selected !== orderId) return;
  // A message stuck in a retry or a dead-letter queue changes nothing in the order: while its
  // journey is open and unfinished, look again now and then (this one order, not the list).
  clearTimeout(state.recheck);
  const unfinished = journey.outcome === 'in progress' || !journey.hops.some((h) => h.type === 'NotificationSent');
  if (unfinished) state.recheck = setTimeout(() => state.selected === orderId && showJourney(orderId), 1000);
  $('journey-empty').hidden = true;
  $('journey-body').hidden = false;
  $('journey-id').textContent = journey.orderId;
  $('journey-status').replaceWith(Object.assign(badge(journey.status), { id: 'journey-status' }));
  const last = journey.hops.at(-1);
  $('journey-summary').textContent = [
    `${journey.items.map((i) => `${i.sku} ×${i.quantity}`).join(', ')} · ${money(journey.total)}`,
    journey.outcome === 'in progress' ? 'in progress' : `${journey.outcome} after ${ms(last ? last.sincePlacedMs : 0)}`,
    journey.compensated ? 'compensated' : null,
  ]
    .filter(Boolean)
    .join(' · ');

  const links = [];
  if (journey.traceUrl) links.push(el('a', { href: journey.traceUrl, target: '_blank', rel: 'noopener' }, 'Trace in Jaeger ↗'));
  else if (journey.traceId) links.push(el('span', { class: 'mono' }, `trace ${journey.traceId}`));
  if (journey.mailpitUrl) links.push(el('a', { href: journey.mailpitUrl, target: '_blank', rel: 'noopener' }, 'Customer inbox (Mailpit) ↗'));
  $('journey-links').replaceChildren(...links);

  const events = journey.hops.map((hop, i) => ({
    at: hop.at,
    node: el(
      'li',
      { class: `${hop.kind} svc-${hop.producer}`, 'data-event': hop.type },
      el('span', { class: 'event' }, hop.type),
      el('span', { class: 'svc' }, hop.producer),
      el('div', { class: 'times' }, i === 0 ? `placed ${new Date(hop.at).toLocaleTimeString()}` : `+${ms(hop.sincePlacedMs)} since placed · ${ms(hop.sinceLastMs)} after ${journey.hops[i - 1].type}`),
      NOTES[hop.type] ? el('div', { class: 'note' }, NOTES[hop.type]) : null,
    ),
  }));
  // Retries and dead-lettering change nothing in the order: they come from each service's record
  // of failed attempts, placed in time between the events.
  const failures = journey.failedAttempts.map((f) => ({ at: f.at, node: failedAttemptItem(f) }));
  const entries = [...events, ...failures].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)).map((e) => e.node);
  if (journey.outcome === 'in progress' || !journey.hops.some((h) => h.type === 'NotificationSent')) {
    entries.push(el('li', { class: 'waiting' }, waitingFor(journey)));
  }
  $('timeline').replaceChildren(...entries);

  $('journey-dead').hidden = journey.deadLetters.length === 0;
  const replayHere = async (action, selection, service) => {
    await admin(`/api/admin/dead-letters/${service}/${action}`, { method: 'POST', body: selection }).catch((e) => alert(e.message));
    void loadDeadLetters();
    void showJourney(orderId);
  };
  $('journey-dead-list').replaceChildren(
    ...journey.deadLetters.map((d) => deadLetterItem(d, { withService: true, onAction: state.token ? (action, selection) => replayHere(action, selection, d.service) : undefined })),
  );

  // The gateway's own ledger: what the card holder sees, one entry per idempotency key.
  $('journey-gateway').replaceChildren(
    ...(journey.gatewayEntries.length
      ? journey.gatewayEntries.map((g) =>
          el(
            'li',
            { 'data-ledger-kind': g.kind, 'data-outcome': g.outcome },
            el('span', { class: 'outcome' }, g.kind === 'refund' ? 'refunded' : `charge ${g.outcome}`),
            ` · ${money(g)}${g.declineReason ? ` · ${g.declineReason}` : ''}`,
            el('span', { class: 'meta' }, `Idempotency-Key ${g.idempotencyKey} · +${ms(g.sincePlacedMs)} since placed`),
          ),
        )
      : [el('li', { class: 'empty' }, 'Nothing charged yet.')]),
  );

  $('journey-notes').replaceChildren(
    ...(journey.notifications.length
      ? journey.notifications.map((n) =>
          el(
            'div',
            { class: 'note-card' },
            el('p', { class: 'subject' }, n.subject),
            // The address and the body are personal data: the notification service shows them only
            // to a request carrying the admin token, which the journey does not send.
            el('p', { class: 'meta' }, `${n.kind} · by ${n.channel}${n.recipient ? ` to ${n.recipient}` : ''} · ${new Date(n.sentAt).toLocaleTimeString()}`),
            ...(n.body ? [el('pre', {}, n.body)] : []),
          ),
        )
      : [el('p', { class: 'empty' }, 'Nothing yet.')]),
  );
}

function failedAttemptItem(f) {
  const which = `${f.replay ? `replay ${f.replay}, ` : ''}attempt ${f.attempt}`;
  const next = f.outcome === 'retried' ? `retried in ${ms(f.retryDelayMs ?? 0)}` : `dead-lettered to ${f.service}.dlq (${f.deadLetterReason ?? 'failed'})`;
  return el(
    'li',
    { class: `${f.outcome === 'retried' ? 'retry' : 'dead'} svc-${f.service}`, 'data-failed-attempt': String(f.attempt), 'data-outcome': f.outcome },
    el('span', { class: 'event' }, `${f.eventType}: ${which} failed`),
    el('span', { class: 'svc' }, f.service),
    el('div', { class: 'times' }, `+${ms(f.sincePlacedMs)} since placed · ${next}`),
    // The error's message is shown to the admin token only; everyone sees what kind of error it was.
    el('div', { class: 'note reason' }, f.error ? `${f.errorName}: ${f.error}` : f.errorName),
  );
}

/** What an unfinished journey waits for: the next event, a retry, or someone to replay a dead letter. */
function waitingFor(journey) {
  const lastEvent = Date.parse(journey.hops.at(-1)?.at ?? journey.placedAt);
  const since = journey.failedAttempts.filter((f) => Date.parse(f.at) >= lastEvent);
  if (journey.deadLetters.length || since.some((f) => f.outcome === 'dead-lettered')) return 'stopped: a message is in a dead-letter queue';
  const retry = since.at(-1);
  if (retry) return `retrying: ${retry.eventType} attempt ${retry.attempt + 1} in ${retry.service}…`;
  return 'waiting for the next event…';
}

// --- stock --------------------------------------------------------------------------------------

async function loadStock() {
  try {
    const { stock } = await api('/api/stock');
    $('stock-body').replaceChildren(
      ...stock.map((s) =>
        el(
          'tr',
          { 'data-sku': s.sku },
          el('td', {}, el('span', { class: 'mono' }, s.sku), el('span', { class: 'name' }, s.name)),
          el('td', { class: 'num' }, s.available === null ? '—' : s.available.toLocaleString('en')),
          el('td', { class: 'num' }, s.reserved === null ? '—' : s.reserved.toLocaleString('en')),
        ),
      ),
    );
  } catch (error) {
    $('stock-body').replaceChildren(el('tr', {}, el('td', { colspan: '3' }, `Stock unavailable: ${error.message}`)));
  }
}
$('stock-refresh').addEventListener('click', loadStock);

// --- operations: dead letters -------------------------------------------------------------------

const admin = (path, options = {}) => api(path, { ...options, headers: { authorization: `Bearer ${state.token}` } });

function deadLetterItem(d, { withService = false, onAction } = {}) {
  return el(
    'li',
    { 'data-dead-letter': d.id },
    el('strong', {}, d.type ?? 'unknown event'),
    withService ? el('span', { class: 'svc' }, `in ${d.service}.dlq`) : null,
    el('span', { class: 'reason' }, d.error ?? d.reason ?? 'no reason recorded'),
    el('span', { class: 'meta' }, `${d.attempts ?? '?'} attempt${d.attempts === 1 ? '' : 's'}${d.replayCount ? ` · replayed ${d.replayCount}×` : ''}${d.orderId ? ` · order ${d.orderId.slice(0, 8)}` : ''}`),
    onAction
      ? el(
          'span',
          { class: 'actions' },
          el('button', { type: 'button', class: 'ghost', onclick: () => onAction('replay', { ids: [d.id] }), 'aria-label': `Replay ${d.type} ${d.id}` }, 'Replay'),
          el('button', { type: 'button', class: 'ghost danger', onclick: () => onAction('purge', { ids: [d.id] }), 'aria-label': `Purge ${d.type} ${d.id}` }, 'Purge'),
        )
      : null,
  );
}

/** One failure group: how many letters, since when, how it failed, its newest letter, and what to do with all of them. */
function deadLetterGroupItem(g, onAction) {
  const orderId = (() => {
    try {
      return JSON.parse(g.sample.body).orderId;
    } catch {
      return undefined;
    }
  })();
  return el(
    'li',
    { 'data-group': g.id },
    el('span', { class: 'count', title: 'dead letters in this group' }, `${g.count}×`),
    el('strong', {}, g.type),
    el('span', { class: 'class' }, g.errorClass),
    el('span', { class: 'reason' }, g.message || 'no message recorded'),
    el('span', { class: 'meta' }, `first ${ago(g.firstSeenAt)} · last ${ago(g.lastSeenAt)}${g.replayCount ? ` · replayed ${g.replayCount}×` : ''}`),
    el(
      'span',
      { class: 'actions' },
      el('button', { type: 'button', class: 'ghost', onclick: () => onAction('replay', { group: g.id }), 'aria-label': `Replay group ${g.id} (${g.count})` }, 'Replay group'),
      el(
        'button',
        { type: 'button', class: 'ghost danger', onclick: () => confirm(`Delete the ${g.count} dead letter(s) of this group for good?`) && onAction('purge', { group: g.id }), 'aria-label': `Purge group ${g.id} (${g.count})` },
        'Purge group',
      ),
    ),
    el(
      'details',
      {
        class: 'sample',
        // The list is drawn anew every few seconds: a sample someone opened stays open.
        ...(state.openSamples.has(g.id) ? { open: '' } : {}),
        ontoggle: (event) => (event.target.open ? state.openSamples.add(g.id) : state.openSamples.delete(g.id)),
      },
      el('summary', {}, `Newest: ${g.sample.id}${orderId ? ` · order ${String(orderId).slice(0, 8)}` : ''}${g.sample.error ? ` · ${g.sample.error}` : ''}`),
      el('pre', {}, g.sample.body),
    ),
  );
}

async function loadDeadLetters() {
  let services;
  try {
    ({ services } = await admin('/api/admin/dead-letters'));
  } catch (error) {
    if (error.status === 401) return lock('That token was refused.');
    $('dlq').replaceChildren(el('p', { class: 'error' }, error.message));
    return;
  }
  $('dlq').replaceChildren(
    ...services.map((s) => {
      const act = async (action, selection) => {
        await admin(`/api/admin/dead-letters/${s.service}/${action}`, { method: 'POST', body: selection }).catch((e) => alert(e.message));
        await loadDeadLetters();
        if (state.selected) void showJourney(state.selected);
      };
      return el(
        'section',
        { class: 'dlq-service', 'data-service': s.service, 'aria-label': `${s.service} dead letters` },
        el(
          'header',
          {},
          el('h4', {}, s.service),
          el('span', { class: `badge ${s.count ? 'CANCELLED' : 'COMPLETED'}` }, s.available ? `${s.count} dead` : 'unavailable'),
          s.count
            ? el(
                'span',
                { class: 'actions' },
                el('button', { type: 'button', class: 'ghost', onclick: () => act('replay', { all: true }) }, 'Replay all'),
                el('button', { type: 'button', class: 'ghost danger', onclick: () => confirm(`Delete every dead letter of ${s.service} for good?`) && act('purge', { all: true }) }, 'Purge all'),
              )
            : null,
        ),
        s.groupsError ? el('p', { class: 'error' }, `Not grouped by failure: ${s.groupsError}`) : null,
        s.groups.length ? el('h5', {}, 'By failure') : null,
        s.groups.length ? el('ul', { class: 'dead-list dead-groups' }, ...s.groups.map((g) => deadLetterGroupItem(g, act))) : null,
        s.messages.length ? el('h5', {}, 'Messages') : null,
        s.messages.length ? el('ul', { class: 'dead-list' }, ...s.messages.map((d) => deadLetterItem(d, { onAction: act }))) : null,
      );
    }),
  );
}
$('dlq-refresh').addEventListener('click', loadDeadLetters);

function lock(message = '') {
  clearInterval(state.dlqTimer);
  state.token = null;
  sessionStorage.removeItem('troupe-admin-token');
  $('unlock').hidden = false;
  $('ops-body').hidden = true;
  $('unlock-error').textContent = message;
}

function unlocked() {
  $('unlock').hidden = true;
  $('ops-body').hidden = false;
  void loadDeadLetters();
  void loadFaults();
  if (state.selected) void showJourney(state.selected);
  // The map's drift samples are shown to the admin token: draw it again with them.
  state.choreography?.refresh();
  // Messages reach a dead-letter queue without any order changing: keep the counts fresh.
  clearInterval(state.dlqTimer);
  state.dlqTimer = setInterval(() => state.token && loadDeadLetters(), 5000);
}

// --- operations: fault switches -----------------------------------------------------------------

const LABELS = {
  gatewayFailureRate: 'Gateway failure rate',
  gatewayLatencyMs: 'Gateway latency',
  notificationDeliveryFailureRate: 'Delivery failure rate',
  inventorySlownessMs: 'Reservation slowness',
};

async function loadFaults() {
  let services;
  try {
    ({ services } = await admin('/api/admin/faults'));
  } catch (error) {
    if (error.status === 401) return lock('That token was refused.');
    $('faults').replaceChildren(el('p', { class: 'error' }, error.message));
    return;
  }
  $('faults').replaceChildren(...services.map(faultForm));
}

function faultForm({ service, available, flags }) {
  const status = el('p', { class: 'fault-status', role: 'status' });
  const rows = Object.entries(flags).map(([key, flag]) => {
    const ratio = flag.unit === 'ratio';
    const id = `fault-${key}`;
    const active = flag.value !== flag.defaultValue;
    return el(
      'div',
      { class: `fault ${active ? 'on' : ''}` },
      el('label', { for: id }, `${LABELS[key] ?? key} (${ratio ? '%' : 'ms'})`),
      el('input', {
        id,
        name: key,
        type: 'number',
        min: String(ratio ? flag.min * 100 : flag.min),
        max: String(ratio ? flag.max * 100 : flag.max),
        step: ratio ? '5' : '50',
        value: String(ratio ? Math.round(flag.value * 100) : flag.value),
        'data-unit': flag.unit,
        'aria-describedby': `${id}-help`,
      }),
      el('span', { class: 'help', id: `${id}-help` }, `${flag.description}${active ? ' · ON' : ''}`),
    );
  });
  const form = el(
    'form',
    { class: 'fault-form', 'data-service': service, 'aria-label': `${service} fault switches`, novalidate: '' },
    el('h4', {}, service),
    ...(available ? rows : [el('p', { class: 'error' }, 'unavailable')]),
    available
      ? el(
          'div',
          { class: 'inline' },
          el('button', { type: 'submit', class: 'primary', 'aria-label': `Apply to ${service}` }, 'Apply'),
          el('button', { type: 'button', class: 'ghost', onclick: () => apply(service, Object.fromEntries(Object.keys(flags).map((k) => [k, flags[k].defaultValue])), status) }, 'All off'),
        )
      : null,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const change = {};
    for (const input of form.querySelectorAll('input')) {
      const value = Number(input.value);
      change[input.name] = input.dataset.unit === 'ratio' ? value / 100 : value;
    }
    void apply(service, change, status);
  });
  return form;
}

async function apply(service, change, status) {
  try {
    await admin(`/api/admin/faults/${service}`, { method: 'PUT', body: change });
    await loadFaults();
  } catch (error) {
    status.textContent = error.body?.details ? `${error.body.details.map((d) => `${LABELS[d.field] ?? d.field}: ${d.message}`).join('; ')}` : error.message;
    status.className = 'fault-status error';
  }
}
$('faults-refresh').addEventListener('click', loadFaults);

$('unlock').addEventListener('submit', (event) => {
  event.preventDefault();
  state.token = $('admin-token').value;
  sessionStorage.setItem('troupe-admin-token', state.token);
  $('admin-token').value = '';
  unlocked();
});

// --- start --------------------------------------------------------------------------------------

async function start() {
  state.settings = await api('/api/settings');
  const { settings } = state;
  $('f-sku').replaceChildren(...settings.catalogue.map((c) => el('option', { value: c.sku }, `${c.sku} — ${c.name}`)));
  const tools = [];
  if (settings.jaegerUiUrl) tools.push(el('a', { href: settings.jaegerUiUrl, target: '_blank', rel: 'noopener' }, 'Jaeger'));
  if (settings.mailpitUrl) tools.push(el('a', { href: settings.mailpitUrl, target: '_blank', rel: 'noopener' }, 'Mailpit'));
  $('tools').replaceChildren(...tools);
  if (!settings.admin) $('ops-off').hidden = false;
  else if (state.token) unlocked();
  else lock();
  listen();
  void loadStock();
  state.choreography = startChoreography({ el, api, admin, hasToken: () => Boolean(state.token), select, ago, settings });
  setInterval(() => renderOrders(state.orders), 10_000); // keeps "placed … ago" honest
}

void start();
