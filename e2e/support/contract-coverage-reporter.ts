import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from 'vitest/node';
import { ContractChecker } from './contract-check';
import { COVERAGE_DIR } from './contracts';

interface FileCoverage {
  file: string;
  responses: string[];
  events: string[];
}

/**
 * At the end of a run that checked answers against the published contracts (the e2e project),
 * prints how much of the documents the suites saw: the declared responses (method, path, status)
 * and event types met at least once, and writes them, with the ones never met, to
 * .test-results/contract-coverage.json.
 */
export default class ContractCoverageReporter implements Reporter {
  private readonly startedAt = Date.now();

  async onTestRunEnd(): Promise<void> {
    if (!existsSync(COVERAGE_DIR)) return;
    const files = readdirSync(COVERAGE_DIR)
      .map((name) => join(COVERAGE_DIR, name))
      .filter((path) => statSync(path).mtimeMs >= this.startedAt)
      .map((path) => JSON.parse(readFileSync(path, 'utf8')) as FileCoverage);
    if (files.length === 0) return;
    const checker = await ContractChecker.load();
    const responses = new Set(files.flatMap((f) => f.responses));
    const events = new Set(files.flatMap((f) => f.events));
    const declared = checker.declaredResponses();
    const declaredEvents = checker.declaredEvents();
    const pairs = new Set([...responses].map((r) => r.slice(r.indexOf(' ') + 1)));
    const summary = {
      responses: { seen: [...responses].sort(), notSeen: declared.filter((r) => !responses.has(r)), declared: declared.length },
      pathStatusPairs: { seen: pairs.size, declared: new Set(declared.map((r) => r.slice(r.indexOf(' ') + 1))).size },
      events: { seen: [...events].sort(), notSeen: declaredEvents.filter((e) => !events.has(e)) },
      files: files.map((f) => f.file),
    };
    writeFileSync(join(COVERAGE_DIR, '..', 'contract-coverage.json'), `${JSON.stringify(summary, null, 2)}\n`);
    process.stdout.write(
      `\ncontracts: ${responses.size} of ${declared.length} declared responses (method, path, status) seen and valid, ` +
        `${pairs.size} distinct (path, status) pairs; ${events.size} of ${declaredEvents.length} event types; ` +
        `${files.length} file(s); details in .test-results/contract-coverage.json\n`,
    );
  }
}
