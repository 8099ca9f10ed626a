import type { z } from 'zod';

/** What the observer reads over HTTP: the four services and the card gateway. */
export type Reached = 'order' | 'payment' | 'inventory' | 'notification' | 'gateway';

/** A read that did not give an answer the contract allows: the target, and why. */
export interface ReadFailure {
  target: Reached;
  reason: string;
}

/**
 * GETs against the services, each bounded by a timeout and held to its zod contract: an answer
 * that does not parse is no answer (undefined), never a guess. `onFailure` counts the misses.
 */
export class Reads {
  constructor(
    private readonly urls: Record<Reached, string>,
    private readonly timeoutMs: number,
    private readonly operatorToken: string | undefined,
    private readonly onFailure: (failure: ReadFailure) => void,
  ) {}

  get hasOperatorToken(): boolean {
    return this.operatorToken !== undefined;
  }

  /**
   * GET `path` on `target`; `statuses`: the statuses whose body `schema` parses (200 alone by
   * default; /readyz answers 503 with the same body). `operator`: with the operator's token.
   */
  async get<S extends z.ZodType>(target: Reached, path: string, schema: S, options: { operator?: boolean; statuses?: number[] } = {}): Promise<{ status: number; body: z.infer<S> } | undefined> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.operator && this.operatorToken) headers.authorization = `Bearer ${this.operatorToken}`;
    try {
      const response = await fetch(`${this.urls[target]}${path}`, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
      const text = await response.text();
      if (!(options.statuses ?? [200]).includes(response.status)) {
        this.onFailure({ target, reason: `${path.split('?')[0]} answered ${response.status}` });
        return undefined;
      }
      const parsed = schema.safeParse(JSON.parse(text));
      if (!parsed.success) {
        this.onFailure({ target, reason: `${path.split('?')[0]} answered outside its contract` });
        return undefined;
      }
      return { status: response.status, body: parsed.data };
    } catch (error) {
      this.onFailure({ target, reason: `${path.split('?')[0]}: ${(error as Error).name === 'TimeoutError' ? 'no answer in time' : 'not answering'}` });
      return undefined;
    }
  }
}
