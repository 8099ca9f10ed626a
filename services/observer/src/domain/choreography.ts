import { ASYNCAPI_EXTENSION } from '@troupe/contracts';

/**
 * The choreography as the AsyncAPI document declares it: which service publishes on which
 * exchange, the event types each exchange carries and the versions the contract knows, and who
 * receives which type through which queue. Drawn from the document alone (its channels, messages
 * and the `x-troupe-*` fields of its operations), so a subscription added to the contract is an
 * edge on the map without a line changed here (docs/decisions/0030).
 */
export interface Choreography {
  exchanges: { name: string; producer: string }[];
  /** Per exchange, the event types its channel carries and, per type, the versions the contract knows. */
  carries: Map<string, Map<string, Set<number>>>;
  edges: DeclaredEdge[];
  /** Per service, the exchanges it receives from and the queue each comes through. */
  subscriptions: { service: string; exchange: string; queue: string }[];
}

export interface DeclaredEdge {
  id: string;
  exchange: string;
  producer: string;
  type: string;
  subscriber: string;
  queue: string;
}

export const edgeId = (exchange: string, type: string, subscriber: string): string => `${exchange}/${type}/${subscriber}`;

export class ContractError extends Error {
  override name = 'ContractError';
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The object a local `$ref` (`#/a/b`) points to in `document`. */
function resolve(document: Json, value: unknown): Json {
  if (!isObject(value)) throw new ContractError('expected an object');
  const ref = value.$ref;
  if (typeof ref !== 'string') return value;
  if (!ref.startsWith('#/')) throw new ContractError(`only local references are followed: ${ref}`);
  let at: unknown = document;
  for (const part of ref.slice(2).split('/')) {
    at = isObject(at) ? at[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  if (!isObject(at)) throw new ContractError(`${ref} points to nothing`);
  return resolve(document, at);
}

const text = (value: unknown, what: string): string => {
  if (typeof value !== 'string' || value === '') throw new ContractError(`${what} must be a non-empty string`);
  return value;
};

/** The versions a message's payload accepts (`version`: a const or an enum of integers). */
function versionsOf(message: Json): Set<number> {
  const payload = isObject(message.payload) ? message.payload : {};
  const properties = isObject(payload.properties) ? payload.properties : {};
  const version = isObject(properties.version) ? properties.version : {};
  const values = version.const !== undefined ? [version.const] : Array.isArray(version.enum) ? version.enum : [];
  return new Set(values.filter((v): v is number => Number.isInteger(v)));
}

/** Reads an AsyncAPI 3 document (parsed JSON); throws `ContractError` naming what it cannot read. */
export function choreographyOf(document: unknown): Choreography {
  if (!isObject(document) || typeof document.asyncapi !== 'string' || !document.asyncapi.startsWith('3.')) throw new ContractError('not an AsyncAPI 3 document');
  const channels = isObject(document.channels) ? document.channels : {};
  const operations = isObject(document.operations) ? document.operations : {};
  const channelOf = (ref: unknown) => {
    const channel = resolve(document, ref);
    return { channel, exchange: text(channel.address, 'a channel address') };
  };
  const messageName = (ref: unknown) => {
    const message = resolve(document, ref);
    return { message, type: text(message.name, 'a message name') };
  };

  const carries = new Map<string, Map<string, Set<number>>>();
  for (const channel of Object.values(channels)) {
    const { exchange } = channelOf(channel);
    const types = new Map<string, Set<number>>();
    for (const ref of Object.values(isObject((channel as Json).messages) ? ((channel as Json).messages as Json) : {})) {
      const { message, type } = messageName(ref);
      types.set(type, versionsOf(message));
    }
    carries.set(exchange, types);
  }

  const producers = new Map<string, string>();
  const edges: DeclaredEdge[] = [];
  const subscriptions: Choreography['subscriptions'] = [];
  for (const [id, value] of Object.entries(operations)) {
    if (!isObject(value)) continue;
    const service = text(value[ASYNCAPI_EXTENSION.service], `operations.${id}.${ASYNCAPI_EXTENSION.service}`);
    const { exchange } = channelOf(value.channel);
    const types = (Array.isArray(value.messages) ? value.messages : []).map((ref) => messageName(ref).type);
    if (value.action === 'send') {
      producers.set(exchange, service);
    } else if (value.action === 'receive') {
      const queue = text(value[ASYNCAPI_EXTENSION.queue], `operations.${id}.${ASYNCAPI_EXTENSION.queue}`);
      subscriptions.push({ service, exchange, queue });
      for (const type of types) edges.push({ id: edgeId(exchange, type, service), exchange, producer: '', type, subscriber: service, queue });
    }
  }
  for (const edge of edges) edge.producer = producers.get(edge.exchange) ?? 'unknown';
  const exchanges = [...carries.keys()].map((name) => ({ name, producer: producers.get(name) ?? 'unknown' }));
  return { exchanges, carries, edges, subscriptions };
}
