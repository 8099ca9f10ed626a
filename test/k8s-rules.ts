import type { K8sObject } from './kustomize';

/**
 * Kubernetes' own rules, written small enough to check rendered manifests without a cluster: the
 * restricted Pod Security Standard (pod-security.kubernetes.io/enforce: restricted, as of 1.33),
 * what a set of NetworkPolicies allows, and which pg_hba line a connection meets first.
 */

type Labels = Record<string, string>;
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: { type?: string };
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}
interface Container {
  name: string;
  securityContext?: SecurityContext;
  ports?: { name?: string; containerPort: number; hostPort?: number }[];
}
export interface PodSpec {
  securityContext?: SecurityContext & { sysctls?: unknown[] };
  containers?: Container[];
  initContainers?: Container[];
  volumes?: Record<string, unknown>[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}

const ALLOWED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

/** What a pod breaks of the restricted Pod Security Standard: one line per violation, none if it meets it. */
export function restrictedViolations(pod: PodSpec): string[] {
  const out: string[] = [];
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.push('host namespaces');
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (!type || !ALLOWED_VOLUMES.has(type)) out.push(`volume ${String(volume.name)}: type ${type} not allowed`);
  }
  const podContext = pod.securityContext ?? {};
  if (podContext.runAsUser === 0) out.push('pod runs as UID 0');
  const podSeccomp = podContext.seccompProfile?.type;
  if (podSeccomp !== undefined && !['RuntimeDefault', 'Localhost'].includes(podSeccomp)) out.push(`pod seccomp ${podSeccomp}`);
  const containers = [...(pod.containers ?? []), ...(pod.initContainers ?? [])];
  if (containers.length === 0) out.push('no containers');
  for (const container of containers) {
    const c = container.securityContext ?? {};
    const at = (what: string) => out.push(`${container.name}: ${what}`);
    if (c.privileged) at('privileged');
    if (c.allowPrivilegeEscalation !== false) at('allowPrivilegeEscalation is not false');
    if (!(c.capabilities?.drop ?? []).includes('ALL')) at('capabilities do not drop ALL');
    for (const added of c.capabilities?.add ?? []) if (added !== 'NET_BIND_SERVICE') at(`adds capability ${added}`);
    if ((c.runAsNonRoot ?? podContext.runAsNonRoot) !== true) at('runAsNonRoot is not true');
    if (c.runAsUser === 0) at('runs as UID 0');
    const seccomp = c.seccompProfile?.type ?? podSeccomp;
    if (!seccomp || !['RuntimeDefault', 'Localhost'].includes(seccomp)) at(`seccomp profile ${seccomp ?? 'unset'}`);
    for (const port of container.ports ?? []) if (port.hostPort) at(`hostPort ${port.hostPort}`);
  }
  return out;
}

// --- NetworkPolicy ------------------------------------------------------------------------------

interface Selector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PolicyPort[];
}
interface NetworkPolicySpec {
  podSelector: Selector;
  policyTypes?: ('Ingress' | 'Egress')[];
  ingress?: Rule[];
  egress?: Rule[];
}

/** A pod as the policies see it: its namespace (name and labels), labels, named ports and an address. */
export interface Endpoint {
  namespace: string;
  labels: Labels;
  ports?: Record<string, number>;
  ip?: string;
}

export function selects(selector: Selector, labels: Labels): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return key in labels && values.includes(labels[key] as string);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key] as string);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
    }
  });
  return byLabel && byExpression;
}

const ipv4 = (ip: string) => ip.split('.').reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return (ipv4(ip) & mask) === (ipv4(base as string) & mask);
}

const nsLabels = (e: Endpoint): Labels => ({ 'kubernetes.io/metadata.name': e.namespace });

function peerMatches(peer: Peer, other: Endpoint, policyNamespace: string): boolean {
  if (peer.ipBlock) {
    // Pod-to-pod traffic is matched by selectors; an ipBlock stands for addresses outside the cluster.
    if (!other.ip) return false;
    return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip as string, c));
  }
  if (other.ip) return false;
  const namespaceOk = peer.namespaceSelector ? selects(peer.namespaceSelector, nsLabels(other)) : other.namespace === policyNamespace;
  return namespaceOk && (peer.podSelector ? selects(peer.podSelector, other.labels) : true);
}

function portMatches(ports: PolicyPort[] | undefined, destination: Endpoint, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    const number = typeof p.port === 'string' ? destination.ports?.[p.port] : p.port;
    if (number === undefined) return false;
    return p.endPort === undefined ? number === port : port >= number && port <= p.endPort;
  });
}

const types = (spec: NetworkPolicySpec) => spec.policyTypes ?? (spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);

/**
 * Whether `policies` let `from` open a connection to `to` on `port`: the source's egress and the
 * destination's ingress alike. A pod no policy selects for a direction is open in it; a pod in a
 * namespace none of `policies` is in (a neighbour's) counts as open, as does an address outside
 * the cluster (`ip`).
 */
export function allows(policies: K8sObject[], from: Endpoint, to: Endpoint, port: number, protocol = 'TCP'): boolean {
  const side = (pod: Endpoint, type: 'Ingress' | 'Egress', other: Endpoint) => {
    if (pod.ip) return true;
    const applying = policies
      .filter((p) => p.metadata.namespace === pod.namespace)
      .map((p) => p.spec as NetworkPolicySpec)
      .filter((spec) => types(spec).includes(type) && selects(spec.podSelector, pod.labels));
    if (applying.length === 0) return true;
    const namespace = pod.namespace;
    return applying.some((spec) =>
      (type === 'Ingress' ? spec.ingress : spec.egress)?.some((rule) => {
        const peers = type === 'Ingress' ? rule.from : rule.to;
        const peerOk = !peers || peers.some((peer) => peerMatches(peer, other, namespace));
        return peerOk && portMatches(rule.ports, to, port, protocol);
      }),
    );
  };
  return side(from, 'Egress', to) && side(to, 'Ingress', from);
}

// --- pg_hba -------------------------------------------------------------------------------------

/** The method of the first `host` line of `lines` matching `database` and `role` (undefined: none). */
export function hbaMethod(lines: string[], database: string, role: string): string | undefined {
  for (const line of lines) {
    const [type, databases, roles, _address, method] = line.trim().split(/\s+/);
    if (type !== 'host' || !databases || !roles) continue;
    const matches = (field: string, value: string) => field.split(',').some((f) => f === 'all' || f === value);
    if (matches(databases, database) && matches(roles, role)) return method;
  }
  return undefined;
}
