import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';

/**
 * The part of kustomize that deploy/kubernetes uses, so that the manifests can be rendered and
 * validated where no kustomize (or kubectl) is installed: resources (files and directories),
 * `namespace`, `labels`, `images`, `secretGenerator` (envs files, a `type`, a content hash
 * appended to the name and every reference to it rewritten unless `options.disableNameSuffixHash`,
 * `options.labels`) and JSON 6902 `patches` (add, replace, remove).
 * Anything else in a kustomization fails loudly rather than being ignored.
 */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

interface Kustomization {
  resources?: string[];
  namespace?: string;
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  images?: { name: string; newName?: string; newTag?: string }[];
  secretGenerator?: {
    name: string;
    type?: string;
    envs?: string[];
    options?: { disableNameSuffixHash?: boolean; labels?: Record<string, string> };
  }[];
  patches?: { target: { group?: string; version?: string; kind: string; name: string }; patch: string }[];
}

const KNOWN = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'secretGenerator', 'patches']);
const CLUSTER_SCOPED = new Set(['Namespace']);

/** `readEnvFile` lets a test render an overlay whose git-ignored env file is absent (see the caller). */
export function kustomize(dir: string, readEnvFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): K8sObject[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unknown = Object.keys(k).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) throw new Error(`${dir}/kustomization.yaml: not understood here: ${unknown.join(', ')}`);

  let objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) objects.push(...kustomize(path, readEnvFile));
    else objects.push(...parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => doc.toJS() as K8sObject).filter(Boolean));
  }

  const renamed = new Map<string, string>();
  for (const generator of k.secretGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const file of generator.envs ?? []) {
      for (const line of readEnvFile(join(dir, file)).split('\n')) {
        const trimmed = line.trim();
        if (trimmed === '' || trimmed.startsWith('#')) continue;
        const at = trimmed.indexOf('=');
        if (at < 1) throw new Error(`${file}: not KEY=value: ${trimmed}`);
        data[trimmed.slice(0, at)] = Buffer.from(trimmed.slice(at + 1)).toString('base64');
      }
    }
    const unknownOptions = Object.keys(generator.options ?? {}).filter((key) => !['disableNameSuffixHash', 'labels'].includes(key));
    if (unknownOptions.length > 0) throw new Error(`secretGenerator ${generator.name}: options not understood here: ${unknownOptions.join(', ')}`);
    let name = generator.name;
    if (!generator.options?.disableNameSuffixHash) {
      name = `${generator.name}-${createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 10)}`;
      renamed.set(generator.name, name);
    }
    const labels = generator.options?.labels;
    objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name, ...(labels ? { labels } : {}) }, type: generator.type ?? 'Opaque', data });
  }
  if (renamed.size > 0) objects = objects.map((o) => renameSecretRefs(o, renamed));

  for (const patch of k.patches ?? []) {
    const targets = objects.filter((o) => o.kind === patch.target.kind && o.metadata.name === patch.target.name);
    if (targets.length !== 1) throw new Error(`patch target ${patch.target.kind}/${patch.target.name}: ${targets.length} matches`);
    for (const op of parse(patch.patch) as { op: string; path: string; value?: unknown }[]) applyOp(targets[0] as K8sObject, op);
  }
  for (const { pairs } of k.labels ?? []) {
    for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...pairs };
  }
  for (const image of k.images ?? []) {
    for (const container of objects.flatMap(containersOf)) {
      const [name, tag] = container.image.split(':');
      if (name !== image.name) continue;
      container.image = `${image.newName ?? name}:${image.newTag ?? tag}`;
    }
  }
  if (k.namespace) {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  }
  return objects;
}

export type Container = { name: string; image: string } & Record<string, unknown>;

export function containersOf(o: K8sObject): Container[] {
  const spec = (o.spec as { template?: { spec?: { containers?: Container[] } } } | undefined)?.template?.spec;
  return spec?.containers ?? [];
}

function renameSecretRefs<T>(value: T, renamed: Map<string, string>): T {
  if (Array.isArray(value)) return value.map((v) => renameSecretRefs(v, renamed)) as T;
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const refersToSecret = ['secretKeyRef', 'secretRef'].includes(key) || key === 'secret';
    if (refersToSecret && inner && typeof inner === 'object') {
      const ref = { ...(inner as Record<string, unknown>) };
      for (const field of ['name', 'secretName']) {
        const target = typeof ref[field] === 'string' ? renamed.get(ref[field] as string) : undefined;
        if (target) ref[field] = target;
      }
      out[key] = renameSecretRefs(ref, renamed);
    } else out[key] = renameSecretRefs(inner, renamed);
  }
  return out as T;
}

function applyOp(target: Record<string, unknown>, { op, path, value }: { op: string; path: string; value?: unknown }): void {
  const keys = path.split('/').slice(1).map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop() as string;
  let node: Record<string, unknown> = target;
  for (const key of keys) {
    if (!node[key] || typeof node[key] !== 'object') throw new Error(`patch path ${path}: no ${key}`);
    node = node[key] as Record<string, unknown>;
  }
  if (op === 'remove') delete node[last];
  else if (op === 'replace' && !(last in node)) throw new Error(`patch path ${path}: nothing to replace`);
  else if (op === 'add' || op === 'replace') node[last] = value;
  else throw new Error(`patch op ${op} not understood here`);
}
