import { EventEmitter } from 'node:events';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { Request, Response } from 'express';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { admission } from './admission';

/** Just enough of a response for the gate: status/set/json, 'close', writableFinished. */
function aResponse() {
  const res = Object.assign(new EventEmitter(), {
    writableFinished: false,
    statusCode: 200,
    headers: {} as Record<string, string>,
    body: undefined as unknown,
    status(code: number) {
      res.statusCode = code;
      return res;
    },
    set(name: string, value: string) {
      res.headers[name] = value;
      return res;
    },
    json(body: unknown) {
      res.body = body;
      res.finish();
      return res;
    },
    finish() {
      res.writableFinished = true;
      res.emit('close');
    },
  });
  return res;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('admission', () => {
  it('when more requests arrive than may run, then the rest start in arrival order as turns free up', () => {
    const gate = admission({ maxInFlight: 2, maxWaitMs: 1000 });
    const started: number[] = [];
    const responses = Array.from({ length: 5 }, (_, i) => {
      const res = aResponse();
      gate({} as Request, res as unknown as Response, () => started.push(i));
      return res;
    });
    expect(started).toEqual([0, 1]);

    responses[1]!.finish();
    responses[0]!.finish();
    expect(started).toEqual([0, 1, 2, 3]);
    responses[3]!.finish();
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('when a request has waited maxWaitMs, then it is refused with 503 and Retry-After, and never started', () => {
    const shed = vi.fn();
    const gate = admission({ maxInFlight: 1, maxWaitMs: 500, onShed: shed });
    const started: string[] = [];
    const first = aResponse();
    gate({} as Request, first as unknown as Response, () => started.push('first'));
    const second = aResponse();
    gate({} as Request, second as unknown as Response, () => started.push('second'));

    vi.advanceTimersByTime(499);
    expect(second.writableFinished).toBe(false);
    vi.advanceTimersByTime(1);
    expect(second.statusCode).toBe(503);
    expect(second.headers['Retry-After']).toBe('1');
    expect(second.body).toEqual({ error: expect.stringContaining('overloaded') });
    expect(shed).toHaveBeenCalledTimes(1);

    first.finish();
    expect(started).toEqual(['first']);
    // Its turn was given back: the next request starts at once.
    gate({} as Request, aResponse() as unknown as Response, () => started.push('third'));
    expect(started).toEqual(['first', 'third']);
  });

  it('when a waiting client goes away, then it leaves the queue and the next one gets the turn', () => {
    const gate = admission({ maxInFlight: 1, maxWaitMs: 1000 });
    const started: number[] = [];
    const responses = Array.from({ length: 3 }, (_, i) => {
      const res = aResponse();
      gate({} as Request, res as unknown as Response, () => started.push(i));
      return res;
    });
    responses[1]!.emit('close');
    responses[0]!.finish();
    expect(started).toEqual([0, 2]);
  });

  it("when a waiting request gets its turn as another response closes, then it goes on in its own trace context, not that response's", () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const REQUEST = createContextKey('request');
      const inRequest = <T>(name: string, fn: () => T) => context.with(ROOT_CONTEXT.setValue(REQUEST, name), fn);
      const gate = admission({ maxInFlight: 1, maxWaitMs: 1000 });
      const seen: unknown[] = [];
      const first = aResponse();
      inRequest('first', () => gate({} as Request, first as unknown as Response, () => seen.push(context.active().getValue(REQUEST))));
      inRequest('second', () => gate({} as Request, aResponse() as unknown as Response, () => seen.push(context.active().getValue(REQUEST))));

      inRequest('first', () => first.finish()); // the first response closes in its own request's context
      expect(seen).toEqual(['first', 'second']);
    } finally {
      manager.disable();
      context.disable();
    }
  });

  it("when a waiting request's connection is gone by its turn (the server closing connections), then it is not started and the turn passes on", () => {
    const gate = admission({ maxInFlight: 1, maxWaitMs: 1000 });
    const started: number[] = [];
    const responses = Array.from({ length: 3 }, (_, i) => {
      const res = Object.assign(aResponse(), { socket: { destroyed: false } });
      gate({} as Request, res as unknown as Response, () => started.push(i));
      return res;
    });
    responses[1]!.socket.destroyed = true; // its 'close' not emitted yet
    responses[0]!.finish();
    expect(started).toEqual([0, 2]);
  });
});
