// PDF dates and DER lengths: pure helpers shared by the signer (cms.ts) and the verifier
// (verify.ts), which also runs in the browser.

/**
 * Parse a PDF date string (ISO 32000 7.9.4): `D:YYYY[MM[DD[HH[mm[SS[O[HH'[mm']]]]]]]]`.
 * Returns undefined for anything malformed.
 */
export function parsePdfDate(s: string): Date | undefined {
  const m = /^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:([Zz+-])(?:(\d{2})'?(?:(\d{2})'?)?)?)?$/.exec(s.trim());
  if (!m) return undefined;
  const num = (v: string | undefined, dflt: number): number => (v === undefined ? dflt : Number(v));
  const year = num(m[1], 0);
  const month = num(m[2], 1);
  const day = num(m[3], 1);
  const hour = num(m[4], 0);
  const minute = num(m[5], 0);
  const second = num(m[6], 0);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMin = 0;
  if (m[7] === '+' || m[7] === '-') {
    const oh = num(m[8], 0);
    const om = num(m[9], 0);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (oh * 60 + om) * (m[7] === '-' ? -1 : 1);
  }
  const t = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMin * 60_000;
  return Number.isFinite(t) ? new Date(t) : undefined;
}

/**
 * Total length (header + content) of the DER/BER TLV at the start of `buf`, or
 * undefined if the header is malformed, uses indefinite length, or overruns `buf`.
 */
export function tlvLength(buf: Uint8Array): number | undefined {
  if (buf.length < 2) return undefined;
  const first = buf[1];
  if (first === undefined) return undefined;
  if (first < 0x80) {
    const total = 2 + first;
    return total <= buf.length ? total : undefined;
  }
  const n = first & 0x7f;
  if (n === 0 || n > 4 || buf.length < 2 + n) return undefined; // indefinite or absurdly long
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (buf[2 + i] ?? 0);
  const total = 2 + n + len;
  return total <= buf.length ? total : undefined;
}

