import { createHash } from 'node:crypto';
import type { DeadLetter } from '@troupe/contracts';

/** What a dead letter's failure is, apart from the message it happened to: the key of its group. */
export interface Failure {
  service: string;
  /** The event type; `unknown` for poison that could not be read. */
  type: string;
  /** The handler error's name, else why the message was dead-lettered (`poison`, `broker: delivery_limit`). */
  errorClass: string;
  /** The error message with its ids and numbers replaced by placeholders (`normaliseMessage`). */
  message: string;
}

/**
 * Long enough to tell failures apart. `x-troupe-error` keeps 1000 characters: once placeholders
 * have shrunk long ids, that cut can fall inside these 300, so a cut message loses what the cut
 * left of its last token (`withoutCutTail`); one failure cut at different places stays split,
 * which is the safe side (a group never replays another failure's messages).
 */
const MESSAGE_CHARS = 300;

/**
 * Quoted text is a placeholder when it is data (it has a digit, a space, an `@`, a `:`…); a name
 * stays, as Postgres quotes its identifiers: `unique constraint "payments_order_id_key"` and
 * `unique constraint "payments_pkey"` are two failures, not one. A `'` inside a word is an
 * apostrophe, so "can't … don't" is no quote.
 */
const QUOTED = /"(?:[^"\\]|\\.)*"|(?<![\p{L}\p{N}])'(?:[^'\\]|\\.)*'(?![\p{L}\p{N}])|`[^`]*`/gu;
const NAME = /^[A-Za-z_][A-Za-z_$.-]*$/;
const quotedValue = (quoted: string): string => (NAME.test(quoted.slice(1, -1)) ? quoted : '<value>');

// Most specific first: a UUID or a timestamp is made of hex digits and numbers, which would
// otherwise leave `<n>-<id>-…` that differs with the id's digits.
const PLACEHOLDERS: [RegExp, string][] = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>'],
  [/\b0x[0-9a-f]+\b/gi, '<id>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<id>'],
  [/-?\b\d+(?:[.,]\d+)*\b/g, '<n>'],
];

/**
 * The error message as its group shows it: what stays the same each time the failure happens.
 * Quoted data, UUIDs, times, hex ids and numbers become `<value>`, `<uuid>`, `<time>`, `<id>`
 * and `<n>`, so "order 1f0c… over limit: 120.50 > 100" and "order 9a2e… over limit: 80 > 50"
 * read alike. A leading "<errorName>: " (as `x-troupe-error` has it) is left out.
 */
export function normaliseMessage(text: string, errorName?: string): string {
  let message = text.endsWith('…') ? withoutCutTail(text.slice(0, -1)) : text;
  if (errorName && message.startsWith(`${errorName}: `)) message = message.slice(errorName.length + 2);
  message = message.replace(QUOTED, quotedValue);
  for (const [pattern, placeholder] of PLACEHOLDERS) message = message.replace(pattern, placeholder);
  return message.replace(/\s+/g, ' ').trim().slice(0, MESSAGE_CHARS);
}

/**
 * A message cut short, without what the cut left of its last token (half an id differs letter by
 * letter) or of a double-quoted value it left open.
 */
function withoutCutTail(text: string): string {
  const kept = text.replace(/\S*$/, '');
  const quotes = kept.match(/(?<!\\)"/g)?.length ?? 0;
  return quotes % 2 === 1 ? kept.slice(0, kept.lastIndexOf('"')) : kept;
}

/** The group's id: 16 hex digits of a SHA-256 over the four parts of the failure. */
export function fingerprint(failure: Failure): string {
  const parts = [failure.service, failure.type, failure.errorClass, failure.message];
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}

/**
 * A dead letter's failure as `service` recorded it. The class is the handler error's name, from
 * `x-troupe-error-name` or, on letters kept before that header, from the "<Name>: " that starts
 * `x-troupe-error`; else the reason: poison has no error object, and a message the broker
 * dead-lettered (`broker: delivery_limit`) failed by its deliveries, whatever its last error was.
 */
export function failureOf(service: string, letter: Pick<DeadLetter, 'type' | 'reason' | 'error' | 'errorName'>): Failure {
  const named = letter.reason === 'poison' || letter.reason?.startsWith('broker:') ? undefined : (letter.errorName ?? errorNameIn(letter.error));
  return {
    service,
    type: letter.type ?? 'unknown',
    errorClass: named ?? letter.reason ?? 'unknown',
    message: normaliseMessage(letter.error ?? '', named),
  };
}

/**
 * The name in front of an `x-troupe-error` written as "<Name>: <message>" (letters kept before
 * `x-troupe-error-name`), a plain `Error` included: a handler's `throw new Error(…)` is the
 * commonest failure, and its old letters must group with the new ones.
 */
function errorNameIn(error: string | undefined): string | undefined {
  return error?.match(/^((?:[A-Z][A-Za-z0-9]*)?(?:Error|Exception)): /)?.[1];
}
