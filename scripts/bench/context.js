// One bench run: its options, where the broker and Postgres are, and everything it set up or
// started, so that whatever ends the run (an error, Ctrl-C, a closed pipe: `make bench | head`)
// removes the vhosts, users and databases it created and leaves no process of its own running.
const { join } = require('node:path');
const { discoverBrokerAdmin } = require('@troupe/testing');

class BenchRun {
  constructor(options) {
    this.options = options;
    this.root = join(__dirname, '..', '..');
    this.rabbitmqUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@localhost:5672';
    this.adminDb = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@localhost:5432/postgres';
    /** Tells this run's vhosts, users and databases from another's. */
    this.stamp = Date.now().toString(36);
    /** Service processes whose memory is sampled while the bench runs. */
    this.sampled = [];
    /** Times a troupe did not catch up within two minutes (counted as errors of the run). */
    this.stuck = 0;
    this.cleanups = [];
    this.children = [];
    this.adminSpec = undefined;
    this.ending = undefined;
  }

  /** How to administer the broker (`brokerAdmin()`'s spec), found once. */
  brokerAdmin() {
    this.adminSpec ??= discoverBrokerAdmin(this.rabbitmqUrl, process.env.RABBITMQ_MANAGEMENT_URL);
    return this.adminSpec;
  }

  /** `undo` runs at the end of the run, before the undo steps registered earlier. */
  defer(undo) {
    this.cleanups.push(undo);
  }

  /** A process the bench started: killed at the latest when the bench's own process exits. */
  started(child) {
    this.children.push(child);
  }

  /** Runs every undo step (once, whoever calls first), then exits with `code`. */
  end(code) {
    this.ending ??= (async () => {
      for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => undefined);
      process.exit(code);
    })();
    return this.ending;
  }

  /** Ends the run cleanly on a signal or a closed stdout. */
  guard() {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => this.end(130));
    process.stdout.on('error', () => this.end(1));
    process.on('exit', () => {
      for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
    });
  }
}

module.exports = { BenchRun };
