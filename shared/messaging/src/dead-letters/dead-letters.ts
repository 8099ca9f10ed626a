import { ownExchangeOf, type DeadLetter, type DeadLetterGroup, type ServiceName } from '@troupe/contracts';
import type { Pool } from 'pg';
import { UnroutableError } from '../errors';
import { HEADER, copyHeaders, forwardOptions, numberHeader } from '../headers';
import type { ConfirmPublisher } from '../broker/publisher';
import { endSpan, startReplaySpan } from '../tracing';
import { failureOf, fingerprint } from './fingerprint';
import { fingerprintTheRest, listGroups } from './groups';
import { asMessage, COLUMNS, deadLetterId, describeDeadLetter, type Row, type StoredMessage } from './letter';

export { describeDeadLetter, type StoredMessage };

/** A dead-lettered message as an operator sees it: one of GET /admin/dlq's `messages`. */
export type { DeadLetter };

/** Dead letters that failed the same way: one of GET /admin/dlq/groups's `groups`. */
export type { DeadLetterGroup };

/** A dead letter sent back to the queue it failed on. */
export type ReplayedDeadLetter = DeadLetter & { queue: string };

/** Which dead letters a replay or purge takes: all of them, these ids, or one failure group (`DeadLetters.groups`). */
export type Selection = { all: true } | { ids: readonly string[] } | { group: string };

/**
 * Keeps one message in the table; a copy seen again (the broker redelivering it after the keeper
 * lost its channel before the ack) finds its row and changes nothing.
 */
export async function keepDeadLetter(pool: Pool, service: ServiceName, message: StoredMessage): Promise<void> {
  await pool.query(
    'INSERT INTO troupe_dead_letters (id, replay_count, properties, body, fingerprint) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
    [
      deadLetterId(message),
      numberHeader(message.properties, HEADER.replayCount) ?? 0,
      JSON.stringify(message.properties),
      message.content,
      fingerprint(failureOf(service, describeDeadLetter(message))),
    ],
  );
}

/** The rows `selection` names: `$1` the ids (null for all or a group), `$2` the group (null unless one). */
const WHERE_SELECTED = '($1::text[] IS NULL OR id = ANY($1)) AND ($2::text IS NULL OR fingerprint = $2)';
/** The rows `selection` names, oldest first, `$3` of them. */
const SELECTED = `SELECT ${COLUMNS} FROM troupe_dead_letters WHERE ${WHERE_SELECTED} ORDER BY dead_lettered_at, id LIMIT $3`;
const paramsOf = (selection: Selection) => ['ids' in selection ? [...selection.ids] : null, 'group' in selection ? selection.group : null];
/** Rows a replay takes, sends and deletes per transaction: a failure costs at most these many a second send. */
const REPLAY_CHUNK = 50;

/**
 * A service's dead letters: listed, counted, replayed and purged in its database, where the
 * dead-letter keeper put them. Looking is a SELECT and moves nothing; a replay publishes the
 * selected messages back (with a confirm) and deletes exactly the rows it sent.
 */
export class DeadLetters {
  private readonly exchange: string;

  constructor(
    private readonly pool: Pool,
    private readonly service: ServiceName,
    /** Needed to replay; list, count and purge work without the broker. */
    private readonly publisher?: ConfirmPublisher,
  ) {
    this.exchange = ownExchangeOf(service);
  }

  /** Up to `limit` messages, oldest first, left where they are. */
  async list(limit = 100): Promise<DeadLetter[]> {
    const { rows } = await this.pool.query<Row>(SELECTED, [null, null, limit]);
    return rows.map((row) => describeDeadLetter(asMessage(row)));
  }

  /** Up to `limit` failure groups, the most recently seen first, each with its newest letter. */
  async groups(limit = 100): Promise<DeadLetterGroup[]> {
    await fingerprintTheRest(this.pool, this.service);
    return listGroups(this.pool, this.service, limit);
  }

