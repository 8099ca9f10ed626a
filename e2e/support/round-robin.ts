import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A round-robin HTTP front for replicas of one service, as a Kubernetes Service or a load balancer
 * would be: each request goes to the next target, and a target that refuses the connection (a
 * dead replica) is skipped for the next one, since nothing was sent to it. A request cut once
 * sent answers 502: the client retries with its Idempotency-Key. `hits` counts the requests each
 * target answered, `accepted` its 202s.
 */
export class RoundRobin {
  readonly hits: number[];
  readonly accepted: number[];
  private next = 0;
  private readonly server: Server;

  private constructor(readonly targets: string[]) {
    this.hits = targets.map(() => 0);
    this.accepted = targets.map(() => 0);
    this.server = createServer((req, res) => void this.forward(req, res));
  }

  static async start(targets: string[]): Promise<RoundRobin> {
    const front = new RoundRobin(targets);
    await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
    return front;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const first = this.next++;
    let failure = 'no target';
    for (let tried = 0; tried < this.targets.length; tried++) {
      const index = (first + tried) % this.targets.length;
      const outcome = await this.send(index, req, body, res);
      if (outcome === 'answered') return;
      failure = outcome.refused;
    }
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: failure }));
  }

  private send(index: number, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<'answered' | { refused: string }> {
    const target = this.targets[index] as string;
    return new Promise((resolve) => {
      const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
        this.hits[index] = (this.hits[index] ?? 0) + 1;
        if (answer.statusCode === 202) this.accepted[index] = (this.accepted[index] ?? 0) + 1;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        resolve('answered');
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') return resolve({ refused: `${target}: ${error.message}` });
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `${target}: ${error.message}` }));
        resolve('answered');
      });
      upstream.end(body);
    });
  }
}
