// HTTP over a raw TCP socket, for what an HTTP client will not send: a Content-Length that the
// body never reaches, chunked bodies left open, bytes that are not UTF-8.
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Bytes written after the headers; the socket is then left open (the client sends no more). */
  body?: Buffer | string;
}

/**
 * Sends the request and resolves with the first complete response (headers and, by its
 * Content-Length, its body). The client never ends its side: an answer must come without it.
 */
export function rawRequest(url: string, r: RawRequest): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      socket.destroy();
      f();
    };
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // The server may close while the request is still being written (it refused the rest).
      if (e.code === 'EPIPE' || e.code === 'ECONNRESET') tryParse(true);
      else finish(() => reject(e));
    });
    socket.on('close', () => tryParse(true) || finish(() => reject(new Error(`connection closed without a response: ${buf.toString('latin1').slice(0, 200)}`))));
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      tryParse(false);
    });
    function tryParse(closed: boolean): boolean {
      if (done) return true;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const length = Number(headers['content-length'] ?? NaN);
      const body = buf.subarray(end + 4);
      if (Number.isFinite(length) ? body.length < length : !closed) return false;
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
      finish(() => resolve({ status, headers, body: body.subarray(0, Number.isFinite(length) ? length : body.length).toString('utf8') }));
      return true;
    }
    socket.on('connect', () => {
      const head = [`${r.method} ${r.path} HTTP/1.1`, `Host: ${hostname}:${port}`, ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
      socket.write(head);
      if (r.body !== undefined) socket.write(r.body);
    });
  });
}

/** One chunk of a chunked transfer coding (RFC 9112 7.1). */
export function chunk(data: Buffer | string): Buffer {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
}
