// A real webhook receiver on 127.0.0.1 for the tests: records every request (headers, raw body,
// arrival time), answers as `respond` says (a status, or 'hang' to hold the request open), and
// de-duplicates by webhook-id the way docs/webhooks.md tells receivers to.
//
//   const r = await startReceiver(() => 200);
//   ... r.requests, r.processed (webhook-id -> body of the first 2xx answer)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ReceivedRequest {
  id: string;
  timestamp: string;
  signature: string;
  contentType: string;
  body: string;
  at: number;
  /** What the receiver answered (or 'hang'). */
  answer: number | 'hang';
}

export type Respond = (req: { id: string; n: number; body: string }) => number | 'hang';

export interface Receiver {
  port: number;
  url: string;
  requests: ReceivedRequest[];
  /** webhook-id -> body, for the requests answered 2xx the first time their id came. */
  processed: Map<string, string>;
  /** 2xx answers to an id already processed (duplicates the receiver de-duplicated). */
  duplicates: number;
  close(): Promise<void>;
}

export async function startReceiver(respond: Respond, port = 0): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const processed = new Map<string, string>();
  const sockets = new Set<Socket>();
  const r: Receiver = { port: 0, url: '', requests, processed, duplicates: 0, close: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      const answer = respond({ id, n: requests.filter((q) => q.id === id).length + 1, body });
      requests.push({ id, timestamp: String(req.headers['webhook-timestamp'] ?? ''), signature: String(req.headers['webhook-signature'] ?? ''), contentType: String(req.headers['content-type'] ?? ''), body, at: Date.now(), answer });
      if (answer === 'hang') return;
      if (answer >= 200 && answer < 300) {
        if (processed.has(id)) r.duplicates += 1;
        else processed.set(id, body);
      }
      res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  r.port = addr.port;
  r.url = `http://127.0.0.1:${addr.port}/hook`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  return r;
}

/** Waits (polling, bounded) until `cond` holds; fails with `what` when it never does. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
