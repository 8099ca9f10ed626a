import type { EventType, TypedEvent } from '@troupe/contracts';
import type { Logger } from 'pino';
import type { UnitOfWork } from '../unit-of-work/unit-of-work';

/** What a handler gets besides its event: the transaction, the outbox, a logger bound to the message. */
export interface HandlerContext extends UnitOfWork {
  readonly log: Logger;
  /** 1 on the first delivery, 2 on the first retry, … */
  readonly attempt: number;
}

/**
 * The handler contract: return and the message is done (its effects and the events it published
 * commit together, then it is acked); throw and it is retried with backoff on this consumer's own
 * queue, or dead-lettered at once if the error is a `PermanentError`.
 */
export type Handler<T extends EventType> = (event: TypedEvent<T>, ctx: HandlerContext) => Promise<void>;
export type HandlerMap = { [T in EventType]?: Handler<T> };

/** One subscription: the exchange it listens to and the handler for each event type it cares about. */
export interface Subscription {
  exchange: string;
  handlers: HandlerMap;
}

export const subscribe = (exchange: string, handlers: HandlerMap): Subscription => ({ exchange, handlers });
