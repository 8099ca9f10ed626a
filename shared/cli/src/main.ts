#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { deadLetterGroupIdSchema, SERVICES, type ServiceName } from '@troupe/contracts';
import { ConfirmPublisher, DeadLetters, parseBrokerUrls, type DeadLetter, type DeadLetterGroup, type Selection } from '@troupe/messaging';
import pg from 'pg';
import { connect, type ChannelModel } from 'amqplib';
import { z } from 'zod';
import { parseLoadOptions } from './load/options';
import { formatReport, runLoad } from './load/run';
import { UsageError } from './usage-error';

const USAGE = `usage: troupe dlq <list|groups|show|replay|purge> --service <${SERVICES.join('|')}> [options]
       troupe load [options]     (troupe load --help)

  list    the service's dead letters (left in place)            [--limit N] [--json]
  groups  the dead letters grouped by failure                   [--limit N] [--json]
  show    one message in full                                   --id ID
  replay  send messages back to the queue they failed on        --id ID [--id ID …] | --group ID | --all
  purge   delete messages for good                              --id ID [--id ID …] | --group ID | --all

environment: DATABASE_URL, the service's database, where its dead letters are kept
             (default postgres://postgres@localhost:5432/<service>);
             RABBITMQ_URL, for replay (default amqp://guest:guest@localhost:5672; a cluster's nodes comma-separated)`;

