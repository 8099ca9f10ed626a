import { BrokerUnavailableError, type DeadLetters, type Selection } from '@troupe/messaging';
import type { Express, RequestHandler } from 'express';
import {
  deadLetterCountQuerySchema,
  deadLetterGroupsQuerySchema,
  deadLetterListQuerySchema,
  deadLetterSelectionSchema,
  type DeadLetterCount,
  type DeadLetterGroupList,
  type DeadLetterList,
  type DeadLetterPurgeResult,
  type DeadLetterReplayResult,
} from '@troupe/contracts';
import { HttpError, validationError } from '@troupe/platform';

const selectionSchema = deadLetterSelectionSchema;
const limitSchema = deadLetterListQuerySchema.shape.limit;

/**
 * The dead-letter queue over HTTP, for operators: list, group by failure, replay, purge (by ids,
 * by group, or all). Every route needs
 * `Authorization: Bearer <ADMIN_TOKEN>`; without a configured token they do not exist.
 */
export function adminRoutes(
  app: Express,
  deadLetters: <R>(work: (dlq: DeadLetters) => Promise<R>) => Promise<R>,
  guard: RequestHandler,
): void {
  const selection = (body: unknown): Selection => {
    const parsed = selectionSchema.safeParse(body);
    if (!parsed.success) throw validationError(parsed.error);
    return parsed.data;
  };

  // The broker being away is the server's condition, not the operator's mistake: 503.
  const withDlq = <R>(work: (dlq: DeadLetters) => Promise<R>) =>
    deadLetters(work).catch((error: unknown) => {
      throw error instanceof BrokerUnavailableError ? new HttpError(503, 'broker unavailable; try again') : error;
    });

  app.get('/admin/dlq', guard, async (req, res) => {
    const limit = limitSchema.safeParse(req.query.limit);
    if (!limit.success) throw validationError(limit.error);
    const [count, messages] = await withDlq(async (dlq) => [await dlq.count(), await dlq.list(limit.data)] as const);
    res.json({ count, messages } satisfies DeadLetterList);
  });
  app.get('/admin/dlq/groups', guard, async (req, res) => {
    const query = deadLetterGroupsQuerySchema.safeParse({ limit: req.query.limit });
    if (!query.success) throw validationError(query.error);
    const [count, groups] = await withDlq(async (dlq) => [await dlq.count(), await dlq.groups(query.data.limit)] as const);
    res.json({ count, groups } satisfies DeadLetterGroupList);
  });
  app.post('/admin/dlq/replay', guard, async (req, res) => {
    const wanted = selection(req.body);
    const replayed = await withDlq((dlq) => dlq.replay(wanted));
    res.json({ replayed: replayed.map((m) => ({ id: m.id, queue: m.queue })) } satisfies DeadLetterReplayResult);
  });
  app.post('/admin/dlq/purge', guard, async (req, res) => {
    const wanted = selection(req.body);
    const purged = await withDlq((dlq) => dlq.purge(wanted));
    res.json({ purged: purged.map((m) => m.id) } satisfies DeadLetterPurgeResult);
  });
}

/**
 * GET /dead-letters/count[?orderId=]: how many dead letters the service keeps (about one order), an operator's read behind
 * `guard` (the observer's map shows it per service). The count alone: the messages themselves,
 * their bodies and errors, stay behind the admin token.
 */
export function deadLetterCountRoute(
  app: Express,
  deadLetters: <R>(work: (dlq: DeadLetters) => Promise<R>) => Promise<R>,
  guard: RequestHandler,
): void {
  app.get('/dead-letters/count', guard, async (req, res) => {
    const query = deadLetterCountQuerySchema.safeParse(req.query);
    if (!query.success) throw validationError(query.error);
    res.json({ count: await deadLetters((dlq) => dlq.count(query.data.orderId)) } satisfies DeadLetterCount);
  });
}
