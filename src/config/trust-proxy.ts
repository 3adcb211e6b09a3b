// ASSENTMARK_TRUST_PROXY: which reverse proxies Express may believe about the client (its
// X-Forwarded-For address and X-Forwarded-Proto scheme). Only the forms that name the proxies are
// accepted: trusting every hop would let any client forge its recorded address.
import { isIP } from 'node:net';

/** Express's `trust proxy` value: false (off), a hop count, or a comma-separated list of addresses, CIDRs and range names. */
export type TrustProxy = false | number | string;

/** The range names Express (proxy-addr) knows: each a fixed set of private ranges. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

const MAX_HOPS = 10;

/** The setting's value, or a sentence saying why it is refused (thrown by the caller as a config error). */
export function parseTrustProxy(raw: string | undefined): { value: TrustProxy } | { error: string } {
  const v = (raw ?? '').trim();
  if (v === '' || v === 'false' || v === '0') return { value: false };
  if (/^(true|yes|on|all|\*)$/i.test(v)) {
    return { error: `"${v}" would trust every hop, so any client could forge its address with an X-Forwarded-For header (and that address is recorded as evidence). Name the proxies instead: the number of proxies in front of the service (e.g. 1), or their addresses or CIDRs (e.g. 10.0.0.5, 10.1.0.0/16), or loopback.` };
  }
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n > MAX_HOPS) return { error: `${v} hops is more than any sane proxy chain (at most ${MAX_HOPS}); give the number of proxies in front of the service, or their addresses.` };
    return { value: n };
  }
  const items = v.split(',').map((s) => s.trim());
  const bad: string[] = [];
  for (const item of items) {
    const why = badItem(item);
    if (why) bad.push(why);
  }
  if (bad.length) return { error: `${bad.join('; ')}. Give a hop count (e.g. 1), or a comma-separated list of addresses, CIDRs (address/prefix length) and the names loopback, linklocal, uniquelocal.` };
  return { value: items.join(',') };
}

function badItem(item: string): string | null {
  if (item === '') return 'an empty entry in the list';
  if (NAMED_RANGES.has(item)) return null;
  const slash = item.indexOf('/');
  const addr = slash < 0 ? item : item.slice(0, slash);
  const family = isIP(addr);
  if (family === 0) return `"${item}" is not an IP address, a CIDR or one of loopback, linklocal, uniquelocal`;
  if (slash < 0) return null;
  const bits = item.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${item}": the prefix length must be 0 to ${max}`;
  // A /0 is every address: the same as trusting every hop.
  if (Number(bits) === 0) return `"${item}" covers every address, so any client could forge its X-Forwarded-For address`;
  return null;
}
