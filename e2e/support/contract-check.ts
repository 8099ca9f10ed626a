import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OutputUnit, Validator } from '@hyperjump/json-schema/openapi-3-1';

/**
 * Checks HTTP answers against docs/contracts/openapi.json and messages against
 * docs/contracts/asyncapi.json, the documents troupe publishes: the operation (path template and
 * method, on a service the path lists among its servers), the status, the headers the response
 * declares (required ones present, values valid, and no header the document declares elsewhere
 * turning up undeclared), the media type and the body; for a message, its channel, its AMQP
 * properties, its headers and its payload. Schemas are evaluated by @hyperjump/json-schema, whose
 * `openapi-3-1` dialect is the OpenAPI 3.1 schema dialect (JSON Schema 2020-12 plus OpenAPI's
 * vocabulary) and whose `draft-07` is what AsyncAPI 3.0 payloads default to. Formats (uuid,
 * date-time, email) are asserted, not just annotated.
 *
 * Each check returns the first violation as one line naming the path (or exchange), the status (or
 * event type) and what failed, or undefined; it also records what it saw, for the coverage summary.
 */

const ROOT = join(__dirname, '..', '..');
export const OPENAPI_PATH = join(ROOT, 'docs', 'contracts', 'openapi.json');
export const ASYNCAPI_PATH = join(ROOT, 'docs', 'contracts', 'asyncapi.json');

/** Who answered: one of the four services, the card gateway or the web front, each at its documented server. */
export type Answerer = 'order' | 'payment' | 'inventory' | 'notification' | 'gateway' | 'observer' | 'web';
const DOCUMENTED_SERVER: Record<Answerer, string> = {
  order: 'http://localhost:3000',
  payment: 'http://localhost:3001',
  inventory: 'http://localhost:3002',
  notification: 'http://localhost:3003',
  gateway: 'http://localhost:3004',
  observer: 'http://localhost:3005',
  web: 'http://localhost:8080',
};

export interface HttpAnswer {
  method: string;
  /** Path and query, as requested. */
  url: string;
  status: number;
  headers: Headers;
  /** The body as text; undefined when it was not read (a stream that does not end). */
  body: string | undefined;
}

export interface AmqpMessage {
  exchange: string;
  content: Buffer;
  properties: { contentType?: string | undefined; type?: string | undefined; deliveryMode?: number | undefined; headers?: Record<string, unknown> | undefined };
}

interface Json {
  [key: string]: unknown;
}
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const ASYNCAPI_DIALECT = 'http://json-schema.org/draft-07/schema';
const ASYNCAPI_BASE = 'https://troupe.invalid/asyncapi';

