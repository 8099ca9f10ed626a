#!/usr/bin/env node
// Writes the published contracts, generated from the zod schemas in shared/contracts (built):
// docs/contracts/asyncapi.json (the events) and docs/contracts/openapi.json (the HTTP APIs).
// `make contracts` runs it; a unit test fails when the checked-in files are out of date.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { asyncApiDocument, openApiDocument } = require('@troupe/contracts/dist/published');

const dir = join(__dirname, '..', 'docs', 'contracts');
mkdirSync(dir, { recursive: true });
for (const [name, document] of [['asyncapi.json', asyncApiDocument()], ['openapi.json', openApiDocument()]]) {
  writeFileSync(join(dir, name), `${JSON.stringify(document, null, 2)}\n`);
  process.stdout.write(`wrote docs/contracts/${name}\n`);
}
