// In-memory ledgers for verifier tests: build a valid chain, then break it on purpose.
import { randomUUID } from 'node:crypto';
import type { SigningKey } from '../../src/crypto/ed25519.js';
import { signCheckpoint, type SignedCheckpoint } from '../../src/ledger/checkpoint.js';
import { ZERO_HASH, chainHash, genesisEventId, leafHash, prepareEvent, type EventType, type GenesisData, type LedgerEntry, type PreparedEvent } from '../../src/ledger/format.js';

export function genesisEvent(key: SigningKey, origin: string, time = new Date('2026-11-29T00:00:00.000Z')): PreparedEvent {
  const data: GenesisData = { origin, signing_key: { alg: 'Ed25519', key_id: key.keyId, public_key: key.publicKey.toString('base64') } };
  return prepareEvent('ledger.genesis', data, { id: genesisEventId(origin), time });
}

/** A ~300-byte EULA event (the size the benchmarks use). */
export function eulaEvent(i: number, opts: { id?: string; time?: Date } = {}): PreparedEvent {
  return prepareEvent(
    'eula.published',
    {
      slug: `terms-${i % 97}`,
      version: `1.${i}.0`,
      title: 'Terms of Service for the model API',
      text_sha256: 'a3f1c2d4e5b6a7980f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778',
      locale: 'en-GB',
      url: 'https://example.org/legal/terms',
      n: i,
    },
    opts,
  );
}

/** Chains prepared events into ledger entries starting after (size, prev). */
export function chainEntries(events: PreparedEvent[], start = 0, prev: Buffer = ZERO_HASH): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  let seq = start;
  for (const e of events) {
    seq += 1;
    const chain = chainHash(seq, prev, e.leafHash);
    out.push({ seq, eventId: e.id, eventType: e.type, canonical: e.canonical, leafHash: e.leafHash, prevHash: prev, chainHash: chain });
    prev = chain;
  }
  return out;
}

/** A valid ledger: genesis plus n-1 EULA events. */
export function buildLedger(key: SigningKey, origin: string, n: number): LedgerEntry[] {
  const events = [genesisEvent(key, origin)];
  for (let i = 2; i <= n; i++) events.push(eulaEvent(i, { id: randomUUID() }));
  return chainEntries(events);
}

/** Deep-enough copy so a test can break one entry without touching the original. */
export function cloneEntries(entries: LedgerEntry[]): LedgerEntry[] {
  return entries.map((e) => ({ ...e, canonical: Buffer.from(e.canonical), leafHash: Buffer.from(e.leafHash), prevHash: Buffer.from(e.prevHash), chainHash: Buffer.from(e.chainHash) }));
}

/** Recomputes leaf, prev and chain hashes from index `from` on (what a careful forger does). */
export function rehashFrom(entries: LedgerEntry[], from: number): void {
  for (let i = from; i < entries.length; i++) {
    const e = entries[i]!;
    const prev = i === 0 ? ZERO_HASH : entries[i - 1]!.chainHash;
    e.leafHash = leafHash(e.canonical);
    e.prevHash = prev;
    e.chainHash = chainHash(e.seq, prev, e.leafHash);
  }
}

export function checkpointAt(key: SigningKey, origin: string, entries: LedgerEntry[], size: number, time = new Date('2026-11-29T01:00:00.000Z')): SignedCheckpoint {
  const e = entries[size - 1];
  if (!e) throw new Error(`no entry ${size}`);
  const { body, signature } = signCheckpoint(key, origin, size, e.chainHash, time);
  return { body, signature };
}

export function eventOf(type: EventType, data: object, id = randomUUID()): PreparedEvent {
  return prepareEvent(type, data, { id, time: new Date('2026-11-29T00:00:05.000Z') });
}
