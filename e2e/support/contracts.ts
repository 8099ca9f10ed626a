import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Browser, BrowserContext, Response as BrowserResponse } from 'playwright-core';
import { ContractChecker, type AmqpMessage, type Answerer, type HttpAnswer } from './contract-check';

/**
 * The published documents as the end-to-end suites' referee. Every HTTP answer the test process
 * gets from a watched origin (the four services and the web front, wherever they listen: `watch`)
 * and every response the browser gets from the web front is checked against
 * docs/contracts/openapi.json; every message seen on an exchange (see `EventTap`) against
 * docs/contracts/asyncapi.json. A mismatch does not throw where the request was made (a polling
 * loop would swallow it): it is recorded, and the test that made it fails when it ends
 * (contract-setup.ts), naming the path, the status and the first violation.
 */

/** Where each file's coverage goes; the coverage reporter sums them up at the end of the run. */
export const COVERAGE_DIR = join(__dirname, '..', '..', '.test-results', 'contract-coverage');

const origins = new Map<string, Answerer>();
const violations: string[] = [];
const pending = new Set<Promise<void>>();
let checker: Promise<ContractChecker> | undefined;
let installed = false;

const load = () => (checker ??= ContractChecker.load());

/** Records the outcome of one check; `settle` waits for it. */
function record(check: () => Promise<string | undefined>): Promise<void> {
  const done = check()
    .then((violation) => {
      if (violation !== undefined) violations.push(violation);
    })
    .catch((error: unknown) => {
      violations.push(`the contract check itself failed: ${(error as Error).stack ?? String(error)}`);
    })
    .finally(() => pending.delete(done));
  pending.add(done);
  return done;
}

export const contracts = {
  /** Whether the checks are on (the e2e project's setup file turns them on). */
  get installed(): boolean {
    return installed;
  },

  /** Checks every answer from `baseUrl` from now on, as one of `answerer`'s. */
  watch(baseUrl: string, answerer: Answerer): void {
    origins.set(new URL(baseUrl).origin, answerer);
  },

  /** Wraps the global fetch so every answer from a watched origin is checked before the caller sees it. */
  install(): void {
    if (installed) return;
    installed = true;
    const original = globalThis.fetch;
    globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const response = await original(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      const answerer = origins.get(url.origin);
      if (answerer !== undefined) {
        const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
        const streamed = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
        // A stream that does not end is checked without its body; a body the caller aborts is not checked.
        const body = streamed ? undefined : await response.clone().text().catch(() => null);
        if (body !== null) {
          const answer: HttpAnswer = { method, url: `${url.pathname}${url.search}`, status: response.status, headers: response.headers, body };
          await record(async () => (await load()).checkResponse(answerer, answer));
        }
      }
      return response;
    };
  },

  /** Checks every response the browser's pages get from a watched origin. */
  watchBrowser(browser: Browser): void {
    const watchContext = (context: BrowserContext) => context.on('response', (response) => checkBrowserResponse(response));
    for (const context of browser.contexts()) watchContext(context);
    const newContext = browser.newContext.bind(browser);
    browser.newContext = async (...args) => {
      const context = await newContext(...args);
      watchContext(context);
      return context;
    };
    const newPage = browser.newPage.bind(browser);
    browser.newPage = async (...args) => {
      const page = await newPage(...args);
      watchContext(page.context());
      return page;
    };
  },

  /** Checks one message seen on an exchange. */
  checkMessage(message: AmqpMessage): void {
    void record(async () => (await load()).checkMessage(message));
  },

  /** Waits for the checks under way, and hands over (and forgets) the violations found so far. */
  async settle(): Promise<string[]> {
    while (pending.size > 0) await Promise.all(pending);
    return violations.splice(0);
  },

  /** Writes what this file's checks covered, for the coverage reporter. */
  async writeCoverage(testFile: string): Promise<void> {
    if (!checker) return;
    const seen = await checker;
    mkdirSync(COVERAGE_DIR, { recursive: true });
    const coverage = { file: testFile, responses: [...seen.responsesSeen].sort(), events: [...seen.eventsSeen].sort() };
    writeFileSync(join(COVERAGE_DIR, `${basename(testFile)}.json`), `${JSON.stringify(coverage, null, 2)}\n`);
  },
};

function checkBrowserResponse(response: BrowserResponse): void {
  const url = new URL(response.url());
  const answerer = origins.get(url.origin);
  if (answerer === undefined) return;
  void record(async () => {
    const headers = new Headers(await response.allHeaders());
    const streamed = (headers.get('content-type') ?? '').startsWith('text/event-stream');
    // A page that navigates away may leave a body unread: then only what arrived is checked.
    const body = streamed ? undefined : await response.text().catch(() => undefined);
    const answer: HttpAnswer = { method: response.request().method(), url: `${url.pathname}${url.search}`, status: response.status(), headers, body };
    return (await load()).checkResponse(answerer, answer);
  });
}
