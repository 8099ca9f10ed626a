import { context } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export interface AdmissionOptions {
  /** Requests handled at once; the rest wait in arrival order. */
  maxInFlight: number;
  /** Longest a request may wait for its turn before it is refused with 503. */
  maxWaitMs: number;
  /** Called for each request refused. */
  onShed?: () => void;
  /** Called with each admitted request's wait, in seconds. */
  onAdmitted?: (waitSeconds: number) => void;
}

/** Seconds a refused client is asked to wait before trying again. */
export const SHED_RETRY_AFTER_SECONDS = 1;

interface Waiting {
  admit: () => void;
  timer: NodeJS.Timeout;
}

/**
 * Bounded, first-come-first-served admission: at most `maxInFlight` requests run; later ones queue
 * in arrival order, and one that has waited `maxWaitMs` is answered 503 + Retry-After at once
 * rather than left to wait without bound. Without it, every request in a burst starts at once
 * and they compete for the pool and the CPU in no particular order, so some wait many times
 * longer than others.
 */
export function admission(options: AdmissionOptions): RequestHandler {
  const { maxInFlight, maxWaitMs } = options;
  let inFlight = 0;
  const queue: Waiting[] = [];

  const release = () => {
    const next = queue.shift();
    if (next) {
      clearTimeout(next.timer);
      next.admit();
    } else {
      inFlight -= 1;
    }
  };

  return (_req: Request, res: Response, next: NextFunction) => {
    const arrived = performance.now();
    // A waiting request is let in from another response's 'close' listener: it must go on in its
    // own trace context, not in that response's.
    const own = context.active();
    const start = () => {
      // Let in as the server closes connections at shutdown: no one is left to answer.
      if (res.destroyed || res.socket?.destroyed === true) return release();
      options.onAdmitted?.((performance.now() - arrived) / 1000);
      // 'close' fires once whether the response finished or the client went away.
      res.once('close', release);
      context.with(own, next);
    };
    if (inFlight < maxInFlight) {
      inFlight += 1;
      start();
      return;
    }
    const waiting: Waiting = {
      admit: start,
      timer: setTimeout(() => {
        queue.splice(queue.indexOf(waiting), 1);
        options.onShed?.();
        res
          .status(503)
          .set('Retry-After', String(SHED_RETRY_AFTER_SECONDS))
          .json({ error: `overloaded: the request waited ${maxWaitMs} ms without being served; try again later` });
      }, maxWaitMs),
    };
    queue.push(waiting);
    // A client that gives up while waiting leaves the queue.
    res.once('close', () => {
      if (res.writableFinished) return;
      const at = queue.indexOf(waiting);
      if (at >= 0) {
        clearTimeout(waiting.timer);
        queue.splice(at, 1);
      }
    });
  };
}
