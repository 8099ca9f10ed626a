import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server that accepts every mail and counts it; it can be stopped (the port refuses
 * connections, as a mail server that is down would) and started again on the same port, told to
 * refuse every mail with 421 while it keeps answering (`refusing`), counting the refusals of each
 * Message-ID, or to hang (`hanging`): `'greeting'`, connections are accepted and never greeted;
 * `'data'`, they are served until a mail's data is in, which is never answered (neither taken nor
 * refused). Either way a mail whose data was coming in when it began to hang is never answered.
 */
export class SmtpSink {
  received = 0;
  /** Message-ID (`<id@host>`) → how many times a mail with it was taken. */
  readonly accepted = new Map<string, number>();
  refusing = false;
  hanging: false | 'greeting' | 'data' = false;
  /** Mails whose data came in while hanging, never answered. */
  stalled = 0;
  /** What went wrong on the server's side (a reset by a killed client is not counted). */
  readonly errors: Error[] = [];
  /** Message-ID → how many times a mail with it was refused. */
  readonly refusals = new Map<string, number>();
  private server: SMTPServer | undefined;
  port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      // The greeting goes out once this calls back.
      onConnect: (_session, callback) => {
        if (this.hanging !== 'greeting') callback();
      },
      onData: (stream, _session, callback) => {
        let head = '';
        stream.on('data', (chunk: Buffer) => {
          if (head.length < 64 * 1024) head += chunk.toString('utf8');
        });
        stream.on('end', () => {
          if (this.hanging) {
            this.stalled += 1;
            return;
          }
          const id = /^Message-ID:\s*(\S+)/im.exec(head)?.[1] ?? '(none)';
          if (!this.refusing) {
            this.received += 1;
            this.accepted.set(id, (this.accepted.get(id) ?? 0) + 1);
            return callback();
          }
          this.refusals.set(id, (this.refusals.get(id) ?? 0) + 1);
          callback(Object.assign(new Error('try again later'), { responseCode: 421 }));
        });
      },
    });
    // A client killed mid-session (a fault test's SIGKILL) resets its connection: the server
    // reports it as an error of its own, which is the client's doing, not the sink's.
    server.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') this.errors.push(error);
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