const env = z
  .object({
    RABBITMQ_URL: z
      .string()
      .default('amqp://guest:guest@localhost:5672')
      .transform((value, ctx) => {
        try {
          return parseBrokerUrls(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  })
  .safeParse(process.env);


/** The first node of the cluster that answers. */
async function connectToAnyNode(urls: URL[]): Promise<ChannelModel> {
  const failures: string[] = [];
  for (const url of urls) {
    try {
      return await connect(url.toString());
    } catch (error) {
      failures.push(`${url.host}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no broker node answered (${failures.join('; ')})`);
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'load') return load(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      service: { type: 'string' },
      id: { type: 'string', multiple: true },
      group: { type: 'string' },
      all: { type: 'boolean', default: false },
      limit: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [group, command] = positionals;
  if (values.help || group !== 'dlq' || !command) throw new UsageError(USAGE);
  const service = values.service as ServiceName | undefined;
  if (!service || !SERVICES.includes(service)) throw new UsageError(`--service must be one of ${SERVICES.join(', ')}\n\n${USAGE}`);
  if (!env.success) throw new UsageError(`${String(env.error.issues[0]?.path[0] ?? 'environment')} ${env.error.issues[0]?.message ?? 'is invalid'}`);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');

  const pool = new pg.Pool({ connectionString: env.data.DATABASE_URL ?? `postgres://postgres@localhost:5432/${service}`, max: 2 });
  let connection: ChannelModel | undefined;
  try {
    // A service creates its dead-letter table when it first starts: before that there is nothing
    // to look at, which is an answer, not a failure.
    if (!(await tableExists(pool))) {
      if (command === 'list' && values.json) return print(JSON.stringify({ count: 0, messages: [] }, null, 2));
      if (command === 'groups' && values.json) return print(JSON.stringify({ count: 0, groups: [] }, null, 2));
      const note = `no dead letters: the ${service} database has no dead-letter table yet (the ${service} service creates it when it first starts)`;
      if (command === 'list' || command === 'groups') return print(note);
      if (!['show', 'replay', 'purge'].includes(command)) throw new UsageError(USAGE);
      throw new UsageError(note);
    }
    // A broker that does not confirm within 10 s fails the replay (the rows stay); the CLI exits.
    const publisher = new ConfirmPublisher({ confirmTimeoutMs: 10_000, onStalled: () => undefined, onRecovered: () => undefined });
    if (command === 'replay') {
      connection = await connectToAnyNode(env.data.RABBITMQ_URL);
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => undefined); // a channel error also rejects the call that caused it
      publisher.attach(channel);
    }
    const dlq = new DeadLetters(pool, service, publisher);
    const where = `${service}'s dead letters`;
    switch (command) {
      case 'list': {
        const [count, messages] = [await dlq.count(), await dlq.list(limit)];
        if (values.json) return print(JSON.stringify({ count, messages }, null, 2));
        print(`${where}: ${count} message(s)${count > messages.length ? `, showing ${messages.length}` : ''}`);
        for (const m of messages) print(summary(m));
        return;
      }
      case 'groups': {
        const [count, groups] = [await dlq.count(), await dlq.groups(limit)];
        if (values.json) return print(JSON.stringify({ count, groups }, null, 2));
        print(`${where}: ${count} message(s) in ${groups.length} group(s)${groups.length === limit ? ` (the ${limit} most recently seen)` : ''}`);
        if (groups.length) print(groupTable(groups));
        return;
      }
      case 'show': {
        const id = values.id?.[0];
        if (!id) throw new UsageError('show needs --id');
        const found = (await dlq.list(10_000)).find((m) => m.id === id);
        if (!found) throw new UsageError(`no message ${id} in ${where}`);
        return print(JSON.stringify(found, null, 2));
      }
      case 'replay':
      case 'purge': {
        const selection = selectionOf(values.all, values.id, values.group);
        const done = command === 'replay' ? await dlq.replay(selection) : await dlq.purge(selection);
        for (const m of done) print(`${command === 'replay' ? 'replayed' : 'purged'} ${m.id}${command === 'replay' ? ` → ${m.queue}` : ''}`);
        print(`${done.length} message(s) ${command === 'replay' ? 'replayed' : 'purged'}`);
        if ('ids' in selection && done.length < selection.ids.length) {
          const missing = selection.ids.filter((id) => !done.some((m) => m.id === id));
          throw new UsageError(`not found in ${where}: ${missing.join(', ')}`);
        }
        if ('group' in selection && done.length === 0) throw new UsageError(`no group ${selection.group} in ${where} (troupe dlq groups lists them)`);
        return;
      }
      default:
        throw new UsageError(USAGE);
    }
  } finally {
    await connection?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

async function tableExists(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ found: string | null }>("SELECT to_regclass('troupe_dead_letters') AS found");
  return rows[0]?.found != null;
}

async function load(argv: string[]): Promise<void> {
  const options = parseLoadOptions(argv);
  const report = await runLoad(options, { progress: process.stderr, isTTY: process.stderr.isTTY === true });
  print(formatReport(report, options.json));
  // Anything but the expected outcome for every order is a failed run (for scripts and CI).
  if (!report.ok) process.exitCode = 1;
}

function selectionOf(all: boolean | undefined, ids: string[] | undefined, group: string | undefined): Selection {
  if ([all, ids?.length, group !== undefined].filter(Boolean).length > 1) throw new UsageError('give one of --all, --id or --group');
  if (all) return { all: true };
  if (ids?.length) return { ids };
  if (group !== undefined) {
    const parsed = deadLetterGroupIdSchema.safeParse(group);
    if (!parsed.success) throw new UsageError(`--group ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    return { group: parsed.data };
  }
  throw new UsageError('say which messages: --id ID (repeatable), --group ID or --all');
}

/** The groups as a table, one line each; the message last, as long as it is. */
function groupTable(groups: readonly DeadLetterGroup[]): string {
  const rows = [
    ['GROUP', 'COUNT', 'FIRST SEEN', 'LAST SEEN', 'REPLAYS', 'TYPE', 'CLASS', 'MESSAGE'],
    ...groups.map((g) => [g.id, String(g.count), g.firstSeenAt, g.lastSeenAt, String(g.replayCount), g.type, g.errorClass, g.message]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

function summary(m: DeadLetter): string {
  return [
    `- ${m.id}`,
    `    type: ${m.type ?? '?'}  queue: ${m.queue ?? '?'}  reason: ${m.reason ?? '?'}  attempts: ${m.attempts ?? '?'}  replays: ${m.replayCount}`,
    `    failed: ${m.firstFailureAt ?? '?'} … ${m.lastFailureAt ?? '?'}`,
    `    error: ${m.error ?? '?'}`,
  ].join('\n');
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof UsageError ? error.message : `troupe: ${(error as Error).message}`}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
