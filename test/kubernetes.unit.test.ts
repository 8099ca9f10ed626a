/**
 * deploy/kubernetes, checked without a cluster: the demo overlay is rendered (by the kustomize
 * subset in ./kustomize.ts, and by `kubectl kustomize` too where kubectl is installed, which must
 * agree), every object is validated against the Kubernetes 1.33 API's JSON schemas (the
 * kubernetes-models package), and the objects must agree with the code: ports, probes, the
 * variables each service reads, the secrets they name.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { configSchema as inventorySchema } from '../services/inventory/src/config';
import { configSchema as notificationSchema } from '../services/notification/src/config';
import { configSchema as orderSchema } from '../services/order/src/config';
import { configSchema as paymentSchema } from '../services/payment/src/config';
import { configSchema as gatewaySchema } from '../services/gateway/src/config';
import { parseBrokerUrls } from '../shared/messaging/src/broker-addresses';
import { containersOf, kustomize, type Container, type K8sObject } from './kustomize';

const root = resolve(__dirname, '..');
const overlay = join(root, 'deploy/kubernetes/overlays/demo');
// secret.env is git-ignored: render what a fresh clone gets after copying the example.
const objects = kustomize(overlay, (path) => readFileSync(`${path}.example`, 'utf8'));
const SCHEMAS: Record<string, { new (data: never): { validate(): void } }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};
const SERVICES: Record<string, { shape: Record<string, unknown>; safeParse(v: unknown): { success: boolean } }> = {
  order: orderSchema,
  payment: paymentSchema,
  inventory: inventorySchema,
  notification: notificationSchema,
  gateway: gatewaySchema,
};
const PORTS: Record<string, number> = { order: 3000, payment: 3001, inventory: 3002, notification: 3003, gateway: 3004 };

const find = (kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in the rendered demo overlay`);
  return found;
};
type Probe = { httpGet?: { path?: string; port?: string | number } };
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
const containerOf = (service: string) => {
  const container = containersOf(find('Deployment', service))[0];
  if (!container) throw new Error(`no container in Deployment/${service}`);
  return container as Container & { env: EnvVar[] };
};
const secret = () => objects.find((o) => o.kind === 'Secret') as K8sObject & { data: Record<string, string> };

describe('deploy/kubernetes: the demo overlay', () => {
  it('every object passes the Kubernetes 1.33 API schema of its kind (RabbitmqCluster aside: a CRD)', () => {
    const failures: string[] = [];
    for (const o of objects) {
      if (o.kind === 'RabbitmqCluster') continue;
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
    expect(objects.length).toBe(1 + 1 + 1 + 1 + 5 * 4); // namespace, config, secret, rabbitmq, 4 services and the gateway × (deployment, service, pdb, hpa)
  });

  it('when a field has the wrong type, then the schema check fails (the check is real)', () => {
    const broken = structuredClone(find('Deployment', 'order')) as K8sObject & { spec: { replicas: unknown } };
    broken.spec.replicas = 'two';
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas/);
  });

  it('everything lands in the troupe-demo namespace, which enforces the restricted pod security standard', () => {
    const ns = find('Namespace', 'troupe-demo');
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('troupe-demo');
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

  it('the Secret holds RABBITMQ_URL with the three RabbitMQ pods, and one database URL per service', () => {
    const data = Object.fromEntries(Object.entries(secret().data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    const nodes = parseBrokerUrls(data.RABBITMQ_URL as string).map((url) => url.hostname);
    expect(nodes).toEqual([0, 1, 2].map((i) => `troupe-rabbitmq-server-${i}.troupe-rabbitmq-nodes.troupe-demo.svc`));
    for (const service of Object.keys(SERVICES)) expect(new URL(data[`${service.toUpperCase()}_DATABASE_URL`] as string).pathname).toBe(`/${service}`);
  });

  it('no secret is committed: only placeholders in the example, and the real file is git-ignored', () => {
    const example = readFileSync(join(overlay, 'secret.env.example'), 'utf8');
    for (const line of example.split('\n').filter((l) => /^[A-Z_]+=/.test(l))) expect(line).toMatch(/<password>/);
    const ignored = spawnSync('git', ['check-ignore', '-q', join(overlay, 'secret.env')], { cwd: root });
    expect(ignored.status).toBe(0);
    const committed = parseAllDocuments(readFileSync(join(root, 'deploy/kubernetes/base/config.yaml'), 'utf8')).map((d) => d.toJS());
    expect(JSON.stringify(committed)).not.toMatch(/password|amqp:\/\/|postgres:\/\//i);
  });

  it('payment calls the card gateway at its Service and port', () => {
    const url = new URL(containerOf('payment').env.find((v) => v.name === 'GATEWAY_URL')?.value as string);
    expect([url.hostname, Number(url.port)]).toEqual(['gateway', PORTS.gateway]);
    expect(containerOf('gateway').env.some((v) => v.name === 'RABBITMQ_URL')).toBe(false);
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

    it('is ready on /readyz and alive on /healthz, on the port the service listens on', () => {
      const container = containerOf(service);
      expect(container.ports).toEqual([{ name: 'http', containerPort: PORTS[service] }]);
      expect((container.readinessProbe as Probe).httpGet).toEqual({ path: '/readyz', port: 'http' });
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

    it("the ConfigMap and the Secret together give an environment the service's config schema accepts, with no unknown variable", () => {
      const config = find('ConfigMap', 'troupe-config').data as Record<string, string>;
      const data = secret().data;
      const fromConfig = (containerOf(service) as { envFrom?: { configMapRef?: { name: string } }[] }).envFrom?.some((e) => e.configMapRef?.name === 'troupe-config');
      const env: Record<string, string> = fromConfig ? { ...config } : {};
      for (const variable of containerOf(service).env) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref) {
          expect(ref.name).toBe(secret().metadata.name);
          if (data[ref.key] === undefined && (ref as { optional?: boolean }).optional) continue;
          expect(data[ref.key], `${variable.name} ← secret key ${ref.key}`).toBeDefined();
          env[variable.name] = Buffer.from(data[ref.key] as string, 'base64').toString();
        } else env[variable.name] = variable.value as string;
      }
      const schema = SERVICES[service] as (typeof SERVICES)[string];
      expect(schema.safeParse(env).success).toBe(true);
      for (const name of Object.keys(env)) expect(name in schema.shape || /^OTEL_/.test(name), `${name} is read by ${service}`).toBe(true);
    });
  });
});

// Where kubectl is installed, its kustomize must render the same objects (generated names aside).
const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
describe.runIf(kubectl)('deploy/kubernetes: kubectl kustomize', () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-kustomize-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders the demo overlay exactly as the subset above does', () => {
    cpSync(join(root, 'deploy/kubernetes'), dir, { recursive: true });
    cpSync(join(dir, 'overlays/demo/secret.env.example'), join(dir, 'overlays/demo/secret.env'));
    const rendered = spawnSync('kubectl', ['kustomize', join(dir, 'overlays/demo')], { encoding: 'utf8' });
    expect(rendered.stderr).toBe('');
    // kubectl folds long base64 values over several lines.
    const theirs = parseAllDocuments(rendered.stdout)
      .map((d) => d.toJS() as K8sObject & { data?: Record<string, string> })
      .map((o) => (o.kind === 'Secret' ? { ...o, data: Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, v.replace(/\s/g, '')])) } : o));
    const normalise = (list: K8sObject[]) =>
      JSON.parse(JSON.stringify(list).replace(/troupe-secrets-[a-z0-9]{10}/g, 'troupe-secrets-HASH')).sort((a: K8sObject, b: K8sObject) =>
        `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`),
      );
    expect(normalise(theirs)).toEqual(normalise(objects));
  });
});
