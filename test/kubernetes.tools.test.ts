/**
 * deploy/kubernetes, checked without a cluster: the demo overlay is rendered (by the kustomize
 * subset in ./kustomize.ts, and by `kubectl kustomize`, which must agree), every object of a
 * built-in kind is validated against the Kubernetes 1.33 API's JSON schemas (the kubernetes-models
 * package) and the operators' kinds against their CRDs' schemas (./crd-schemas.json), and the
 * objects must agree with the code:
 * ports, probes, the variables each service reads, each service's own broker user, database role
 * and Secrets, the restricted Pod Security Standard, and the network flows troupe needs (./k8s-rules.ts).
 * A tools test: it runs git and kubectl (without kubectl it says so, and fails under CI=true).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import Ajv from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { brokerPermissionsOf, exchangeOf, observerPermissions, SERVICES as MESSAGING_SERVICES, type ServiceName } from '@troupe/contracts';
import { configSchema as inventorySchema } from '../services/inventory/src/config';
import { configSchema as notificationSchema } from '../services/notification/src/config';
import { configSchema as orderSchema } from '../services/order/src/config';
import { configSchema as paymentSchema } from '../services/payment/src/config';
import { configSchema as gatewaySchema } from '../services/gateway/src/config';
import { configSchema as webSchema } from '../services/web/src/config';
import { configSchema as observerSchema } from '../services/observer/src/config';
import { parseBrokerUrls } from '../shared/messaging/src/broker/addresses';
import { allows, hbaMethod, restrictedViolations, type Endpoint, type PodSpec } from './k8s-rules';
import { containersOf, kustomize, type Container, type K8sObject } from './kustomize';

const root = resolve(__dirname, '..');
const overlay = join(root, 'deploy/kubernetes/overlays/demo');
const NAMESPACE = 'troupe-demo';
// The secrets/*.env files are git-ignored: render what a fresh clone gets after copying the examples.
const objects = kustomize(overlay, (path) => readFileSync(`${path}.example`, 'utf8'));
const SCHEMAS: Record<string, { new (data: never): { validate(): void } }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};
/**
 * The operators' kinds, by their CRDs' schemas cut down to the fields the overlay sets
 * (scripts/crd-schemas.js writes them from the operators' releases): a field a CRD does not have is
 * refused, as `kubectl apply` refuses it.
 */
const CRD_SCHEMAS = JSON.parse(readFileSync(join(__dirname, 'crd-schemas.json'), 'utf8')) as Record<string, { source: string; schema: object }>;
const crdValidators = Object.fromEntries(Object.entries(CRD_SCHEMAS).map(([kind, { schema }]) => [kind, new Ajv({ strict: false, allErrors: true }).compile(schema)]));
const crdErrors = (o: K8sObject): string[] => {
  const validate = crdValidators[`${o.apiVersion}/${o.kind}`];
  if (!validate) return [`${o.apiVersion} ${o.kind}: no schema in test/crd-schemas.json (run scripts/crd-schemas.js)`];
  const name = `${o.kind}/${o.metadata.name}`;
  return validate(o as unknown) ? [] : (validate.errors ?? []).map((e) => `${name}${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
};
const SERVICES: Record<string, { shape: Record<string, unknown>; safeParse(v: unknown): { success: boolean } }> = {
  order: orderSchema,
  payment: paymentSchema,
  inventory: inventorySchema,
  notification: notificationSchema,
  gateway: gatewaySchema,
  web: webSchema,
};
const PORTS: Record<string, number> = { order: 3000, payment: 3001, inventory: 3002, notification: 3003, gateway: 3004, web: 8080, observer: 3005 };
/** Everything with a database of its own. */
const DATABASE_OWNERS = [...MESSAGING_SERVICES, 'gateway'] as const;

const find = (kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in the rendered demo overlay`);
  return found;
};
type Probe = { httpGet?: { path?: string; port?: string | number } };
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } };
const containerOf = (service: string) => {
  const container = containersOf(find('Deployment', service))[0];
  if (!container) throw new Error(`no container in Deployment/${service}`);
  return container as Container & { env: EnvVar[] };
};
const secretData = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries((find('Secret', name).data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
/** The Secret a generator named `name` made, hashed name or not. */
const generated = (name: string) => objects.find((o) => o.kind === 'Secret' && (o.metadata.name === name || o.metadata.name.startsWith(`${name}-`))) as K8sObject;

/**
 * A container's environment as the kubelet builds it: the ConfigMap it imports, then each variable
 * in order, a Secret's value for a secretKeyRef, and `$(NAME)` replaced by an earlier variable.
 * Also returns the variables that only feed others (`$(NAME)` somewhere later).
 */
function environmentOf(service: string): { env: Record<string, string>; feeders: Set<string> } {
  const container = containerOf(service) as Container & { env: EnvVar[]; envFrom?: { configMapRef?: { name: string } }[] };
  const config = find('ConfigMap', 'troupe-config').data as Record<string, string>;
  const env: Record<string, string> = container.envFrom?.some((e) => e.configMapRef?.name === 'troupe-config') ? { ...config } : {};
  const feeders = new Set<string>();
  for (const variable of container.env) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      const data = secretData(ref.name);
      if (data[ref.key] === undefined && ref.optional) continue;
      expect(data[ref.key], `${variable.name} ← secret ${ref.name} key ${ref.key}`).toBeDefined();
      // What secrets/generate.sh puts where the example has a placeholder (the check on the
      // examples' placeholders themselves is above).
      env[variable.name] = (data[ref.key] as string).replace(/<(password|operator-read-token)>/g, () => '0f'.repeat(24));
    } else {
      env[variable.name] = (variable.value as string).replace(/\$\((\w+)\)/g, (_, name: string) => {
        feeders.add(name);
        expect(env[name], `${variable.name} uses $(${name}), defined before it`).toBeDefined();
        return env[name] as string;
      });
    }
  }
  return { env, feeders };
}

