/**
 * For tests that need something of the machine (a Docker engine, PostgreSQL's server binaries, a
 * RabbitMQ installation of their own to stop and start): true when it is there. When it is not,
 * the test is skipped with a loud line saying what is missing, except under CI (`CI` set), where
 * a missing prerequisite fails the run: CI's machine must run every test.
 */
export function needs(what: string, available: boolean): boolean {
  if (available) return true;
  if (process.env.CI) throw new Error(`this test needs ${what}, which CI must provide (see .ci/run)`);
  console.warn(`\n  SKIPPED: this test needs ${what}, which is not available on this host\n`);
  return false;
}
