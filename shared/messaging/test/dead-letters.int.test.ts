import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { context as otelContext, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { anEvent, createTestDatabase, eventually } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DeadLetterGroup } from '../src';
import { PermanentError } from '../src/errors';
import { behaviour, broker, db, deadCount, deadLetters, effects, messaging, metric, pool, usePaymentService, vhost } from './payment-service';

// Dead letters, as the payment service: kept in its database, listed, replayed (traced), and the CLI.
usePaymentService();

describe('messaging: dead letters', () => {
  const deadLetterOne = async (event: ReturnType<typeof anEvent<'OrderPlaced'>>) => {
    let broken = true;
    behaviour.set(event.orderId, () => {
      if (broken) throw new PermanentError('customer blocked');
    });
    await broker.publish('order.events', event);
    await eventually(async () => (await deadCount()) === 1, { what: 'message dead-lettered' });
    return () => {
      broken = false;
    };
  };

  it('when listed, then the message shows its reason, error and queue, and stays where it is', async () => {
    const event = anEvent('OrderPlaced');
    await deadLetterOne(event);
    const [letter] = await messaging.deadLetters((dlq) => dlq.list());
    expect(letter).toMatchObject({ id: event.id, type: 'OrderPlaced', queue: 'payment.order.events', reason: 'permanent', attempts: 1 });
    expect(letter!.error).toMatch(/customer blocked/);
    expect(await deadCount()).toBe(1);
    expect(await broker.depth('payment.dlq')).toBe(0);
  });

  it('when listed and counted 100 times, then the dead letter is unchanged, headers and body, and a replay still handles it', async () => {
    const event = anEvent('OrderPlaced');
    const fix = await deadLetterOne(event);
    const [before] = await deadLetters();
    for (let i = 0; i < 100; i++) {
      const [count, listed] = await messaging.deadLetters(async (dlq) => [await dlq.count(), await dlq.list()] as const);
      expect(count).toBe(1);
      expect(listed.map((l) => l.id)).toEqual([event.id]);
    }
    expect(await deadLetters()).toEqual([before]);
    fix();
    await messaging.deadLetters((dlq) => dlq.replay({ ids: [event.id] }));
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'replayed message handled' });
  });

  it('when poison has a NUL byte in its body, no message id, and a byte-array header, then it is kept and listed as it came', async () => {
    const body = Buffer.from('{"id": "\u0000 not json');
    for (const tag of ['first', 'second']) {
      await broker.channel.sendToQueue('payment.order.events', body, { headers: { 'x-sender': tag, 'x-bytes': Buffer.from([0, 1, 2]) } });
    }
    const letters = await eventually(async () => {
      const listed = await messaging.deadLetters((dlq) => dlq.list());
      return listed.length === 2 && listed;
    }, { what: 'both poison messages among the dead letters' });
    // One body, two messages: two dead letters.
    expect(new Set(letters.map((l) => l.id)).size).toBe(2);
    expect(letters.map((l) => [l.reason, l.body, Buffer.isBuffer(l.headers['x-bytes'])])).toEqual([
      ['poison', body.toString(), true],
      ['poison', body.toString(), true],
    ]);
  });

  it('when the keeper finds a dead letter it already kept (redelivered before its ack), then it is kept once', async () => {
    const event = anEvent('OrderPlaced');
    await deadLetterOne(event);
    const [kept] = await deadLetters();
    const keptBefore = await metric('troupe_dead_letters_kept_total', {});
    await broker.channel.sendToQueue('payment.dlq', kept!.content, { ...kept!.properties, headers: kept!.properties.headers } as never);
    // Kept (acked) as a copy it already had, not held: a keeper that failed on it would never count it.
    await eventually(async () => (await metric('troupe_dead_letters_kept_total', {})) === keptBefore + 1, { what: 'the copy kept' });
    expect(await deadLetters()).toEqual([kept]);
  });

  it('when replayed, then it goes back to its own queue only, is handled once, and leaves the DLQ', async () => {
    const event = anEvent('OrderPlaced');
    const fix = await deadLetterOne(event);
    fix();
    const before = await metric('troupe_dlq_replayed_total', { queue: 'payment.order.events' });
    const replayed = await messaging.deadLetters((dlq) => dlq.replay({ ids: [event.id] }));
    expect(replayed.map((r) => r.id)).toEqual([event.id]);
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'replayed message handled' });
    expect(await deadCount()).toBe(0);
    expect(await broker.depth('observer')).toBe(1); // the fanout exchange saw it once, at first publish
    expect(await metric('troupe_dlq_replayed_total', { queue: 'payment.order.events' })).toBe(before + 1);
  });

  it('when one message of several is replayed or purged, then the others stay', async () => {
    const first = anEvent('OrderPlaced');
    const second = anEvent('OrderPlaced');
    await deadLetterOne(first);
    behaviour.set(second.orderId, () => {
      throw new PermanentError('also blocked');
    });
    await broker.publish('order.events', second);
    await eventually(async () => (await deadCount()) === 2, { what: 'two dead letters' });
    const purged = await messaging.deadLetters((dlq) => dlq.purge({ ids: [second.id] }));
    expect(purged.map((p) => p.id)).toEqual([second.id]);
    const left = await messaging.deadLetters((dlq) => dlq.list());
    expect(left.map((l) => l.id)).toEqual([first.id]);
  });
});

