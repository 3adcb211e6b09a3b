// The listening socket, bound before anything else starts: a port that is taken fails the start
// before a data directory, a key or an admin token is written. Until the app is ready, every
// request is answered 503 not_ready.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Router } from 'express';
import type express from 'express';
import type { Logger } from 'pino';
import { createApp } from '../http/app.js';
import { sendProblem } from '../http/problem.js';

export interface Listening {
  server: Server;
  port: number;
  /** From now on requests go to `app`. */
  serve(app: express.Express): void;
}

export async function listenEarly(port: number, host: string, logger: Logger, bodyLimit: string): Promise<Listening> {
  const starting = Router();
  starting.use((_req, res) => {
    res.set('Retry-After', '1');
    sendProblem(res, 'not_ready', 'The service is starting (opening its database); retry shortly.');
  });
  let handler: (req: IncomingMessage, res: ServerResponse) => void = createApp({ logger, bodyLimit, routers: [starting], ready: async () => false });
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (e: NodeJS.ErrnoException) => {
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      if (e.code === 'EADDRINUSE') reject(new Error(`cannot listen on ${where}: the port is already in use (another assentmark?); stop it or set PORT`));
      else if (e.code === 'EACCES') reject(new Error(`cannot listen on ${where}: permission denied; use a port above 1023 or set PORT`));
      else if (e.code === 'EADDRNOTAVAIL') reject(new Error(`cannot listen on ${where}: no such local address; set HOST`));
      else reject(new Error(`cannot listen on ${where}: ${e.message}`));
    });
    server.listen(port, host);
  });
  const addr = server.address();
  return {
    server,
    port: typeof addr === 'object' && addr ? addr.port : port,
    serve(app) {
      handler = app;
    },
  };
}