  /**
   * How many dead letters are kept; with `orderId`, how many of them carry that order's id in their
   * body (a UUID, so a byte search finds exactly its messages, poison that is not JSON included).
   */
  async count(orderId?: string): Promise<number> {
    const { rows } =
      orderId === undefined
        ? await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM troupe_dead_letters')
        : await this.pool.query<{ n: string }>("SELECT count(*) AS n FROM troupe_dead_letters WHERE position(convert_to($1, 'UTF8') in body) > 0", [orderId]);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Sends the selected messages back to the queue they failed on (never to the fanout exchange:
   * the other subscribers already have them), as a fresh first attempt with `x-troupe-replay-count`
   * incremented, each in a new trace linked to the original. A row is deleted once the broker
   * confirmed its message, in a transaction that holds the rows it took (a second replay beside it
   * skips them): a failure half way keeps what was sent deleted and the rest in place.
   */
  async replay(selection: Selection, limit = 10_000): Promise<ReplayedDeadLetter[]> {
    const publisher = this.publisher;
    if (!publisher) throw new Error('replaying needs the broker');
    if ('group' in selection) await fingerprintTheRest(this.pool, this.service);
    // What was there when the replay began: a message sent back that fails at once is a new row,
    // for the next replay, not one this replay would take and send again (and again).
    const { rows } = await this.pool.query<{ now: Date }>('SELECT now() AS now');
    const began = rows[0]!.now;
    const replayed: ReplayedDeadLetter[] = [];
    const passedOver = new Set<string>();
    while (replayed.length < limit) {
      const chunk = await this.replayChunk(publisher, selection, began, Math.min(REPLAY_CHUNK, limit - replayed.length), passedOver);
      replayed.push(...chunk.replayed);
      if (chunk.failure !== undefined) throw chunk.failure;
      if (!chunk.more) break;
    }
    return replayed;
  }

  /**
   * One transaction: up to `size` selected rows locked (skipping what another replay holds),
   * each sent and its row deleted once confirmed, then COMMIT. A failure to send ends it early and
   * commits what was sent; a failure of the database rolls it back, and those rows are sent again
   * by the next replay (the consumer's inbox makes the second copy harmless).
   */
  private async replayChunk(
    publisher: ConfirmPublisher,
    selection: Selection,
    began: Date,
    size: number,
    passedOver: Set<string>,
  ): Promise<{ replayed: ReplayedDeadLetter[]; more: boolean; failure?: unknown }> {
    const replayed: ReplayedDeadLetter[] = [];
    let failure: unknown;
    let more = false;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<Row>(
        `SELECT ${COLUMNS} FROM troupe_dead_letters
          WHERE ${WHERE_SELECTED} AND dead_lettered_at <= $5 AND NOT ((id || ' ' || replay_count) = ANY($4::text[]))
          ORDER BY dead_lettered_at, id LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [...paramsOf(selection), size, [...passedOver], began],
      );
      more = rows.length === size;
      for (const row of rows) {
        const letter = describeDeadLetter(asMessage(row));
        const queue = letter.queue;
        if (!queue) {
          // Nowhere to send it: left where it is, and not taken again by this replay.
          passedOver.add(`${row.id} ${row.replay_count}`);
          continue;
        }
        try {
          await this.republish(publisher, asMessage(row), letter);
        } catch (error) {
          failure = error;
          break;
        }
        await client.query('DELETE FROM troupe_dead_letters WHERE id = $1 AND replay_count = $2', [row.id, row.replay_count]);
        replayed.push({ ...letter, queue });
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      throw error;
    }
    client.release();
    return { replayed, more, failure };
  }

  /** Deletes the selected messages for good. */
  async purge(selection: Selection, limit = 10_000): Promise<DeadLetter[]> {
    if ('group' in selection) await fingerprintTheRest(this.pool, this.service);
    const { rows } = await this.pool.query<Row>(
      `DELETE FROM troupe_dead_letters WHERE (id, replay_count) IN (SELECT id, replay_count FROM (${SELECTED} FOR UPDATE SKIP LOCKED) chosen) RETURNING ${COLUMNS}`,
      [...paramsOf(selection), limit],
    );
    return rows.map((row) => describeDeadLetter(asMessage(row)));
  }

  private async republish(publisher: ConfirmPublisher, message: StoredMessage, letter: DeadLetter): Promise<void> {
    const queue = letter.queue as string;
    const headers = copyHeaders(message.properties);
    for (const name of [HEADER.attempt, HEADER.error, HEADER.errorName, HEADER.deadLetterReason, HEADER.firstFailureAt, HEADER.lastFailureAt, HEADER.handBacks]) {
      delete headers[name];
    }
    const { span, headers: trace } = startReplaySpan(message.properties.headers, queue, letter.id);
    if (typeof headers.traceparent === 'string') headers['x-troupe-original-traceparent'] = headers.traceparent;
    delete headers.tracestate;
    try {
      // Straight to the queue (through the service's own exchange), with confirm and `mandatory`:
      // a queue that no longer exists is an error.
      await publisher.publish(
        this.exchange,
        queue,
        message.content,
        forwardOptions(message.properties, {
          ...headers,
          ...trace,
          [HEADER.replayCount]: letter.replayCount + 1,
          [HEADER.replayedAt]: new Date().toISOString(),
        }),
      );
      endSpan(span);
    } catch (error) {
      endSpan(span, error);
      if (error instanceof UnroutableError) throw new Error(`queue ${queue} does not exist: ${letter.id} stays in the dead letters`);
      throw error;
    }
  }
}
