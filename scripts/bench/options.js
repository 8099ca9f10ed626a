// The bench's command line: each option with its default, and the checks of their values.
const { parseArgs } = require('node:util');

const OPTIONS = {
  orders: { type: 'string', default: '2000' },
  // Loaded rounds, alternating troupe and the references; the figures are the median round's.
  rounds: { type: 'string', default: '3' },
  concurrency: { type: 'string', default: '100' },
  single: { type: 'string', default: '200' },
  warmup: { type: 'string', default: '200' },
  replicas: { type: 'string', default: '1' },
  profile: { type: 'boolean', default: false },
  // Variations for profiling what production settings cost; the reported figures use neither.
  'no-tracing': { type: 'boolean', default: false },
  'log-level': { type: 'string' },
  // Print where the time of one order at 1 in flight goes, span by span (exports as http/json).
  'trace-timeline': { type: 'boolean', default: false },
  // Orders' worth of rows seeded into the databases before the history phase (0: no such phase).
  history: { type: 'string', default: '1000000' },
  // The scaling curve: orders in flight at each step, and orders per step.
  curve: { type: 'string', default: '1,10,50,100,200' },
  'curve-orders': { type: 'string', default: '300' },
  // The overload phase: clients each placing an order and waiting for it, and orders in all.
  'overload-clients': { type: 'string', default: '500' },
  'overload-orders': { type: 'string', default: '3000' },
  // The outbox reference's messages per transaction at most (0: no cap), to see what a batch's size costs.
  'outbox-max-batch': { type: 'string', default: '0' },
  // The constrained outbox's constraints (relay.js): to see what each costs, apply a subset.
  constraints: { type: 'string', default: 'place,charge,mail,processes' },
};

/** Every option with its default, as `--help` and a usage error print them (docs/benchmarks.md says what each does). */
const usage = () =>
  `usage: node scripts/bench.js [option ...]\n${Object.entries(OPTIONS)
    .map(([name, o]) => `  --${name}${o.type === 'string' ? ` ${o.default ?? 'VALUE'}` : ''}`)
    .join('\n')}\n(docs/benchmarks.md, "Method", says what each does)`;

function usageError(message) {
  console.error(message);
  process.exit(2);
}

/** The options, checked: a bad value ends the process with exit code 2 and a line naming it; `--help` prints them all. */
function parseOptions(argv = process.argv.slice(2)) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    process.exit(0);
  }
  let args;
  try {
    ({ values: args } = parseArgs({ args: argv, options: OPTIONS }));
  } catch (error) {
    usageError(`${error.message}\n${usage()}`);
  }
  const count = (name, min) => {
    const value = Number(args[name]);
    if (!Number.isInteger(value) || value < min) usageError(`--${name} must be a whole number ≥ ${min} (got ${args[name]})`);
    return value;
  };
  const options = {
    orders: count('orders', 1),
    concurrency: count('concurrency', 1),
    single: count('single', 1),
    warmup: count('warmup', 0),
    replicas: count('replicas', 1),
    rounds: count('rounds', 1),
    history: count('history', 0),
    curveOrders: count('curve-orders', 1),
    overloadClients: count('overload-clients', 0),
    overloadOrders: count('overload-orders', 0),
    outboxMaxBatch: count('outbox-max-batch', 0),
    curve: args.curve.split(',').filter(Boolean).map(Number),
    profile: args.profile,
    noTracing: args['no-tracing'],
    logLevel: args['log-level'],
    traceTimeline: args['trace-timeline'],
    constraints: args.constraints,
  };
  if (!options.constraints.split(',').every((c) => ['place', 'charge', 'mail', 'processes', 'mail-per-transaction'].includes(c))) usageError(`--constraints must be a comma-separated subset of place, charge, mail, processes, mail-per-transaction (got ${args.constraints})`);
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (options.logLevel !== undefined && !levels.includes(options.logLevel)) usageError(`--log-level must be one of ${levels.join(', ')} (got ${options.logLevel})`);
  if (!options.curve.every((c) => Number.isInteger(c) && c >= 1)) usageError(`--curve must be whole numbers ≥ 1, comma-separated (got ${args.curve})`);
  return Object.freeze(options);
}

module.exports = { parseOptions };
