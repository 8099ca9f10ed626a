import { webDeadLettersSchema, type DeadLetter, type DeadLetterGroupList, type DeadLetterList } from '@troupe/contracts';
import { HttpError } from '@troupe/platform';
import { describe, expect, it } from 'vitest';
import { deadLetterPanelOf } from './dead-letters';

const orderId = '3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b';
const letter: DeadLetter = { id: 'e1', type: 'OrderPlaced', reason: 'permanent', error: 'PermanentError: no such customer', replayCount: 0, body: JSON.stringify({ orderId }), headers: {} };
const list: DeadLetterList = { count: 1, messages: [letter] };
const groups: DeadLetterGroupList = {
  count: 1,
  groups: [{ id: '0123456789abcdef', service: 'payment', type: 'OrderPlaced', errorClass: 'PermanentError', message: 'no such customer', count: 1, firstSeenAt: '2026-12-07T10:00:00.000Z', lastSeenAt: '2026-12-07T10:00:00.000Z', replayCount: 0, sample: letter }],
};

/** A service's admin API as the web front reads it: each path answers its body, or fails as `Upstream.get` does. */
const serviceAnswering = (answers: Record<string, unknown>) => ({
  get: async <T>(service: string, path: string): Promise<T> => {
    const route = path.split('?')[0]!;
    if (!(route in answers)) throw new HttpError(502, `the ${service} service answered 404 to ${route}`);
    return answers[route] as T;
  },
});
const panel = webDeadLettersSchema.shape.services.element;

describe("a service's dead-letter panel", () => {
  it('when the service answers both, then its messages and its groups are shown', async () => {
    const shown = panel.parse(await deadLetterPanelOf(serviceAnswering({ '/admin/dlq': list, '/admin/dlq/groups': groups }), 'payment'));
    expect(shown).toMatchObject({ service: 'payment', count: 1, available: true, messages: [{ id: 'e1', orderId }], groups: [{ id: '0123456789abcdef' }] });
    expect(shown.groupsError).toBeUndefined();
  });

  it('when the service cannot group its dead letters (an older one answers 404), then its messages are still shown, with why the groups are missing', async () => {
    const shown = panel.parse(await deadLetterPanelOf(serviceAnswering({ '/admin/dlq': list }), 'payment'));
    expect(shown).toMatchObject({ service: 'payment', count: 1, available: true, messages: [{ id: 'e1', orderId }], groups: [], groupsError: 'the payment service answered 404 to /admin/dlq/groups' });
  });

  it('when the service does not list its dead letters, then the panel is unavailable, naming why', async () => {
    const shown = panel.parse(await deadLetterPanelOf(serviceAnswering({ '/admin/dlq/groups': groups }), 'payment'));
    expect(shown).toMatchObject({ service: 'payment', count: 0, messages: [], groups: [], available: false, error: 'the payment service answered 404 to /admin/dlq' });
  });
});
