#!/usr/bin/env node
// Runs the services given as arguments in the foreground, each with its own `start` script
// (the same command as `pnpm --filter @troupe/<service> start`), output prefixed by service.
// Ctrl-C stops them all gracefully; a second Ctrl-C forces them.
//
// Each service runs in a process group of its own (detached), so the terminal's Ctrl-C, which
// signals the whole foreground group, reaches the runner alone; the runner then forwards one
// signal to each service. Otherwise every service would get SIGINT twice (from the terminal and
// from the runner) and take the second as "force exit", skipping its graceful shutdown.
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const readline = require('node:readline');
const { prettyFactory } = require('pino-pretty');
const { localAccess, serviceUrls } = require('./local-access');

// Services log JSON (for machines); make this stream readable for people.
const pretty = prettyFactory({ colorize: process.stdout.isTTY, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' });
const readable = (line) => {
  if (!line.startsWith('{')) return line;
  try {
    return pretty(line).trimEnd();
  } catch {
    return line;
  }
};

const colours = [36, 35, 33, 32];
const children = process.argv.slice(2).map((service, i) => {
  const dir = join(__dirname, '..', 'services', service);
  const [cmd, ...args] = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts.start.split(/\s+/);
  // Each service connects with its own credentials (scripts/local-access.js), unless the caller
  // set RABBITMQ_URL / DATABASE_URL itself; the web front has neither (it only calls their APIs).
  // All share the operator's read token, which the web front sends for the order list.
  // NODE_ENV=development (unless the caller set NODE_ENV) is what defines development for the
  // services' config: there alone may an unset RABBITMQ_URL / DATABASE_URL fall back to the local
  // servers' stock users (docs/configuration.md).
  const access = localAccess();
  const env = { NODE_ENV: 'development', ...(access[service] ? serviceUrls(access, service) : {}), OPERATOR_READ_TOKEN: access.operatorReadToken, ...process.env };
  const child = spawn(cmd, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const prefix = `\x1b[${colours[i % colours.length]}m${service.padEnd(12)}\x1b[0m| `;
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix + readable(line) + '\n'));
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(`${prefix}exited (${signal ?? code})\n`);
    if (code !== 0) process.exitCode = 1;
    if (!stopping && code !== 0) stop('SIGTERM');
  });
  return child;
});

let stopping = false;
function stop(signal) {
  stopping = true;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('exit', () => stop('SIGKILL'));
