// One delivery attempt over HTTP: POST, bounded in time, redirects not followed (a 3xx is a failed
// attempt), the response body read and dropped. Host names are resolved through a lookup that
// refuses non-public addresses (unless allowed), so a name cannot be pointed at the service's own
// network between the subscription check and the connection.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { publicAddress } from './url.js';

export interface AttemptOutcome {
  /** The HTTP status, or null when no response came (refused, timed out, address refused). */
  status: number | null;
  ok: boolean;
  /** Why it failed, for the outbox (never the request's headers or body). */
  error: string | null;
}

export type WebhookPost = (url: string, headers: Record<string, string>, body: string) => Promise<AttemptOutcome>;

export function webhookPost(opts: { timeoutMs: number; allowPrivate: boolean }): WebhookPost {
  const guardedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const refused = opts.allowPrivate ? undefined : addresses.find((a) => !publicAddress(a.address));
      if (refused) return callback(Object.assign(new Error(`${hostname} resolves to ${refused.address}, which is not a public address`), { code: 'EADDRREFUSED' }), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
  return (url, headers, body) =>
    new Promise<AttemptOutcome>((resolve) => {
      const u = new URL(url);
      const host = u.hostname.replace(/^\[|\]$/g, '');
      if (!opts.allowPrivate && isIP(host) && !publicAddress(host)) {
        resolve({ status: null, ok: false, error: `${host} is not a public address` });
        return;
      }
      const send = u.protocol === 'https:' ? https.request : http.request;
      const req = send(u, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: opts.timeoutMs, lookup: guardedLookup }, (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        const done = () => resolve({ status, ok: status >= 200 && status < 300, error: status >= 200 && status < 300 ? null : `the receiver answered HTTP ${status}` });
        res.once('end', done);
        res.once('error', done);
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      req.once('close', () => clearTimeout(timer));
      req.once('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
      req.once('error', (e: NodeJS.ErrnoException) => resolve({ status: null, ok: false, error: e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message }));
      req.end(body);
    });
}