describe('messaging: dead letters grouped by failure', () => {
  /** `n` orders whose payment fails alike but for the order id and amount in the error, dead-lettered. */
  const failAlike = async (n: number, error: (orderId: string, i: number) => Error) => {
    const events = Array.from({ length: n }, () => anEvent('OrderPlaced'));
    const before = await deadCount();
    for (const [i, event] of events.entries()) behaviour.set(event.orderId, () => { throw error(event.orderId, i); });
    for (const event of events) await broker.publish('order.events', event);
    await eventually(async () => (await deadCount()) === before + n, { what: `${n} dead-lettered` });
    return events;
  };
  const groupsNow = () => messaging.deadLetters((dlq) => dlq.groups());

  it('when a replayed group fails again, then it comes back into the same group, all N of it, with replay count 1', async () => {
    const N = 4;
    const events = await failAlike(N, (orderId, i) => new PermanentError(`order ${orderId} refused: ${100 + i * 7}.50 over the limit`));
    const [group, ...others] = (await groupsNow()).filter((g) => g.message === 'order <uuid> refused: <n> over the limit');
    expect(others).toEqual([]);
    expect(group).toMatchObject({ service: 'payment', type: 'OrderPlaced', errorClass: 'PermanentError', count: N, replayCount: 0 });
    expect(events.map((e) => e.id)).toContain(group!.sample.id);
    expect(group!.sample).toMatchObject({ reason: 'permanent', errorName: 'PermanentError', queue: 'payment.order.events' });
    expect(JSON.parse(group!.sample.body)).toMatchObject({ type: 'OrderPlaced' });

    const replayed = await messaging.deadLetters((dlq) => dlq.replay({ group: group!.id }));
    expect(replayed.map((r) => r.id).sort()).toEqual(events.map((e) => e.id).sort());

    // Still failing: each is dead-lettered again, as a row of its own (replay count 1) in the same group.
    const again = await eventually(async () => {
      const found = (await groupsNow()).find((g) => g.id === group!.id);
      return found?.count === N && found.sample.replayCount === 1 && found;
    }, { what: 'the group back with all of its letters, replayed once' });
    expect(again).toMatchObject({ count: N, replayCount: 1, errorClass: 'PermanentError' });
    expect((await groupsNow()).filter((g) => g.message === group!.message)).toHaveLength(1);

    await messaging.deadLetters((dlq) => dlq.purge({ group: group!.id }));
    expect((await groupsNow()).map((g) => g.id)).not.toContain(group!.id);
  });

  it('when a group is purged or replayed, then the letters of other groups stay', async () => {
    const [blocked] = await failAlike(1, () => new PermanentError('customer blocked'));
    const [limited] = await failAlike(1, (orderId) => new PermanentError(`order ${orderId} over its limit`));
    const groups = await groupsNow();
    const ofBlocked = groups.find((g) => g.sample.id === blocked!.id)!;
    expect(groups.find((g) => g.sample.id === limited!.id)!.id).not.toBe(ofBlocked.id);
    const purged = await messaging.deadLetters((dlq) => dlq.purge({ group: ofBlocked.id }));
    expect(purged.map((p) => p.id)).toEqual([blocked!.id]);
    expect((await messaging.deadLetters((dlq) => dlq.list(10_000))).map((l) => l.id)).toContain(limited!.id);
    await messaging.deadLetters((dlq) => dlq.purge({ all: true }));
  });

  it('when dead letters were kept before fingerprints, then grouping gives them theirs, and they group with new ones of the same failure', async () => {
    const [old, recent] = await failAlike(2, (orderId) => new PermanentError(`order ${orderId} has no card on file`));
    await pool.query('UPDATE troupe_dead_letters SET fingerprint = NULL WHERE id = $1', [old!.id]);
    const [group] = (await groupsNow()).filter((g) => g.message === 'order <uuid> has no card on file');
    expect(group).toMatchObject({ count: 2, errorClass: 'PermanentError' });
    const { rows } = await pool.query<{ fingerprint: string }>('SELECT fingerprint FROM troupe_dead_letters WHERE id = ANY($1)', [[old!.id, recent!.id]]);
    expect(rows.map((r) => r.fingerprint)).toEqual([group!.id, group!.id]);
    await messaging.deadLetters((dlq) => dlq.purge({ all: true }));
  });
});

