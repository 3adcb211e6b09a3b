// The browser's twin of src/crypto/signature.ts: ECDSA with @noble/curves, RSA PKCS#1 v1.5 by
// RFC 8017 8.2.2 (encode the expected block and compare it whole, never parse the decrypted one).
import { p256, p384, p521 } from '@noble/curves/nist.js';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { DigestName } from './cms-algorithms.js';
import { constantTimeEqual, digestOf } from './hash.browser.js';

const CURVES: Readonly<Record<string, typeof p256>> = {
  '1.2.840.10045.3.1.7': p256,
  '1.3.132.0.34': p384,
  '1.3.132.0.35': p521,
};

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';

// RFC 8017 9.2 note 1: the DER DigestInfo before the hash.
const DIGEST_INFO: Readonly<Record<DigestName, string>> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function bigintOf(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function bytesOf(v: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n, b = (b * b) % mod) if (e & 1n) r = (r * b) % mod;
  return r;
}

function hexBytes(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
}

function verifyRsa(spki: pkijs.PublicKeyInfo, digest: DigestName, data: Uint8Array, signature: Uint8Array): boolean {
  const parsed = asn1js.fromBER(toArrayBuffer(spki.subjectPublicKey.valueBlock.valueHexView));
  if (parsed.offset === -1) throw new Error('RSA public key does not parse');
  const rsa = new pkijs.RSAPublicKey({ schema: parsed.result });
  const n = bigintOf(rsa.modulus.valueBlock.valueHexView);
  const e = bigintOf(rsa.publicExponent.valueBlock.valueHexView);
  const k = Math.ceil(n.toString(16).length / 2);
  if (k < 128 || signature.length !== k) return false; // under 1024 bits, or the wrong length
  const s = bigintOf(signature);
  if (s >= n) return false;
  const em = bytesOf(modPow(s, e, n), k);
  const t = new Uint8Array([...hexBytes(DIGEST_INFO[digest]), ...digestOf(digest, data)]);
  if (k < t.length + 11) return false;
  const expected = new Uint8Array(k).fill(0xff);
  expected[0] = 0x00;
  expected[1] = 0x01;
  expected[k - t.length - 1] = 0x00;
  expected.set(t, k - t.length);
  return constantTimeEqual(em, expected);
}

export function verifySignature(keyType: 'ec' | 'rsa', digest: DigestName, spkiDer: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const spki = pkijs.PublicKeyInfo.fromBER(toArrayBuffer(spkiDer));
  const alg = spki.algorithm.algorithmId;
  if (keyType === 'rsa') return alg === RSA_ENCRYPTION && verifyRsa(spki, digest, data, signature);
  if (alg !== EC_PUBLIC_KEY) return false;
  const params = spki.algorithm.algorithmParams;
  const curve = params instanceof asn1js.ObjectIdentifier ? CURVES[params.valueBlock.toString()] : undefined;
  if (!curve) throw new Error('unsupported elliptic curve');
  try {
    return curve.verify(signature, digestOf(digest, data), spki.subjectPublicKey.valueBlock.valueHexView, { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false; // a malformed DER signature
  }
}