/** A JSON Pointer as a URI fragment (RFC 6901 section 6). */
const fragment = (...tokens: string[]) => `#/${tokens.map((t) => encodeURIComponent(t.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;
const asObject = (value: unknown): Json => (value !== null && typeof value === 'object' ? (value as Json) : {});

export class ContractChecker {
  /** `METHOD template status` of every answer checked against a declared response. */
  readonly responsesSeen = new Set<string>();
  /** Every event type seen on an exchange. */
  readonly eventsSeen = new Set<string>();
  private readonly validators = new Map<string, Promise<Validator>>();
  /** The AsyncAPI schemas registered, by the URI they are registered under. */
  private readonly registered = new Map<string, Json>();
  private readonly openApiUri: string;
  private readonly templates: { template: string; segments: string[]; item: Json }[];
  private readonly documentedHeaders: Set<string>;

  private constructor(
    private readonly openApi: Json,
    private readonly asyncApi: Json,
    private readonly hyperjump: typeof import('@hyperjump/json-schema/openapi-3-1'),
  ) {
    this.openApiUri = pathToFileURL(OPENAPI_PATH).href;
    // Literal segments win over templated ones (/orders/stream before /orders/{orderId}).
    this.templates = Object.entries(asObject(openApi.paths))
      .map(([template, item]) => ({ template, segments: template.split('/').slice(1), item: asObject(item) }))
      .sort((a, b) => a.segments.filter((s) => s.startsWith('{')).length - b.segments.filter((s) => s.startsWith('{')).length);
    this.documentedHeaders = new Set(
      this.templates.flatMap(({ item }) =>
        METHODS.flatMap((m) => Object.values(asObject(asObject(item[m]).responses)).flatMap((r) => Object.keys(asObject(asObject(r).headers)).map((h) => h.toLowerCase()))),
      ),
    );
  }

  static async load(): Promise<ContractChecker> {
    const hyperjump = await import('@hyperjump/json-schema/openapi-3-1');
    await import('@hyperjump/json-schema/draft-07');
    await import('@hyperjump/json-schema/formats');
    hyperjump.setShouldValidateFormat(true);
    const read = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Json;
    return new ContractChecker(read(OPENAPI_PATH), read(ASYNCAPI_PATH), hyperjump);
  }

  /** Every `METHOD template status` the OpenAPI document declares. */
  declaredResponses(): string[] {
    return this.templates.flatMap(({ template, item }) =>
      METHODS.filter((m) => item[m]).flatMap((m) => Object.keys(asObject(asObject(item[m]).responses)).map((status) => `${m.toUpperCase()} ${template} ${status}`)),
    );
  }

  /** Every message the AsyncAPI document declares. */
  declaredEvents(): string[] {
    return Object.keys(asObject(asObject(this.asyncApi.components).messages));
  }

  /** The first way `answer`, from `answerer`, breaks the OpenAPI document; undefined when it keeps it. */
  async checkResponse(answerer: Answerer, answer: HttpAnswer): Promise<string | undefined> {
    const pathname = new URL(answer.url, 'http://x').pathname;
    const method = answer.method.toLowerCase();
    const where = `${answer.method.toUpperCase()} ${pathname} → ${answer.status} (${answerer})`;
    // The services route as Express does by default: /orders/ is /orders.
    const routed = pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname;
    const onServer = (item: Json) => ((item.servers ?? this.openApi.servers) as { url: string }[]).some((s) => s.url === DOCUMENTED_SERVER[answerer]);
    const found = this.templates.find(({ segments, item }) => matches(segments, routed) && onServer(item));
    if (!found) {
      // A path the document does not have on this server is 404 with the error body, as the document says.
      const failure = answer.status === 404 && answer.body !== undefined ? await this.failure(`${this.openApiUri}#/components/schemas/Error`, parseJson(answer.body)) : 'not a 404';
      if (failure === undefined) return undefined;
      const elsewhere = this.templates.find(({ segments }) => matches(segments, routed));
      return `${where}: no path of the document matches ${pathname} on the ${answerer} server${elsewhere ? ` (${elsewhere.template} is another server's)` : ''}, and the answer is not the documented 404 (${failure})`;
    }
    const { template, item } = found;
    const operation = asObject(item[method]);
    if (!item[method]) return `${where}: ${template} has no ${answer.method.toUpperCase()} operation`;
    const responses = asObject(operation.responses);
    const status = [String(answer.status), `${String(answer.status)[0]}XX`, 'default'].find((s) => s in responses);
    if (status === undefined) return `${where}: status ${answer.status} is not declared for ${answer.method.toUpperCase()} ${template} (declared: ${Object.keys(responses).join(', ')})`;
    const response = asObject(responses[status]);
    const pointer = ['paths', template, method, 'responses', status];
    const at = `${where}, declared as ${answer.method.toUpperCase()} ${template} ${status}`;

    const declaredHeaders = asObject(response.headers);
    const declared = new Set(Object.keys(declaredHeaders).map((h) => h.toLowerCase()));
    for (const [name, header] of Object.entries(declaredHeaders)) {
      const value = answer.headers.get(name);
      if (value === null) {
        if (asObject(header).required === true) return `${at}: the required header ${name} is missing`;
        continue;
      }
      const failure = await this.failure(this.openApiUri + fragment(...pointer, 'headers', name, 'schema'), value);
      if (failure) return `${at}: header ${name}: ${failure}`;
    }
    for (const name of this.documentedHeaders) {
      if (!declared.has(name) && answer.headers.has(name)) return `${at}: header ${name} is not declared for this response (the document declares it elsewhere)`;
    }

    const content = asObject(response.content);
    const mediaType = (answer.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (Object.keys(content).length === 0) {
      if (answer.body) return `${at}: a body where the document declares none`;
    } else if (!(mediaType in content)) {
      return `${at}: Content-Type ${mediaType || '(none)'} is not declared (declared: ${Object.keys(content).join(', ')})`;
    } else if (answer.body !== undefined) {
      let body: unknown = answer.body;
      if (/^application\/(.+\+)?json$/.test(mediaType)) {
        try {
          body = JSON.parse(answer.body);
        } catch {
          return `${at}: the body is not JSON: ${answer.body.slice(0, 80)}`;
        }
      }
      const failure = await this.failure(this.openApiUri + fragment(...pointer, 'content', mediaType, 'schema'), body);
      if (failure) return `${at}: body ${failure}`;
    }
    this.responsesSeen.add(`${answer.method.toUpperCase()} ${template} ${status}`);
    return undefined;
  }

  /** The first way `message`, seen on an exchange, breaks the AsyncAPI document; undefined when it keeps it. */
  async checkMessage(message: AmqpMessage): Promise<string | undefined> {
    const type = message.properties.type;
    const where = `${message.exchange}: ${type ?? '(no type)'}`;
    const channel = Object.entries(asObject(this.asyncApi.channels)).find(([, c]) => asObject(c).address === message.exchange);
    if (!channel) return `${where}: no channel of the document has the address ${message.exchange}`;
    const [channelId, channelObject] = channel;
    if (type === undefined || !(type in asObject(asObject(channelObject).messages))) {
      return `${where}: the type property names no message of channel ${channelId} (${Object.keys(asObject(asObject(channelObject).messages)).join(', ')})`;
    }
    const declared = asObject(asObject(asObject(this.asyncApi.components).messages)[type]);
    const contentType = (declared.contentType ?? this.asyncApi.defaultContentType) as string;
    if (message.properties.contentType !== contentType) return `${where}: content type ${message.properties.contentType ?? '(none)'}, declared ${contentType}`;
    if (asObject(asObject(declared.bindings).amqp).messageType !== type) return `${where}: the message's AMQP binding names another type`;
    const send = Object.values(asObject(this.asyncApi.operations)).map(asObject).find((o) => o.action === 'send' && JSON.stringify(o.messages).includes(`/messages/${type}"`));
    const deliveryMode = asObject(asObject(send?.bindings).amqp).deliveryMode;
    if (deliveryMode !== undefined && message.properties.deliveryMode !== deliveryMode) return `${where}: delivery mode ${message.properties.deliveryMode ?? '(none)'}, declared ${String(deliveryMode)}`;

    let payload: unknown;
    try {
      payload = JSON.parse(message.content.toString('utf8'));
    } catch {
      return `${where}: the payload is not JSON`;
    }
    const headers = await this.failure(this.asyncApiSchema(type, 'headers', this.resolve(declared.headers)), asObject(message.properties.headers));
    if (headers) return `${where}: headers ${headers}`;
    const body = await this.failure(this.asyncApiSchema(type, 'payload', asObject(declared.payload)), payload);
    if (body) return `${where}: payload ${body}`;
    this.eventsSeen.add(type);
    return undefined;
  }

  /** Registers a schema of the AsyncAPI document under a URI of its own (draft-07, AsyncAPI's default). */
  private asyncApiSchema(type: string, part: 'payload' | 'headers', schema: Json): string {
    const uri = `${ASYNCAPI_BASE}/${type}/${part}`;
    if (!this.hyperjump.hasSchema(uri)) this.hyperjump.registerSchema(schema as never, uri, ASYNCAPI_DIALECT);
    this.registered.set(uri, schema);
    return uri;
  }

  private resolve(value: unknown): Json {
    const ref = asObject(value).$ref;
    return asObject(typeof ref === 'string' ? at(this.asyncApi, ref) : value);
  }

  /** The schema keyword at an absolute keyword location, in the document it came from. */
  private keywordAt(location: string): unknown {
    const [uri = '', pointer = ''] = location.split('#');
    const document = uri === this.openApiUri ? this.openApi : this.registered.get(uri);
    return document && at(document, `#${pointer}`);
  }

  /** The deepest failing location of `value` against the schema at `uri`, as one line; undefined when valid. */
  private async failure(uri: string, value: unknown): Promise<string | undefined> {
    let validator = this.validators.get(uri);
    if (!validator) {
      validator = this.hyperjump.validate(uri);
      this.validators.set(uri, validator);
    }
    const output = (await validator)(value as never, 'BASIC');
    if (output.valid) return undefined;
    const errors = output.errors ?? [];
    const depth = (e: OutputUnit) => e.instanceLocation.split('/').length;
    const first = errors.reduce<OutputUnit | undefined>((best, e) => (best === undefined || depth(e) > depth(best) ? e : best), undefined);
    if (!first) return 'is invalid';
    const schemaAt = first.absoluteKeywordLocation.replace(/^.*\/(openapi\.json|asyncapi\/)/, '$1');
    const instance = at(value, first.instanceLocation);
    const required = first.absoluteKeywordLocation.endsWith('/required') ? this.keywordAt(first.absoluteKeywordLocation) : undefined;
    if (Array.isArray(required)) {
      const missing = required.filter((name) => !Object.hasOwn(asObject(instance), String(name)));
      return `${first.instanceLocation} lacks ${missing.join(', ')} (required by ${schemaAt})`;
    }
    return `${first.instanceLocation} = ${describe(instance)} fails ${schemaAt}`;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Whether `pathname` fits a template's segments; a `{parameter}` takes one non-empty segment. */
function matches(segments: string[], pathname: string): boolean {
  const actual = pathname.split('/').slice(1);
  return actual.length === segments.length && segments.every((s, i) => (s.startsWith('{') ? actual[i] !== '' : s === actual[i]));
}

/** The node a JSON Pointer in URI fragment form (`#/a/b~1c`) points to in `document`. */
function at(document: unknown, pointer: string): unknown {
  return pointer
    .replace(/^#\/?/, '')
    .split('/')
    .filter((t) => t !== '')
    .reduce<unknown>((node, token) => asObject(node)[decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~')], document);
}

function describe(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
