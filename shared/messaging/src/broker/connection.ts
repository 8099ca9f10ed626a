import { connect, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { BrokerAddresses } from './addresses';
import { errorMessage } from '../errors';

export interface BrokerConnectionOptions {
  /** amqp(s):// URL of the broker, or of each node of a cluster, comma-separated. */
  url: string;
  /** Shown by the broker beside the connection: `<name>@<pid>`. */
  name: string;
  logger: Logger;
  heartbeatSeconds: number;
  /** Give up (and call `onFatal`) when the broker has been unreachable this long. */
  giveUpAfterMs: number;
  /** Runs on every (re)connect, before the connection counts as up. */
  setup: (model: ChannelModel) => Promise<void>;
  /** The connection was lost; recovery is under way. */
  onDisconnect: (error: Error) => void;
  /** Reconnecting has been given up. */
  onFatal: (error: Error) => void;
}

/** Socket errors that mean nothing answered at that address (as opposed to a broker refusing). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/**
 * One connection to the broker that recovers by itself: reconnects with backoff and jitter, to
 * the next node of a cluster on every failed attempt, runs `setup` on each connect, and gives up
 * after `giveUpAfterMs` without the broker.
 */
export class BrokerConnection {
  private connection: RecoveringChannelModel | undefined;
  private addresses: BrokerAddresses | undefined;
  private disconnectedSince = Date.now();

  constructor(private readonly options: BrokerConnectionOptions) {}

  /** `host:port` of the node connected to (or being tried). */
  get node(): string | undefined {
    return this.addresses?.current;
  }

  /** Starts connecting in the background. */
  async open(): Promise<void> {
    const { logger, url, heartbeatSeconds, giveUpAfterMs } = this.options;
    this.disconnectedSince = Date.now();
    const addresses = new BrokerAddresses(url, heartbeatSeconds);
    this.addresses = addresses;
    this.connection = await connect(addresses.target, {
      // Nagle's algorithm holds small frames (acks, confirms, one message) up to ~40 ms waiting
      // for a delayed TCP ack: every hop of the workflow would pay it.
      noDelay: true,
      clientProperties: { connection_name: this.options.name },
      recovery: {
        waitForConnect: false,
        setup: (model: ChannelModel) => this.options.setup(model),
        calculateDelay: (attempt: number) => {
          const down = Date.now() - this.disconnectedSince;
          if (down > giveUpAfterMs) throw new Error(`broker unreachable for ${Math.round(down / 1000)}s`);
          // Every failed attempt moves on to the next node; the backoff grows per round of the
          // cluster, so a dead node costs a fraction of a second when another one is alive.
          addresses.advance();
          const round = Math.ceil(attempt / addresses.size);
          const base = Math.min(5000, 100 * 2 ** Math.min(round, 10));
          return Math.round(base * (0.8 + 0.4 * Math.random()));
        },
      },
    });
    this.connection.on('disconnect', (error: Error) => {
      this.disconnectedSince = Date.now();
      this.options.onDisconnect(error);
    });
    // One node of several not answering is routine (a node restarting, or one this deployment
    // does not run: compose's default profile has no rabbitmq-2 and -3), and the next attempt
    // goes to another node: debug, and a warning once every node of the round failed. A node
    // that answers and refuses (credentials, permissions, a topology that does not match) is
    // worth a warning at once.
    let failed: { node: string; err: string }[] = [];
    this.connection.on('connect', () => {
      failed = [];
    });
    this.connection.on('connect-failed', (error: Error) => {
      const attempt = { node: addresses.current, err: errorMessage(error) };
      failed.push(attempt);
      const roundOver = failed.length >= addresses.size;
      if (!UNREACHABLE.has((error as NodeJS.ErrnoException).code ?? '')) {
        logger.warn(attempt, 'the broker refused the connection or its setup; retrying');
      } else if (!roundOver) {
        logger.debug(attempt, 'broker node not reachable; trying the next');
      } else if (addresses.size === 1) {
        logger.warn(attempt, 'cannot reach the broker yet; retrying');
      } else {
        logger.warn({ nodes: failed }, 'cannot reach any broker node yet; retrying');
      }
      if (roundOver) failed = [];
    });
    this.connection.on('reconnect-failed', (error: Error) => {
      logger.fatal({ err: errorMessage(error) }, 'giving up on the broker');
      this.options.onFatal(error);
    });
    this.connection.on('error', (error: Error) => logger.warn({ err: errorMessage(error) }, 'broker connection error'));
    this.connection.on('handler-error', (error: Error) => logger.error({ err: errorMessage(error) }, 'broker event handler threw'));
    this.connection.on('blocked', (reason: string) => logger.warn({ reason }, 'broker blocked publishing (resource alarm)'));
  }

  /** Resolves once connected (and `setup` has run). */
  async connected(): Promise<void> {
    await this.connection?.waitForConnect();
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
  }
}
