import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The ports the kernel hands out to outgoing connections (a service's to the broker and the
 * database). A port picked from them for a listener can be taken by such a connection before the
 * listener binds it: seen as EADDRINUSE in a container started seconds after its port was picked.
 */
function ephemeralPorts(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // not Linux: the usual range
  }
  return [32768, 60999];
}
const EPHEMERAL = ephemeralPorts();

/** Whether a listener can bind `port` on loopback right now. */
const canListen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * A free TCP port on loopback (free when asked: the service binds it a moment later), from below
 * the range outgoing connections take theirs from, so that none of them can take it meanwhile.
 */
export async function freePort(): Promise<number> {
  const [low, high] = EPHEMERAL;
  // Ports 10000 and up, outside the ephemeral range (below it, or above it when it starts low).
  const [from, to] = low > 20_000 ? [10_000, low - 1] : [high + 1, 65_535];
  for (let tries = 0; tries < 200; tries++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${from} and ${to}`);
}