describe('messaging: tracing', () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  });
  afterAll(() => {
    trace.disable();
    propagation.disable();
    otelContext.disable();
  });

  it('when a dead letter is replayed, then it is processed in a new trace linked to the one it failed in', async () => {
    const event = anEvent('OrderPlaced');
    let broken = true;
    behaviour.set(event.orderId, () => {
      if (broken) throw new PermanentError('not yet');
    });
    const original = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    await broker.publish('order.events', event, { headers: { traceparent: `00-${original.traceId}-${original.spanId}-01` } });
    await eventually(async () => (await deadCount()) === 1, { what: 'dead-lettered' });
    broken = false;
    exporter.reset();

    await messaging.deadLetters((dlq) => dlq.replay({ ids: [event.id] }));
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'replay handled' });

    const spans = exporter.getFinishedSpans();
    const replay = spans.find((s) => s.name === 'replay payment.order.events');
    const processed = await eventually(() => exporter.getFinishedSpans().find((s) => s.name === 'process payment.order.events' && s.attributes['messaging.message.id'] === event.id));
    expect(replay).toBeDefined();
    expect(replay!.spanContext().traceId).not.toBe(original.traceId);
    expect(replay!.links.map((l) => l.context)).toEqual([expect.objectContaining(original)]);
    expect(processed.spanContext().traceId).toBe(replay!.spanContext().traceId);
    expect(processed.parentSpanContext?.spanId).toBe(replay!.spanContext().spanId);
  });
});

