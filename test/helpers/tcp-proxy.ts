// A loopback TCP proxy in front of a real server (the PostgreSQL server in the outage tests), so a
// test can cut every connection at once and refuse new ones for a while, as a network fault or a
// database restart would.
//
//   const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
//   // connect to 127.0.0.1:proxy.port …
//   proxy.cut();      // destroys every proxied socket; new connections are closed at once
//   proxy.restore();  // lets connections through again
//   await proxy.close();
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections attempted so far, refused ones included. */
  readonly attempts: number;
  /** Connections let through so far. */
  readonly accepted: number;
  /** Sockets currently proxied. */
  readonly open: number;
  /** Destroys every proxied connection (both ends) and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  /**
   * From the moment a client sends bytes containing `marker` (say a statement's text), the server's
   * replies on that connection are dropped: the statement runs, its answer never arrives. Until cut().
   */
  swallowRepliesAfter(marker: string): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let refusing = false;
  let accepted = 0;
  let attempts = 0;
  let marker: Buffer | null = null;
  const server = net.createServer((client) => {
    attempts++;
    if (refusing) {
      // The client sees its connection reset, as from a database that is down.
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    let swallowing = false;
    client.on('data', (d: Buffer) => {
      if (marker && d.includes(marker)) swallowing = true;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!swallowing) client.write(d);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('the proxy has no port');
  return {
    port: addr.port,
    get attempts() {
      return attempts;
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    cut() {
      refusing = true;
      marker = null;
      for (const { client, upstream } of [...pairs]) {
        // A reset, not a clean FIN: the driver must meet an abrupt loss mid-query.
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
    },
    restore() {
      refusing = false;
    },
    swallowRepliesAfter(m: string) {
      marker = Buffer.from(m, 'utf8');
    },
    close() {
      refusing = true;
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
