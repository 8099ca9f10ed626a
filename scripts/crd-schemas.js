#!/usr/bin/env node
// Writes test/crd-schemas.json: the schemas of the operators' kinds that deploy/kubernetes uses
// (RabbitmqCluster, User, Permission, Exchange, CloudNativePG's Cluster and Database), cut down to
// the fields the demo overlay sets, so that test/kubernetes.tools.test.ts validates those objects
// as the API server would (unknown fields refused, as `kubectl apply`'s strict field validation
// does) without carrying the operators' full definitions (close to 1 MB). Run it again after
// adding a field or moving to a new operator release, with each CRD file from that release:
//
//   node scripts/crd-schemas.js 'cloudnative-pg v1.30.0=…/postgresql.cnpg.io_clusters.yaml' …
//
// Needs kubectl (to render the overlay). What the cut-down copy drops: descriptions, the fields
// troupe does not set, and the CEL rules (x-kubernetes-validations), which only a server runs.
const { execFileSync } = require('node:child_process');
const { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { parse, parseAllDocuments } = require('yaml');

const root = join(__dirname, '..');
const sources = process.argv.slice(2).map((arg) => {
  const at = arg.lastIndexOf('=');
  if (at < 1) throw new Error(`not LABEL=PATH: ${arg}`);
  return { label: arg.slice(0, at), crd: parse(readFileSync(arg.slice(at + 1), 'utf8')) };
});
if (sources.length === 0) throw new Error('give the CRD files, as LABEL=PATH');

// The demo overlay as a fresh clone renders it (the git-ignored secrets from their examples).
const dir = mkdtempSync(join(tmpdir(), 'troupe-crd-'));
let objects;
try {
  cpSync(join(root, 'deploy/kubernetes'), dir, { recursive: true });
  const secrets = join(dir, 'overlays/demo/secrets');
  for (const f of readdirSync(secrets).filter((name) => name.endsWith('.example'))) cpSync(join(secrets, f), join(secrets, f.replace(/\.example$/, '')));
  objects = parseAllDocuments(execFileSync('kubectl', ['kustomize', join(dir, 'overlays/demo')], { encoding: 'utf8' })).map((d) => d.toJS());
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const KEEP = ['type', 'enum', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'nullable', 'default'];

/** `schema` with only what `values` (every value the overlay puts there) reach. */
function cut(schema, values) {
  const out = {};
  for (const key of KEEP) if (schema[key] !== undefined) out[key] = schema[key];
  if (schema['x-kubernetes-int-or-string']) return { anyOf: [{ type: 'integer' }, { type: 'string' }] };
  if (schema['x-kubernetes-preserve-unknown-fields']) return out;
  if (schema.properties) {
    const present = new Set(values.flatMap((v) => (v && typeof v === 'object' ? Object.keys(v) : [])));
    const required = schema.required ?? [];
    out.properties = {};
    for (const [name, inner] of Object.entries(schema.properties)) {
      if (present.has(name) || required.includes(name)) out.properties[name] = cut(inner, values.map((v) => v?.[name]).filter((v) => v !== undefined));
    }
    if (required.length > 0) out.required = required;
    out.additionalProperties = false;
  } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    out.additionalProperties = cut(schema.additionalProperties, values.flatMap((v) => Object.values(v ?? {})));
  }
  if (schema.items) out.items = cut(schema.items, values.flat());
  for (const key of ['anyOf', 'oneOf', 'allOf']) if (schema[key]) out[key] = schema[key].map((s) => cut(s, values));
  return out;
}

const schemas = {};
for (const { label, crd } of sources) {
  for (const version of crd.spec.versions) {
    const apiVersion = `${crd.spec.group}/${version.name}`;
    const kind = crd.spec.names.kind;
    const instances = objects.filter((o) => o.apiVersion === apiVersion && o.kind === kind);
    if (instances.length === 0) continue;
    const schema = cut(version.schema.openAPIV3Schema, instances);
    // metadata is the API server's, checked by the built-in kinds' rules; any object is accepted here.
    schema.properties.metadata = { type: 'object' };
    schemas[`${apiVersion}/${kind}`] = { source: label, schema };
  }
}
writeFileSync(join(root, 'test/crd-schemas.json'), `${JSON.stringify(schemas, null, 1)}\n`);
process.stdout.write(`wrote test/crd-schemas.json: ${Object.keys(schemas).join(', ')}\n`);
