import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openApiDocument, WEB_ASSETS } from '@troupe/contracts';
import { createLogger } from '@troupe/platform';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { createWebApp } from './main';

type Layer = { route?: { path: string; methods: Record<string, boolean> } };

/** Every route the web front serves, as `METHOD /path/{param}`. */
function servedRoutes(): string[] {
  const { app } = createWebApp(loadConfig({ ADMIN_TOKEN: 'a-token-of-sixteen-chars', OPERATOR_READ_TOKEN: 'a-read-token-of-24-chars', LOG_LEVEL: 'silent' }), createLogger('web', 'silent'));
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  return stack.flatMap((layer) =>
    layer.route ? Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`) : [],
  );
}

describe("the web front's published API", () => {
  it('when the web front serves a route (admin ones included), then the OpenAPI document describes it, on the web front', () => {
    const document = openApiDocument();
    const paths = document.paths as Record<string, Record<string, unknown> & { servers?: readonly { url: string }[] }>;
    const routes = servedRoutes();
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) {
      const [method, path] = route.split(' ') as [string, string];
      const item = paths[path];
      expect(item?.[method.toLowerCase()], `${route} in docs/contracts/openapi.json`).toBeDefined();
      expect((item?.servers ?? document.servers).map((s) => s.url), `${route} served by the web front`).toContain('http://localhost:8080');
    }
  });

  it('when a file is added to public/, then the OpenAPI document lists it', () => {
    expect([...WEB_ASSETS]).toEqual(readdirSync(join(__dirname, '..', 'public')).sort());
  });
});
