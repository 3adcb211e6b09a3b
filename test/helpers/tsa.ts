// A local RFC 3161 time-stamping authority for tests: an HTTP server on 127.0.0.1 (ephemeral
// port) that answers each POSTed query with `openssl ts -reply`, so our client is tested against
// a real, independent TSA implementation rather than against itself. The CA and TSA certificate
// (extendedKeyUsage critical timeStamping) are made with the openssl CLI in a temp directory that
// close() removes. Besides the TSA proper it serves the failures a client must survive:
//
//   const tsa = await startTestTsa();
//   const ts = await requestTimestamp(tsa.url, digest, httpPost);
//   tsa.rejectUrl       OpenSSL itself answers PKIStatus rejection (its [tsa_reject] only takes SHA-512)
//   tsa.unavailableUrl  HTTP 503
//   tsa.htmlUrl         200 text/html (a captive portal, a misconfigured proxy)
//   tsa.garbageUrl      200 application/timestamp-reply with random bytes
//   await tsa.close();
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TsaPost } from '../../src/timestamp/rfc3161.js';
import { runAsync } from './tools.js';

export const TEST_TSA_POLICY = '1.3.6.1.4.1.99999.1.1';

export interface TestTsa {
  /** POST an RFC 3161 query here: OpenSSL grants it. */
  url: string;
  rejectUrl: string;
  unavailableUrl: string;
  htmlUrl: string;
  garbageUrl: string;
  caCertPem: string;
  tsaCertPem: string;
  /** The same certificates as files (for `openssl ts -verify -CAfile/-untrusted`). */
  caCertPath: string;
  tsaCertPath: string;
  /** Queries OpenSSL has answered. */
  readonly replies: number;
  close(): Promise<void>;
}

const MAX_QUERY = 64 * 1024;

async function openssl(args: string[], cwd: string): Promise<string> {
  const r = await runAsync('openssl', args, { cwd, timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function tsaSection(name: string, dir: string, digests: string): string {
  return `[ ${name} ]
serial = ${join(dir, 'serial')}
signer_cert = ${join(dir, 'tsa.pem')}
signer_key = ${join(dir, 'tsa.key')}
signer_digest = sha256
default_policy = ${TEST_TSA_POLICY}
digests = ${digests}
ess_cert_id_alg = sha256
accuracy = secs:1
tsa_name = yes
`;
}

/** The config: one [tsa] for real answers and a second whose digest list excludes SHA-256, to make OpenSSL refuse. */
function opensslCnf(dir: string): string {
  return `[ tsa ]
default_tsa = tsa_config

${tsaSection('tsa_config', dir, 'sha256')}
${tsaSection('tsa_reject', dir, 'sha512')}
[ tsa_cert ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_QUERY) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Starts the TSA: two EC P-256 keys and two certificates, a few tens of milliseconds of openssl. */
export async function startTestTsa(): Promise<TestTsa> {
  const dir = await mkdtemp(join(tmpdir(), 'assentmark-tsa-'));
  try {
    const cnf = join(dir, 'openssl.cnf');
    await writeFile(cnf, opensslCnf(dir));
    // The first serial OpenSSL issues is this plus one.
    await writeFile(join(dir, 'serial'), '01\n');
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await Promise.all([
      openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=assentmark test TSA root/O=assentmark tests',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir),
      openssl(['req', '-new', ...ec, '-keyout', 'tsa.key', '-out', 'tsa.csr', '-subj', '/CN=assentmark test TSA/O=assentmark tests'], dir),
    ]);
    await openssl(['x509', '-req', '-in', 'tsa.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '0x1000', '-days', '2',
      '-extfile', cnf, '-extensions', 'tsa_cert', '-out', 'tsa.pem'], dir);
    const [caCertPem, tsaCertPem] = await Promise.all([readFile(join(dir, 'ca.pem'), 'utf8'), readFile(join(dir, 'tsa.pem'), 'utf8')]);

    let replies = 0;
    let seq = 0;
    // OpenSSL rewrites the serial file on each reply; one at a time keeps serials unique.
    let queue: Promise<unknown> = Promise.resolve();
    const reply = (query: Buffer, section: string): Promise<Buffer> => {
      const n = ++seq;
      const q = join(dir, `q${n}.tsq`);
      const r = join(dir, `r${n}.tsr`);
      const job = queue.then(async () => {
        await writeFile(q, query);
        try {
          await openssl(['ts', '-reply', '-config', cnf, '-section', section, '-queryfile', q, '-out', r], dir);
          replies++;
          return await readFile(r);
        } finally {
          await Promise.all([unlink(q).catch(() => {}), unlink(r).catch(() => {})]);
        }
      });
      queue = job.catch(() => {});
      return job;
    };

    const send = (res: ServerResponse, status: number, type: string, body: Buffer | string) => {
      // One request per connection: a test that blocks the event loop longer than the keep-alive
      // timeout would otherwise race the server closing the idle socket (ECONNRESET).
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
      res.end(body);
    };
    const server = createServer((req, res) => {
      void (async () => {
        const path = (req.url ?? '/').split('?')[0];
        if (req.method !== 'POST') return send(res, 405, 'text/plain', 'POST only\n');
        const body = await readBody(req);
        if (!body) return send(res, 413, 'text/plain', 'query too large\n');
        switch (path) {
          case '/tsa':
          case '/reject':
            if ((req.headers['content-type'] ?? '').split(';')[0]?.trim() !== 'application/timestamp-query') {
              return send(res, 415, 'text/plain', 'expected application/timestamp-query\n');
            }
            try {
              const tsr = await reply(body, path === '/tsa' ? 'tsa_config' : 'tsa_reject');
              return send(res, 200, 'application/timestamp-reply', tsr);
            } catch (e) {
              // A query OpenSSL cannot read: what a real TSA would answer as a bad request.
              return send(res, 400, 'text/plain', `${(e as Error).message}\n`);
            }
          case '/unavailable':
            return send(res, 503, 'text/plain', 'down for maintenance\n');
          case '/html':
            return send(res, 200, 'text/html; charset=utf-8', '<!doctype html><title>Sign in to the Wi-Fi</title>\n');
          case '/garbage':
            return send(res, 200, 'application/timestamp-reply', randomBytes(300));
          default:
            return send(res, 404, 'text/plain', 'not found\n');
        }
      })().catch((e: unknown) => {
        if (!res.headersSent) send(res, 500, 'text/plain', String(e));
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let closed = false;
    return {
      url: `${base}/tsa`,
      rejectUrl: `${base}/reject`,
      unavailableUrl: `${base}/unavailable`,
      htmlUrl: `${base}/html`,
      garbageUrl: `${base}/garbage`,
      caCertPem,
      tsaCertPem,
      caCertPath: join(dir, 'ca.pem'),
      tsaCertPath: join(dir, 'tsa.pem'),
      get replies() {
        return replies;
      },
      async close() {
        if (closed) return;
        closed = true;
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections(); // keep-alive sockets of fetch would hold close() open
        await done;
        await queue;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A TsaPost over node's fetch (what a production adapter would do, minus policy on retries). */
export const httpPost: TsaPost = async (url, body, headers) => {
  const res = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, contentType: res.headers.get('content-type'), body: new Uint8Array(await res.arrayBuffer()) };
};