describe('deploy/kubernetes: the demo overlay', () => {
  it("every object passes the schema of its kind: the Kubernetes 1.33 API's, or its operator's CRD", () => {
    const failures: string[] = [];
    for (const o of objects) {
      if (`${o.apiVersion}/${o.kind}` in CRD_SCHEMAS || /rabbitmq\.com|cnpg\.io/.test(o.apiVersion)) {
        failures.push(...crdErrors(o));
        continue;
      }
      const Model = SCHEMAS[`${o.apiVersion}/${o.kind}`];
      if (!Model) {
        failures.push(`${o.apiVersion} ${o.kind}/${o.metadata.name}: no schema known to this test`);
        continue;
      }
      try {
        new Model(o as never).validate();
      } catch (error) {
        failures.push(`${o.kind}/${o.metadata.name}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    const count = (kind: string) => objects.filter((o) => o.kind === kind).length;
    expect([count('Deployment'), count('Service'), count('PodDisruptionBudget'), count('HorizontalPodAutoscaler')]).toEqual([7, 7, 6, 6]);
    // The four services' users and the observer's; the Secrets: 5 broker users, 5 roles, SMTP, the read token.
    expect([count('User'), count('Permission'), count('Database'), count('Secret')]).toEqual([5, 5, 5, 5 + 5 + 1 + 1]);
  });

  it('when a field has the wrong type, or a CRD has no such field, then the schema check fails (the check is real)', () => {
    const broken = structuredClone(find('Deployment', 'order')) as K8sObject & { spec: { replicas: unknown } };
    broken.spec.replicas = 'two';
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas/);
    const misspelt = structuredClone(find('Cluster', 'troupe-postgres')) as K8sObject & { spec: { managed: { roles: Record<string, unknown>[] } } };
    (misspelt.spec.managed.roles[0] as Record<string, unknown>).passwordSecrets = { name: 'x' };
    expect(crdErrors(misspelt).join()).toMatch(/passwordSecrets/);
    const wrongType = structuredClone(find('Permission', 'troupe-order')) as K8sObject & { spec: { vhost: unknown } };
    wrongType.spec.vhost = 7;
    expect(crdErrors(wrongType).join()).toMatch(/vhost/);
  });

  it('everything lands in the troupe-demo namespace, which enforces the restricted pod security standard', () => {
    const ns = find('Namespace', NAMESPACE);
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NAMESPACE);
  });

  it('the broker is a RabbitmqCluster of three nodes, spread over machines', () => {
    const rabbit = find('RabbitmqCluster', 'troupe-rabbitmq') as K8sObject & { spec: Record<string, never> };
    expect(rabbit.apiVersion).toBe('rabbitmq.com/v1beta1');
    expect(rabbit.spec.replicas).toBe(3);
    expect(JSON.stringify(rabbit.spec.affinity)).toContain('kubernetes.io/hostname');
  });

  it('the broker runs the settings of infra/rabbitmq/advanced.config', () => {
    const rabbit = find('RabbitmqCluster', 'troupe-rabbitmq') as K8sObject & { spec: { rabbitmq: { advancedConfig: string } } };
    const settings = (text: string) => [...text.replace(/%.*$/gm, '').matchAll(/\{(\w+),\s*(\d+)\}/g)].map((m) => `${m[1]}=${m[2]}`);
    const shipped = settings(readFileSync(join(root, 'infra/rabbitmq/advanced.config'), 'utf8'));
    expect(shipped).toEqual(['dead_letter_worker_publisher_confirm_timeout=5000']);
    expect(settings(rabbit.spec.rabbitmq.advancedConfig)).toEqual(shipped);
  });

  it('no secret is committed: only placeholders in the examples, the real files git-ignored, no password in the base', () => {
    const secrets = join(overlay, 'secrets');
    const examples = readdirSync(secrets).filter((f) => f.endsWith('.env.example'));
    expect(examples).toHaveLength(5 + 5 + 1 + 1);
    for (const file of examples) {
      const lines = readFileSync(join(secrets, file), 'utf8').split('\n');
      for (const line of lines.filter((l) => /^password=/.test(l))) expect(line, file).toBe('password=<password>');
      for (const line of lines.filter((l) => /^token=/.test(l))) expect(line, file).toBe('token=<operator-read-token>');
      const ignored = spawnSync('git', ['check-ignore', '-q', join(secrets, file.replace(/\.example$/, ''))], { cwd: root });
      expect(ignored.status, `${file.replace(/\.example$/, '')} is git-ignored`).toBe(0);
    }
    const base = join(root, 'deploy/kubernetes/base');
    for (const file of readdirSync(base)) {
      const committed = parseAllDocuments(readFileSync(join(base, file), 'utf8')).map((d) => d.toJS());
      expect(JSON.stringify(committed), file).not.toMatch(/password=|:\/\/[^$/@:]+:[^$@]+@/i);
    }
  });

  it('secrets/generate.sh writes every Secret file with a random value of its own for each placeholder, mode 600, and keeps a file that exists', () => {
    const copy = mkdtempSync(join(tmpdir(), 'troupe-k8s-secrets-'));
    try {
      const secrets = join(copy, 'secrets');
      cpSync(join(overlay, 'secrets'), secrets, { recursive: true, filter: (path) => !path.endsWith('.env') });
      const first = spawnSync('bash', [join(secrets, 'generate.sh')], { encoding: 'utf8' });
      expect(first.status, first.stderr).toBe(0);
      const files = readdirSync(secrets).filter((f) => f.endsWith('.env'));
      expect(files).toHaveLength(readdirSync(secrets).filter((f) => f.endsWith('.env.example')).length);
      const values = files.flatMap((file) => {
        expect(statSync(join(secrets, file)).mode & 0o777, file).toBe(0o600);
        const text = readFileSync(join(secrets, file), 'utf8');
        const example = readFileSync(join(secrets, `${file}.example`), 'utf8');
        // Comments stay as the example has them; every value line has its placeholders filled.
        expect(text.split('\n').filter((l) => l.startsWith('#')), file).toEqual(example.split('\n').filter((l) => l.startsWith('#')));
        expect(text.split('\n').filter((l) => !l.startsWith('#')).join('\n'), file).not.toMatch(/<[a-z-]+>/);
        return [...text.matchAll(/^(?:password|token)=(.*)$/gm)].map((m) => m[1] as string);
      });
      expect(values).toHaveLength(5 + 5 + 1);
      for (const value of values) expect(value).toMatch(/^[0-9a-f]{48}$/);
      expect(new Set(values).size).toBe(values.length);
      const before = readFileSync(join(secrets, 'order-db.env'), 'utf8');
      expect(spawnSync('bash', [join(secrets, 'generate.sh')]).status).toBe(0);
      expect(readFileSync(join(secrets, 'order-db.env'), 'utf8')).toBe(before);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  describe('the broker users (the Messaging Topology Operator)', () => {
    it.each(MESSAGING_SERVICES)('%s connects as its own user, whose permissions are brokerPermissionsOf(service) on the vhost "/", with no tags', (service: ServiceName) => {
      const user = find('User', `troupe-${service}`) as K8sObject & { spec: { rabbitmqClusterReference: unknown; importCredentialsSecret: { name: string }; tags?: string[] } };
      const permission = find('Permission', `troupe-${service}`) as K8sObject & { spec: Record<string, unknown> };
      expect(user.spec.rabbitmqClusterReference).toEqual({ name: 'troupe-rabbitmq' });
      expect(user.spec.importCredentialsSecret).toEqual({ name: `troupe-${service}-broker` });
      expect(user.spec.tags ?? []).toEqual([]);
      expect(permission.spec).toEqual({
        rabbitmqClusterReference: { name: 'troupe-rabbitmq' },
        vhost: '/',
        userReference: { name: `troupe-${service}` },
        permissions: brokerPermissionsOf(service),
      });
      const secret = find('Secret', `troupe-${service}-broker`);
      expect(secret.type).toBe('kubernetes.io/basic-auth');
      expect(secretData(`troupe-${service}-broker`).username).toBe(`troupe-${service}`);

      const urls = parseBrokerUrls(environmentOf(service).env.RABBITMQ_URL as string);
      expect(urls.map((url) => url.host)).toEqual([0, 1, 2].map((i) => `troupe-rabbitmq-server-${i}.troupe-rabbitmq-nodes:5672`));
      for (const url of urls) expect(decodeURIComponent(url.username)).toBe(`troupe-${service}`);
    });

    it("the four services' fanout exchanges are declared up front, on the vhost \"/\"", () => {
      const exchanges = objects.filter((o) => o.kind === 'Exchange').map((o) => o.spec);
      expect(exchanges).toEqual(
        MESSAGING_SERVICES.map((service) => ({ rabbitmqClusterReference: { name: 'troupe-rabbitmq' }, vhost: '/', name: exchangeOf(service), type: 'fanout', durable: true, autoDelete: false })),
      );
    });

    it("no two services share broker credentials, none uses the operator's default (administrator) user, and the gateway and the web front have none", () => {
      const secretsOf = (service: string) =>
        containerOf(service)
          .env.map((v) => v.valueFrom?.secretKeyRef?.name)
          .filter((name): name is string => name !== undefined && name.includes('broker'));
      const used = MESSAGING_SERVICES.map((s) => secretsOf(s));
      for (const [i, names] of used.entries()) expect(new Set(names), MESSAGING_SERVICES[i]).toEqual(new Set([`troupe-${MESSAGING_SERVICES[i]}-broker`]));
      expect(new Set(used.flat()).size).toBe(MESSAGING_SERVICES.length);
      expect(JSON.stringify(objects.filter((o) => o.kind === 'Deployment'))).not.toContain('default-user');
      for (const service of ['gateway', 'web']) expect(Object.keys(environmentOf(service).env).filter((k) => /RABBITMQ|BROKER/.test(k)), service).toEqual([]);
    });
  });

  describe('the databases (CloudNativePG)', () => {
    const cluster = () =>
      find('Cluster', 'troupe-postgres') as K8sObject & {
        spec: { instances: number; managed: { roles: Record<string, unknown>[] }; postgresql: { parameters: Record<string, string>; pg_hba: string[] } };
      };

    it('one cluster of three instances, spread over machines', () => {
      expect(cluster().apiVersion).toBe('postgresql.cnpg.io/v1');
      expect(cluster().spec.instances).toBe(3);
      expect(JSON.stringify(cluster().spec)).toContain('kubernetes.io/hostname');
    });

    it.each(DATABASE_OWNERS)('%s has its own login role (no other rights) with a basic-auth Secret, and its own database, which it owns', (owner) => {
      const role = `troupe_${owner}`;
      const declared = cluster().spec.managed.roles.filter((r) => r.name === role);
      expect(declared).toEqual([
        { name: role, ensure: 'present', login: true, superuser: false, createdb: false, createrole: false, replication: false, bypassrls: false, inherit: true, passwordSecret: { name: `troupe-${owner}-db` } },
      ]);
      const secret = find('Secret', `troupe-${owner}-db`);
      expect(secret.type).toBe('kubernetes.io/basic-auth');
      expect(secret.metadata.labels?.['cnpg.io/reload']).toBe('true');
      expect(secretData(`troupe-${owner}-db`).username).toBe(role);
      const database = find('Database', `troupe-${owner}`) as K8sObject & { spec: Record<string, unknown> };
      expect(database.spec).toEqual({ cluster: { name: 'troupe-postgres' }, name: owner, owner: role, ensure: 'present' });

      const url = new URL(environmentOf(owner).env.DATABASE_URL as string);
      expect([decodeURIComponent(url.username), url.host, url.pathname]).toEqual([role, 'troupe-postgres-rw:5432', `/${owner}`]);
    });

    it('the roles are the owners\' and no others; each role may connect to its own database alone (pg_hba), and no role inherits another', () => {
      expect(cluster().spec.managed.roles.map((r) => r.name).sort()).toEqual(DATABASE_OWNERS.map((o) => `troupe_${o}`).sort());
      expect(cluster().spec.managed.roles.every((r) => r.inRoles === undefined)).toBe(true);
      const hba = cluster().spec.postgresql.pg_hba;
      for (const owner of DATABASE_OWNERS) {
        for (const database of DATABASE_OWNERS) {
          expect(hbaMethod(hba, database, `troupe_${owner}`), `troupe_${owner} → ${database}`).toBe(database === owner ? 'scram-sha-256' : 'reject');
        }
        expect(hbaMethod(hba, 'postgres', `troupe_${owner}`)).toBe('reject');
      }
      // The operator's own users are not refused here.
      expect(hbaMethod(hba, 'order', 'postgres')).toBeUndefined();
    });

    it('max_connections holds every pool at the autoscalers\' ceilings', () => {
      const pool = (owner: string) => Number(environmentOf(owner).env.DATABASE_POOL_SIZE);
      const ceiling = (owner: string) => (find('HorizontalPodAutoscaler', owner).spec as { maxReplicas: number }).maxReplicas;
      const needed = DATABASE_OWNERS.reduce((sum, owner) => sum + pool(owner) * ceiling(owner), 0);
      expect(Number(cluster().spec.postgresql.parameters.max_connections)).toBeGreaterThan(needed);
    });

    it("each service reads its own Secrets alone, and the operators' read token; the web front that token only", () => {
      for (const service of Object.keys(SERVICES)) {
        const names = containerOf(service).env.map((v) => v.valueFrom?.secretKeyRef?.name).filter((n): n is string => n !== undefined);
        const shared = names.filter((name) => name.startsWith('troupe-operator-read'));
        expect(shared, `${service} reads the operators' read token`).toHaveLength(1);
        for (const name of names.filter((n) => !shared.includes(n))) expect(name, `${service} reads ${name}`).toMatch(new RegExp(`^troupe-${service}-`));
        if (service === 'web') expect(names).toEqual(shared);
      }
    });
  });

  describe('pod security', () => {
    /** Every pod template in the overlay, the broker's as the operator's override makes it. */
    const podTemplates = (): [string, PodSpec][] => [
      ...objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind)).map((o) => [`${o.kind}/${o.metadata.name}`, (o.spec as { template: { spec: PodSpec } }).template.spec] as [string, PodSpec]),
      ...objects
        .filter((o) => o.kind === 'CronJob')
        .map((o) => [`CronJob/${o.metadata.name}`, (o.spec as { jobTemplate: { spec: { template: { spec: PodSpec } } } }).jobTemplate.spec.template.spec] as [string, PodSpec]),
      ['RabbitmqCluster/troupe-rabbitmq', (find('RabbitmqCluster', 'troupe-rabbitmq').spec as { override: { statefulSet: { spec: { template: { spec: PodSpec } } } } }).override.statefulSet.spec.template.spec],
    ];

    it('every pod template meets the restricted Pod Security Standard', () => {
      const templates = podTemplates();
      expect(templates.length).toBe(7 + 1);
      expect(Object.fromEntries(templates.map(([name, pod]) => [name, restrictedViolations(pod)]))).toEqual(Object.fromEntries(templates.map(([name]) => [name, []])));
    });

    it('the database cluster asks for the RuntimeDefault seccomp profile (its pods are the operator\'s: no template here to check)', () => {
      expect((find('Cluster', 'troupe-postgres').spec as { seccompProfile: unknown }).seccompProfile).toEqual({ type: 'RuntimeDefault' });
    });

    it("the broker's override covers both of the operator's containers, rabbitmq and the init container setup-container", () => {
      const pod = podTemplates().find(([name]) => name.startsWith('RabbitmqCluster'))?.[1] as PodSpec;
      expect(pod.containers?.map((c) => c.name)).toEqual(['rabbitmq']);
      expect(pod.initContainers?.map((c) => c.name)).toEqual(['setup-container']);
    });

    it('when a pod breaks a rule, then the checker names it (the check is real)', () => {
      const good = structuredClone(find('Deployment', 'order').spec as { template: { spec: PodSpec } }).template.spec;
      expect(restrictedViolations(good)).toEqual([]);
      const broken: PodSpec[] = [
        { ...good, securityContext: { ...good.securityContext, runAsNonRoot: false } },
        { ...good, securityContext: { ...good.securityContext, seccompProfile: { type: 'Unconfined' } } },
        { ...good, hostNetwork: true },
        { ...good, volumes: [{ name: 'root', hostPath: { path: '/' } }] },
        { ...good, containers: good.containers?.map((c) => ({ ...c, securityContext: { ...c.securityContext, allowPrivilegeEscalation: true } })) },
        { ...good, containers: good.containers?.map((c) => ({ ...c, securityContext: { ...c.securityContext, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } } })) },
        { ...good, containers: good.containers?.map((c) => ({ ...c, securityContext: { ...c.securityContext, capabilities: {} } })) },
        { ...good, initContainers: [{ name: 'setup', securityContext: {} }] },
      ];
      for (const pod of broken) expect(restrictedViolations(pod)).not.toEqual([]);
      expect(restrictedViolations({ ...good, containers: good.containers?.map((c) => ({ ...c, securityContext: { ...c.securityContext, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } })) })).toEqual([]);
    });
  });

  describe('the observer', () => {
    it('connects as its own user, whose permissions are observerPermissions(): its own queues, and reading the four exchanges', () => {
      const user = find('User', 'troupe-observer') as K8sObject & { spec: { importCredentialsSecret: { name: string }; tags?: string[] } };
      expect(user.spec.importCredentialsSecret).toEqual({ name: 'troupe-observer-broker' });
      expect(user.spec.tags ?? []).toEqual([]);
      expect((find('Permission', 'troupe-observer').spec as { permissions: unknown }).permissions).toEqual(observerPermissions());
      expect(secretData('troupe-observer-broker').username).toBe('troupe-observer');
      const urls = parseBrokerUrls(environmentOf('observer').env.RABBITMQ_URL as string);
      for (const url of urls) expect(decodeURIComponent(url.username)).toBe('troupe-observer');
      const secrets = containerOf('observer').env.map((v) => v.valueFrom?.secretKeyRef?.name).filter((n): n is string => n !== undefined);
      expect(new Set(secrets)).toEqual(new Set(['troupe-observer-broker', 'troupe-operator-read']));
    });

    it('runs one replica (its window is in memory), ready on /readyz, non-root and read-only, with an environment its config schema accepts', () => {
      const deployment = find('Deployment', 'observer') as K8sObject & { spec: { replicas: number; strategy: { type: string } } };
      expect([deployment.spec.replicas, deployment.spec.strategy.type]).toEqual([1, 'Recreate']);
      const container = containerOf('observer');
      expect(container.ports).toEqual([{ name: 'http', containerPort: 3005 }]);
      expect((container.readinessProbe as Probe).httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      const { env, feeders } = environmentOf('observer');
      expect(observerSchema.safeParse(env).success).toBe(true);
      for (const name of Object.keys(env)) expect(name in observerSchema.shape || /^OTEL_/.test(name) || feeders.has(name), name).toBe(true);
    });
  });

  describe('network policies', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const pod = (name: string): Endpoint => {
      const template = (find('Deployment', name).spec as { template: { metadata: { labels: Record<string, string> } } }).template;
      const ports = Object.fromEntries(((containerOf(name).ports ?? []) as { name: string; containerPort: number }[]).map((p) => [p.name, p.containerPort]));
      return { namespace: NAMESPACE, labels: template.metadata.labels, ports };
    };
    // The operators label their pods so (RabbitMQ: app.kubernetes.io/name = the cluster's name).
    const broker: Endpoint = { namespace: NAMESPACE, labels: { 'app.kubernetes.io/name': 'troupe-rabbitmq', 'app.kubernetes.io/component': 'rabbitmq' } };
    const postgres: Endpoint = { namespace: NAMESPACE, labels: { 'cnpg.io/cluster': 'troupe-postgres', 'cnpg.io/podRole': 'instance' } };
    const prometheus: Endpoint = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
    const collector: Endpoint = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'otel-collector' } };
    const dns: Endpoint = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
    const stranger: Endpoint = { namespace: NAMESPACE, labels: { app: 'stranger' } };
    const outsider: Endpoint = { namespace: 'elsewhere', labels: { 'app.kubernetes.io/name': 'web' } };
    const internet: Endpoint = { namespace: '', labels: {}, ip: '203.0.113.7' };
    const apps = Object.keys(SERVICES);

    it('everything is denied unless allowed: a default-deny policy selects every pod, both ways', () => {
      expect(policies.find((p) => p.metadata.name === 'default-deny')?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      for (const app of apps) {
        expect(allows(policies, stranger, pod(app), PORTS[app] as number), `stranger → ${app}`).toBe(false);
        expect(allows(policies, outsider, pod(app), PORTS[app] as number), `another namespace → ${app}`).toBe(false);
        expect(allows(policies, pod(app), internet, 443), `${app} → the internet`).toBe(false);
      }
      expect(allows(policies, stranger, broker, 5672)).toBe(false);
      expect(allows(policies, stranger, postgres, 5432)).toBe(false);
    });

    it('every pod resolves names', () => {
      for (const from of [...apps.map(pod), broker, postgres, stranger]) expect(allows(policies, from, dns, 53, 'UDP')).toBe(true);
    });

    it('the four services reach the broker; the gateway and the web front do not', () => {
      for (const service of MESSAGING_SERVICES) expect(allows(policies, pod(service), broker, 5672), service).toBe(true);
      for (const other of ['gateway', 'web']) expect(allows(policies, pod(other), broker, 5672), other).toBe(false);
    });

    it('the database owners reach the database; the web front does not (and inventory may not use payment\'s database: pg_hba)', () => {
      for (const owner of DATABASE_OWNERS) expect(allows(policies, pod(owner), postgres, 5432), owner).toBe(true);
      expect(allows(policies, pod('web'), postgres, 5432)).toBe(false);
      const hba = (find('Cluster', 'troupe-postgres').spec as { postgresql: { pg_hba: string[] } }).postgresql.pg_hba;
      expect(hbaMethod(hba, 'payment', 'troupe_inventory')).toBe('reject');
    });

    it('the observer reaches the broker and the services\' HTTP ports, never the database; the web front and Prometheus reach it, no service does', () => {
      expect(allows(policies, pod('observer'), broker, 5672)).toBe(true);
      for (const app of [...MESSAGING_SERVICES, 'gateway']) expect(allows(policies, pod('observer'), pod(app), PORTS[app] as number), app).toBe(true);
      expect(allows(policies, pod('observer'), postgres, 5432)).toBe(false);
      expect(allows(policies, pod('web'), pod('observer'), 3005)).toBe(true);
      expect(allows(policies, prometheus, pod('observer'), 3005)).toBe(true);
      expect(allows(policies, pod('observer'), collector, 4318)).toBe(true);
      for (const app of [...MESSAGING_SERVICES, 'gateway']) expect(allows(policies, pod(app), pod('observer'), 3005), app).toBe(false);
    });

    it('payment reaches the card gateway, and nothing else does but the web front and the observer (the ledger)', () => {
      expect(allows(policies, pod('payment'), pod('gateway'), 3004)).toBe(true);
      expect(allows(policies, pod('web'), pod('gateway'), 3004)).toBe(true);
      for (const other of ['order', 'inventory', 'notification']) expect(allows(policies, pod(other), pod('gateway'), 3004), other).toBe(false);
    });

    it('the web front reaches every service and the gateway; the services do not call one another', () => {
      for (const app of apps.filter((a) => a !== 'web')) expect(allows(policies, pod('web'), pod(app), PORTS[app] as number), app).toBe(true);
      expect(allows(policies, pod('inventory'), pod('payment'), 3001)).toBe(false);
      expect(allows(policies, pod('order'), pod('web'), 8080)).toBe(false);
    });

    it('Prometheus scrapes every service on its port and the broker on 15692; traces go out to the collector on 4318', () => {
      for (const app of apps) {
        expect(allows(policies, prometheus, pod(app), PORTS[app] as number), app).toBe(true);
        expect(allows(policies, pod(app), collector, 4318), app).toBe(true);
        expect(allows(policies, prometheus, pod(app), 9999), `${app} on another port`).toBe(false);
      }
      expect(allows(policies, prometheus, broker, 15692)).toBe(true);
      expect(allows(policies, prometheus, broker, 5672)).toBe(false);
      expect(new URL(environmentOf('order').env.OTEL_EXPORTER_OTLP_ENDPOINT as string).host).toBe('otel-collector.monitoring:4318');
    });

    it('the broker nodes cluster among themselves and the operators reach their API; the database instances replicate and talk to their operator', () => {
      for (const port of [4369, 25672, 35672, 35682]) expect(allows(policies, broker, broker, port), String(port)).toBe(true);
      expect(allows(policies, { namespace: 'rabbitmq-system', labels: {} }, broker, 15672)).toBe(true);
      expect(allows(policies, pod('order'), broker, 15672)).toBe(false);
      for (const port of [5432, 8000]) expect(allows(policies, postgres, postgres, port), String(port)).toBe(true);
      expect(allows(policies, { namespace: 'cnpg-system', labels: {} }, postgres, 8000)).toBe(true);
      expect(allows(policies, pod('notification'), internet, 587)).toBe(true);
    });
  });

  describe.each(Object.keys(SERVICES))('the %s service', (service) => {
    it('runs at least two replicas, kept by a disruption budget and scaled on CPU by an autoscaler', () => {
      const deployment = find('Deployment', service) as K8sObject & { spec: { replicas: number; selector: unknown } };
      const pdb = find('PodDisruptionBudget', service) as K8sObject & { spec: { minAvailable: number; selector: unknown } };
      const hpa = find('HorizontalPodAutoscaler', service) as K8sObject & { spec: Record<string, never> };
      expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
      expect(pdb.spec.minAvailable).toBe(1);
      expect(pdb.spec.selector).toEqual(deployment.spec.selector);
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: service });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(Number(hpa.spec.minReplicas));
    });

    it('is ready on /readyz (the order service: /readyz/requests, the database alone) and alive on /healthz, on the port the service listens on', () => {
      const container = containerOf(service);
      expect(container.ports).toEqual([{ name: 'http', containerPort: PORTS[service] }]);
      // Orders are taken while the broker is away (the outbox keeps them): a broker outage must not
      // take the order API off the network (docs/decisions/0027).
      const readiness = service === 'order' ? '/readyz/requests' : '/readyz';
      expect((container.readinessProbe as Probe).httpGet).toEqual({ path: readiness, port: 'http' });
      expect((container.livenessProbe as Probe).httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.env).toContainEqual({ name: 'PORT', value: String(PORTS[service]) });
      expect((find('Service', service).spec as { ports: unknown }).ports).toEqual([{ name: 'http', port: PORTS[service], targetPort: 'http' }]);
    });

    it('requests the memory measured under load (about 125 MB) and is limited above the 160 MB heap cap', () => {
      const { requests, limits } = containerOf(service).resources as { requests: Record<string, string>; limits: Record<string, string> };
      const mebibytes = (q: string) => Number(/^(\d+)Mi$/.exec(q)?.[1]);
      expect(mebibytes(requests.memory as string)).toBeGreaterThanOrEqual(125);
      expect(mebibytes(limits.memory as string)).toBeGreaterThan(160);
      expect(requests.cpu).toBeDefined();
    });

    it('runs non-root, read-only, without privileges (restricted pod security)', () => {
      const pod = (find('Deployment', service).spec as { template: { spec: { securityContext: Record<string, unknown> } } }).template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(containerOf(service).securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    });

    it("the ConfigMap, the Secrets and the variables built from them give an environment the service's config schema accepts, with no unknown variable", () => {
      const { env, feeders } = environmentOf(service);
      const schema = SERVICES[service] as (typeof SERVICES)[string];
      expect(schema.safeParse(env).success).toBe(true);
      for (const name of Object.keys(env)) expect(name in schema.shape || /^OTEL_/.test(name) || feeders.has(name), `${name} is read by ${service}, or feeds a variable it reads`).toBe(true);
    });
  });
});


