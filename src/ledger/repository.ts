// ledger_entries and ledger_head, read side. Entries are written only by LedgerAppender, which holds
// the head row's lock; checkpoints have their own repository (checkpoint-repository.ts).
import { sql, type Kysely } from 'kysely';
import { buf } from '../db/bytes.js';
import type { Database } from '../db/schema.js';
import type { LedgerEntry } from './format.js';


const ENTRY_COLUMNS = ['seq', 'event_id', 'event_type', 'recorded_at', 'canonical', 'leaf_hash', 'prev_hash', 'chain_hash'] as const;

export class LedgerRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async head(): Promise<{ size: number; chainHash: Buffer; frontier: Buffer }> {
    const h = await this.db.selectFrom('ledger_head').select(['seq', 'chain_hash', 'frontier']).where('id', '=', 1).executeTakeFirstOrThrow();
    return { size: Number(h.seq), chainHash: buf(h.chain_hash), frontier: buf(h.frontier) };
  }

  /**
   * Streams entries in sequence order, one page at a time (constant memory).
   *
   * Speed (the verifier reads every row): the three hashes and the event bytes travel as one bytea
   * and are split into views; `recordedAt: false` skips the commit-time column, which the verifier
   * does not need (parsing timestamps was a third of the client-side read cost); and while the
   * ledger is dense (seq 1..max without gaps, as it must be) pages are ranges of sequence numbers,
   * several fetched at once over different connections. At the first page that is not exactly
   * full (a gap, a duplicate, or the end) it reads on page by page from the last row it returned.
   */
  async *entries(opts: { after?: number; upTo?: number; pageSize?: number; recordedAt?: boolean; prefetch?: number } = {}): AsyncGenerator<LedgerEntry> {
    const pageSize = opts.pageSize ?? 5000;
    const depth = Math.max(1, opts.prefetch ?? 3);
    const withTime = opts.recordedAt !== false;
    let after = opts.after ?? 0;
    // NULL when a hash column is not 32 bytes (only possible if someone dropped the CHECKs): such a
    // row is then read column by column, so the split can never shift bytes between fields.
    const select = (lo: number) => {
      const packed = sql<Buffer | null>`CASE WHEN octet_length(leaf_hash) = 32 AND octet_length(prev_hash) = 32 AND octet_length(chain_hash) = 32
        THEN leaf_hash || prev_hash || chain_hash || canonical END`.as('packed');
      return this.db
        .selectFrom('ledger_entries')
        .select(['seq', 'event_id', 'event_type', packed])
        .$if(withTime, (qb) => qb.select('recorded_at'))
        .where('seq', '>', String(lo))
        .orderBy('seq')
        .limit(pageSize + 1);
    };
    type Row = Awaited<ReturnType<ReturnType<typeof select>['execute']>>[number];
    const toLedgerEntry = (r: Row): LedgerEntry | null => {
      if (r.packed === null) return null;
      const p = buf(r.packed);
      const e: LedgerEntry = {
        seq: Number(r.seq),
        eventId: r.event_id,
        eventType: r.event_type,
        canonical: p.subarray(96),
        leafHash: p.subarray(0, 32),
        prevHash: p.subarray(32, 64),
        chainHash: p.subarray(64, 96),
      };
      if (withTime) e.recordedAt = new Date((r as { recorded_at?: Date }).recorded_at!).toISOString();
      return e;
    };
    const columnByColumn = async (seq: number): Promise<LedgerEntry | undefined> => {
      const full = await this.entry(seq);
      return full && !withTime ? { ...full, recordedAt: undefined } : full;
    };

    // Phase 1: ranges (lo, hi] up to the highest sequence number present now (or upTo).
    const max = await this.db.selectFrom('ledger_entries').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirst();
    let end = Number(max?.m ?? 0);
    if (opts.upTo !== undefined) end = Math.min(end, opts.upTo);
    const inFlight: Array<{ lo: number; hi: number; page: Promise<Row[]> }> = [];
    let nextLo = after;
    const issue = () => {
      while (inFlight.length < depth && nextLo < end) {
        const lo = nextLo;
        const hi = Math.min(lo + pageSize, end);
        const page = select(lo).where('seq', '<=', String(hi)).execute();
        page.catch(() => {}); // abandoned pages must not become unhandled rejections
        inFlight.push({ lo, hi, page });
        nextLo = hi;
      }
    };
    try {
      issue();
      while (inFlight.length > 0) {
        const { lo, hi, page } = inFlight.shift()!;
        const got = await page;
        issue();
        for (const r of got) {
          after = Number(r.seq);
          const e = toLedgerEntry(r) ?? (await columnByColumn(after));
          if (e) yield e;
        }
        if (got.length !== hi - lo) break; // not dense here: read on page by page
        after = hi;
      }
    } finally {
      inFlight.length = 0;
    }

    // Phase 2: keyset pages from the last row returned, until a short page (also picks up appends
    // made while reading).
    for (;;) {
      let q = select(after);
      if (opts.upTo !== undefined) q = q.where('seq', '<=', String(opts.upTo));
      const page = await q.execute();
      for (const r of page) {
        after = Number(r.seq);
        const e = toLedgerEntry(r) ?? (await columnByColumn(after));
        if (e) yield e;
      }
      if (page.length <= pageSize) return;
    }
  }

  /**
   * Streams entries in sequence order for the verifier, one page of up to `pageSize` rows at a time
   * (constant memory): each page is one bytea that PostgreSQL packs (verify-worker.ts's layout), so
   * a page costs one value to decode here instead of objects per row, and travels to a worker
   * thread as it is. Pages are ranges of sequence numbers up to the highest present now (or
   * upTo), `prefetch` of them fetched at once over different connections; then keyset pages from
   * the last row, until one is empty (entries appended meanwhile). A gap in the numbers is the
   * verifier's to find (a row is never skipped or repeated). A hash column of another length than
   * 32 bytes (only if someone dropped the CHECKs) is zero-filled and flagged.
   */
  async *entryPages(opts: { after?: number; upTo?: number; pageSize?: number; prefetch?: number } = {}): AsyncGenerator<{ count: number; bytes: Buffer }> {
    const pageSize = opts.pageSize ?? 4096;
    const depth = Math.max(1, opts.prefetch ?? 3);
    const page = async (lo: number, hi: number | undefined): Promise<{ count: number; last: number; bytes: Buffer }> => {
      const upper = hi === undefined ? sql`` : sql`AND seq <= ${String(hi)}`;
      const r = await sql<{ n: number; last: string | null; packed: Uint8Array | null }>`
        SELECT count(*)::int AS n, max(seq)::text AS last, string_agg(
          int8send(seq) || set_byte(decode('00', 'hex'), 0, (CASE WHEN octet_length(leaf_hash) = 32 THEN 0 ELSE 1 END)
            | (CASE WHEN octet_length(prev_hash) = 32 THEN 0 ELSE 2 END) | (CASE WHEN octet_length(chain_hash) = 32 THEN 0 ELSE 4 END))
          || (CASE WHEN octet_length(leaf_hash) = 32 THEN leaf_hash ELSE decode(repeat('00', 32), 'hex') END)
          || (CASE WHEN octet_length(prev_hash) = 32 THEN prev_hash ELSE decode(repeat('00', 32), 'hex') END)
          || (CASE WHEN octet_length(chain_hash) = 32 THEN chain_hash ELSE decode(repeat('00', 32), 'hex') END)
          || int4send(octet_length(id)) || id || int4send(octet_length(t)) || t || int4send(octet_length(canonical)) || canonical,
          ''::bytea ORDER BY seq) AS packed
        FROM (SELECT seq, convert_to(event_id::text, 'UTF8') AS id, convert_to(event_type, 'UTF8') AS t, canonical, leaf_hash, prev_hash, chain_hash
              FROM ledger_entries WHERE seq > ${String(lo)} ${upper} ORDER BY seq LIMIT ${pageSize}) AS x`.execute(this.db);
      const row = r.rows[0]!;
      return { count: row.n, last: row.last === null ? lo : Number(row.last), bytes: row.packed ? buf(row.packed) : Buffer.alloc(0) };
    };
    const max = await this.db.selectFrom('ledger_entries').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirst();
    let end = Number(max?.m ?? 0);
    if (opts.upTo !== undefined) end = Math.min(end, opts.upTo);
    let after = opts.after ?? 0;
    const inFlight: Array<Promise<{ count: number; last: number; bytes: Buffer }>> = [];
    let nextLo = after;
    const issue = () => {
      while (inFlight.length < depth && nextLo < end) {
        const hi = Math.min(nextLo + pageSize, end);
        const p = page(nextLo, hi);
        p.catch(() => {}); // abandoned pages must not become unhandled rejections
        inFlight.push(p);
        nextLo = hi;
      }
    };
    try {
      issue();
      while (inFlight.length > 0) {
        const p = await inFlight.shift()!;
        issue();
        if (p.count > 0) yield { count: p.count, bytes: p.bytes };
      }
    } finally {
      inFlight.length = 0;
    }
    after = Math.max(after, end);
    for (;;) {
      if (opts.upTo !== undefined && after >= opts.upTo) return;
      const p = await page(after, opts.upTo);
      if (p.count === 0) return;
      yield { count: p.count, bytes: p.bytes };
      after = p.last;
    }
  }

  async entry(seq: number): Promise<LedgerEntry | undefined> {
    const r = await this.db.selectFrom('ledger_entries').select(ENTRY_COLUMNS).where('seq', '=', String(seq)).executeTakeFirst();
    return r ? toEntry(r) : undefined;
  }

  /** Every entry of one event type, in order (the type index). */
  async entriesOfType(type: string): Promise<LedgerEntry[]> {
    const rows = await this.db.selectFrom('ledger_entries').select(ENTRY_COLUMNS).where('event_type', '=', type).orderBy('seq').execute();
    return rows.map(toEntry);
  }

  async entriesBySeq(seqs: number[]): Promise<LedgerEntry[]> {
    if (seqs.length === 0) return [];
    const rows = await this.db.selectFrom('ledger_entries').select(ENTRY_COLUMNS).where('seq', 'in', seqs.map(String)).orderBy('seq').execute();
    return rows.map(toEntry);
  }

  /** Leaf hashes of entries from..to inclusive, in order (for chain proofs). */
  async leafHashes(from: number, to: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const page = 50_000;
    for (let lo = from; lo <= to; lo += page) {
      const rows = await this.db
        .selectFrom('ledger_entries')
        .select(['seq', 'leaf_hash'])
        .where('seq', '>=', String(lo))
        .where('seq', '<=', String(Math.min(to, lo + page - 1)))
        .orderBy('seq')
        .execute();
      for (const r of rows) out.push(buf(r.leaf_hash));
    }
    if (out.length !== to - from + 1) throw new Error(`ledger entries ${from}..${to} are not all present`);
    return out;
  }
}

function toEntry(r: { seq: string; event_id: string; event_type: string; recorded_at: Date; canonical: Buffer; leaf_hash: Buffer; prev_hash: Buffer; chain_hash: Buffer }): LedgerEntry {
  return {
    seq: Number(r.seq),
    eventId: r.event_id,
    eventType: r.event_type,
    recordedAt: new Date(r.recorded_at).toISOString(),
    canonical: buf(r.canonical),
    leafHash: buf(r.leaf_hash),
    prevHash: buf(r.prev_hash),
    chainHash: buf(r.chain_hash),
  };
}