describe('the troupe CLI', () => {
  /** The CLI against this file's vhost and `databaseUrl` (the payment database by default). */
  const cliIn = (databaseUrl: string, ...args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [join(__dirname, '..', '..', 'cli', 'dist', 'main.js'), ...args], {
        env: { ...process.env, RABBITMQ_URL: vhost.url, DATABASE_URL: databaseUrl },
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      child.on('exit', (code) => resolve({ code, out }));
    });
  const cli = (...args: string[]) => cliIn(db.url, ...args);

  it('when an operator lists and replays a dead letter with the CLI, then it is handled and no dead letter is left', async () => {
    const event = anEvent('OrderPlaced');
    let broken = true;
    behaviour.set(event.orderId, () => {
      if (broken) throw new PermanentError('card service down');
    });
    await broker.publish('order.events', event);
    await eventually(async () => (await deadCount()) === 1, { what: 'dead-lettered' });

    const listed = await cli('dlq', 'list', '--service', 'payment', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out)).toMatchObject({ count: 1, messages: [{ id: event.id, reason: 'permanent', queue: 'payment.order.events' }] });

    broken = false;
    const replayed = await cli('dlq', 'replay', '--service', 'payment', '--id', event.id);
    expect(replayed).toMatchObject({ code: 0, out: expect.stringContaining(`replayed ${event.id} → payment.order.events`) });
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'replayed message handled' });
    expect(await deadCount()).toBe(0);
  });

  it('when an operator lists failure groups with the CLI, then a table shows each once with its count, and a group is replayed and purged by its id', async () => {
    const events = [anEvent('OrderPlaced'), anEvent('OrderPlaced')];
    let broken = true;
    for (const [i, event] of events.entries()) {
      behaviour.set(event.orderId, () => {
        if (broken) throw new PermanentError(`card ${4000 + i} for order ${event.orderId} expired`);
      });
    }
    const before = await deadCount();
    for (const event of events) await broker.publish('order.events', event);
    await eventually(async () => (await deadCount()) === before + 2, { what: 'both dead-lettered' });

    const json = await cli('dlq', 'groups', '--service', 'payment', '--json');
    expect(json.code).toBe(0);
    const group = (JSON.parse(json.out) as { groups: DeadLetterGroup[] }).groups.find((g) => g.message === 'card <n> for order <uuid> expired')!;
    expect(group).toMatchObject({ count: 2, type: 'OrderPlaced', errorClass: 'PermanentError', replayCount: 0 });

    const table = await cli('dlq', 'groups', '--service', 'payment');
    expect(table.code).toBe(0);
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^payment's dead letters: \d+ message\(s\) in \d+ group\(s\)$/);
    expect(lines[1]).toMatch(/^GROUP +COUNT +FIRST SEEN +LAST SEEN +REPLAYS +TYPE +CLASS +MESSAGE$/);
    expect(lines.find((l) => l.startsWith(group.id))).toMatch(new RegExp(`^${group.id} +2 +\\S+ +\\S+ +0 +OrderPlaced +PermanentError +card <n> for order <uuid> expired$`));

    // Replayed while still failing, the group comes back whole, replayed once; then purged.
    const replayed = await cli('dlq', 'replay', '--service', 'payment', '--group', group.id);
    expect(replayed).toMatchObject({ code: 0, out: expect.stringContaining('2 message(s) replayed') });
    await eventually(async () => {
      const again = (await messaging.deadLetters((dlq) => dlq.groups())).find((g) => g.id === group.id);
      return again?.count === 2 && again.replayCount === 1;
    }, { what: 'the group back, replayed once' });
    const purged = await cli('dlq', 'purge', '--service', 'payment', '--group', group.id);
    expect(purged).toMatchObject({ code: 0, out: expect.stringContaining('2 message(s) purged') });
    expect(await cli('dlq', 'purge', '--service', 'payment', '--group', group.id)).toMatchObject({ code: 2, out: expect.stringContaining(`no group ${group.id} in payment's dead letters`) });
    broken = false;
  });

  it('when a group id is malformed or given beside --all, then the CLI exits 2 and says why', async () => {
    expect(await cli('dlq', 'replay', '--service', 'payment', '--group', 'nope')).toMatchObject({ code: 2, out: expect.stringContaining('--group must be a group id: 16 hex digits') });
    expect(await cli('dlq', 'purge', '--service', 'payment', '--group', '0123456789abcdef', '--all')).toMatchObject({ code: 2, out: expect.stringContaining('give one of --all, --id or --group') });
  });

  it('when the service has never started (no dead-letter table yet), then list says so and exits 0, and replay exits 2 with the same words', async () => {
    const empty = await createTestDatabase(inject('databaseUrl'), 'messaging-cli', inject('access').inventory);
    try {
      const inEmpty = (...args: string[]) => cliIn(empty.url, ...args, '--service', 'inventory');
      const listed = await inEmpty('dlq', 'list');
      const note = 'no dead letters: the inventory database has no dead-letter table yet (the inventory service creates it when it first starts)';
      expect(listed).toEqual({ code: 0, out: `${note}\n` });
      const json = await inEmpty('dlq', 'list', '--json');
      expect(json.code).toBe(0);
      expect(JSON.parse(json.out)).toEqual({ count: 0, messages: [] });
      expect(await inEmpty('dlq', 'groups')).toEqual({ code: 0, out: `${note}\n` });
      expect(JSON.parse((await inEmpty('dlq', 'groups', '--json')).out)).toEqual({ count: 0, groups: [] });
      const replayed = await inEmpty('dlq', 'replay', '--all');
      expect(replayed).toMatchObject({ code: 2, out: expect.stringContaining('has no dead-letter table yet') });
    } finally {
      await empty.drop();
    }
  });

  it('when asked for a message that is not there, then it exits 2 and says so', async () => {
    const result = await cli('dlq', 'replay', '--service', 'payment', '--id', 'no-such-id');
    expect(result).toMatchObject({ code: 2, out: expect.stringContaining("not found in payment's dead letters: no-such-id") });
  });
});
