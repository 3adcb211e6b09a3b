// The browser twins of crypto/hash.ts and crypto/signature.ts (what /verify runs) beside the
// node:crypto modules they stand in for, in the same process: CPU per item, and the ratio. Says
// what a counsel's browser pays for the pure-JS code, and why Node keeps node:crypto.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import os from 'node:os';
import * as nodeHash from '../src/crypto/hash.js';
import * as webHash from '../src/crypto/hash.browser.js';
import * as nodeSig from '../src/crypto/signature.js';
import * as webSig from '../src/crypto/signature.browser.js';
import { report } from './common.js';

/** CPU microseconds (user + system) per call of f, over n calls. */
function cpuPer(n: number, f: () => unknown): number {
  f();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}

function pair(name: string, n: number, target: () => unknown, baseline: () => unknown): void {
  const b = cpuPer(n, baseline);
  const t = cpuPer(n, target);
  report(name, t, 'us_cpu/op', { baseline: b, ratio: t / b });
}

export async function benchCryptoTwins(): Promise<void> {
  console.log(`# crypto-twins: target = browser twin, baseline = node:crypto; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
  const node = randomBytes(65); // a Merkle interior node: 0x01 || left || right
  pair('crypto_twins.sha256_merkle_node', 50_000, () => webHash.sha256Of(node), () => nodeHash.sha256Of(node));
  const mib = randomBytes(1 << 20);
  pair('crypto_twins.sha256_1mib', 40, () => webHash.sha256(mib), () => nodeHash.sha256(mib));
  const data = randomBytes(200); // signed attributes
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecSpki = ec.publicKey.export({ type: 'spki', format: 'der' });
  const ecSig = sign('sha256', data, { key: ec.privateKey, dsaEncoding: 'der' });
  pair('crypto_twins.ecdsa_p256_verify', 300, () => webSig.verifySignature('ec', 'sha256', ecSpki, data, ecSig), () => nodeSig.verifySignature('ec', 'sha256', ecSpki, data, ecSig));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaSpki = rsa.publicKey.export({ type: 'spki', format: 'der' });
  const rsaSig = sign('sha256', data, rsa.privateKey);
  pair('crypto_twins.rsa2048_verify', 300, () => webSig.verifySignature('rsa', 'sha256', rsaSpki, data, rsaSig), () => nodeSig.verifySignature('rsa', 'sha256', rsaSpki, data, rsaSig));
  console.log(`# load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}