// kubectl's kustomize must render the same objects (generated names aside). Without kubectl the
// check is skipped, loudly, and under CI=true it fails (.ci/run installs kubectl).
const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
if (!kubectl) console.warn('\n*** SKIPPED: deploy/kubernetes was NOT rendered with kubectl kustomize — kubectl is not installed. ***\n');
describe('deploy/kubernetes: kubectl kustomize', () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-kustomize-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.runIf(kubectl || process.env.CI === 'true')('renders the demo overlay exactly as the subset above does', () => {
    expect(kubectl, 'kubectl is installed (CI needs it)').toBe(true);
    cpSync(join(root, 'deploy/kubernetes'), dir, { recursive: true });
    const secrets = join(dir, 'overlays/demo/secrets');
    for (const file of readdirSync(secrets).filter((f) => f.endsWith('.example'))) cpSync(join(secrets, file), join(secrets, file.replace(/\.example$/, '')));
    const rendered = spawnSync('kubectl', ['kustomize', join(dir, 'overlays/demo')], { encoding: 'utf8' });
    expect(rendered.stderr).toBe('');
    // kubectl folds long base64 values over several lines.
    const theirs = parseAllDocuments(rendered.stdout)
      .map((d) => d.toJS() as K8sObject & { data?: Record<string, string> })
      .map((o) => (o.kind === 'Secret' ? { ...o, data: Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, v.replace(/\s/g, '')])) } : o));
    const hashed = generated('troupe-notification-smtp').metadata.name;
    expect(hashed).toMatch(/^troupe-notification-smtp-[a-z0-9]{10}$/);
    const normalise = (list: K8sObject[]) =>
      JSON.parse(JSON.stringify(list).replace(/troupe-notification-smtp-[a-z0-9]{10}/g, 'troupe-notification-smtp-HASH')).sort((a: K8sObject, b: K8sObject) =>
        `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`),
      );
    expect(normalise(theirs)).toEqual(normalise(objects));
  });
});
