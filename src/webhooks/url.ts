// Which URLs a webhook may be sent to. http and https only, no credentials in the URL (it is shown
// in listings), and by default no loopback, private, link-local or otherwise non-public address:
// a subscription must not turn the service into a way to reach its own network. The same check
// runs on every address a host name resolves to at delivery time (see delivery.ts).
import { isIP } from 'node:net';

export interface UrlCheck {
  ok: boolean;
  reason?: string;
}

const MAX_URL = 2048;

/** The URL's own shape (scheme, credentials, length); the host is checked by hostAllowed. */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): UrlCheck {
  if (raw.length > MAX_URL) return { ok: false, reason: `the URL is longer than ${MAX_URL} characters` };
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, reason: 'not an absolute URL' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, reason: `the scheme must be http or https, not ${u.protocol.replace(/:$/, '')}` };
  if (u.username || u.password) return { ok: false, reason: 'the URL must not carry a user name or password (the request is authenticated by its signature)' };
  if (u.hash) return { ok: false, reason: 'the URL must not have a fragment' };
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate) {
    if (isIP(host) && !publicAddress(host)) return { ok: false, reason: `${host} is not a public address (loopback, private, link-local and reserved addresses are refused)` };
    if (/^(localhost|.*\.localhost|.*\.local|.*\.internal)\.?$/i.test(host)) return { ok: false, reason: `${host} names a local host` };
  }
  return { ok: true };
}

/** True for a public unicast address; false for loopback, private, link-local, CGNAT, multicast, reserved. */
export function publicAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 4) return publicV4(ip);
  if (v !== 6) return false;
  const a = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return publicV4(mapped[1]!);
  if (a === '::' || a === '::1') return false;
  const first = parseInt(a.split(':')[0] || '0', 16);
  if ((first & 0xfe00) === 0xfc00) return false; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return false; // fe80::/10 link-local
  if ((first & 0xff00) === 0xff00) return false; // multicast
  if (a.startsWith('64:ff9b:') || a.startsWith('2001:db8:') || a.startsWith('100::')) return false; // NAT64, documentation, discard
  return (first & 0xe000) === 0x2000; // global unicast 2000::/3
}

function publicV4(ip: string): boolean {
  const [a, b, c] = ip.split('.').map(Number) as [number, number, number, number];
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false; // this network, private, loopback, multicast/reserved
  if (a === 100 && b >= 64 && b <= 127) return false; // CGNAT
  if (a === 169 && b === 254) return false; // link-local (cloud metadata)
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return false; // IETF protocol assignments, documentation
  if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking
  if ((a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return false; // documentation
  return true;
}
