// ledger_entries and ledger_head, read side. Entries are written only by LedgerAppender, which holds
// the head row's lock; checkpoints have their own repository (checkpoint-repository.ts).
import { sql, type Kysely } from 'kysely';
import { buf } from '../db/bytes.js';
import { copyOutFor, type CopyOut } from '../db/copy-out.js';
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
   * (constant memory: at most a page here, and backpressure on the database beyond it), each page
   * one buffer that travels to a worker thread as it is (verify-worker.ts reads both layouts).
   *
   * On the real server a page is rows of `COPY ... TO STDOUT (FORMAT binary)`: PostgreSQL sends
   * the bytea columns as raw bytes and this thread only finds where rows end (reading the same rows
   * as a result set costs a hex encoding on the server and a decoding here, about 7 µs of CPU per
   * entry together). One COPY reads up to the highest entry present when it starts (or upTo); then
   * COPYs from the last row read, until one returns nothing (entries appended meanwhile).
   *
   * The embedded database has no COPY to a client: there each page is one bytea that it packs
   * (`packed`: seq, flags, the three hashes zero-filled and flagged if not 32 bytes, then id, type
   * and event bytes after their lengths), ranges of sequence numbers `prefetch` at a time, then
   * keyset pages. Either way a gap in the numbers is the verifier's to find (a row is never skipped
   * or repeated).
   */
  entryPages(opts: { after?: number; upTo?: number; pageSize?: number; prefetch?: number } = {}): AsyncGenerator<EntryPage> {
    const copy = copyOutFor(this.db);
    return copy ? copyPages(copy, opts) : this.packedPages(opts);
  }

  private async *packedPages(opts: { after?: number; upTo?: number; pageSize?: number; prefetch?: number }): AsyncGenerator<EntryPage> {
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
        if (p.count > 0) yield { format: 'packed', count: p.count, bytes: p.bytes };
      }
    } finally {
      inFlight.length = 0;
    }
    after = Math.max(after, end);
    for (;;) {
      if (opts.upTo !== undefined && after >= opts.upTo) return;
      const p = await page(after, opts.upTo);
      if (p.count === 0) return;
      yield { format: 'packed', count: p.count, bytes: p.bytes };
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

/**
 * A page of entries for the verifier: `count` rows in one of two layouts (see entryPages). `owned`:
 * the bytes' ArrayBuffer holds this page alone, so it can be transferred to a thread as it is.
 */
export interface EntryPage {
  format: 'copy' | 'packed';
  count: number;
  bytes: Buffer;
  owned?: boolean;
}

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const COPY_COLUMNS = 7;

/** The COPY pages of entryPages: whole rows cut from the stream PostgreSQL sends. */
async function* copyPages(copy: CopyOut, opts: { after?: number; upTo?: number; pageSize?: number }): AsyncGenerator<EntryPage> {
  const pageSize = Math.max(1, opts.pageSize ?? 4096);
  const int = (n: number) => {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('a sequence number is a non-negative safe integer');
    return String(n);
  };
  let after = opts.after ?? 0;
  for (;;) {
    if (opts.upTo !== undefined && after >= opts.upTo) return;
    // COPY takes no parameters: the bounds are integers checked above.
    const upper = opts.upTo === undefined ? '' : ` AND seq <= ${int(opts.upTo)}`;
    const rows = copy(`COPY (SELECT seq, event_id, convert_to(event_type, 'UTF8'), canonical, leaf_hash, prev_hash, chain_hash
      FROM ledger_entries WHERE seq > ${int(after)}${upper} ORDER BY seq) TO STDOUT (FORMAT binary)`);
    const cutter = new CopyRowCutter(pageSize);
    let n = 0;
    for await (const chunk of rows) {
      for (const page of cutter.push(chunk)) {
        n += page.count;
        yield page;
      }
    }
    const rest = cutter.end();
    if (rest) {
      n += rest.count;
      yield rest;
    }
    if (n === 0) return;
    after = cutter.lastSeq;
  }
}

/**
 * Cuts a binary COPY stream (header, rows, trailer) into pages of whole rows, copying each chunk
 * once into the page being filled; a row split across chunks stays whole in the next page.
 */
class CopyRowCutter {
  #page: Buffer;
  #used = 0; // bytes in #page
  #scan = 0; // end of the last whole row in #page
  #rows = 0; // whole rows in #page
  #header = true;
  #trailer = false;
  lastSeq = 0;
  #capacity = 1 << 20; // grows to the largest page seen, so a page is rarely copied to grow

  constructor(readonly pageSize: number) {
    this.#page = Buffer.allocUnsafeSlow(this.#capacity); // its own ArrayBuffer (transferred), not zero-filled
  }

  *push(chunk: Buffer): Generator<EntryPage> {
    if (this.#trailer) throw new Error('COPY data after its trailer');
    if (this.#page.length - this.#used < chunk.length) this.#grow(this.#used + chunk.length);
    chunk.copy(this.#page, this.#used);
    this.#used += chunk.length;
    let b = this.#page;
    if (this.#header) {
      if (this.#used < 19) return;
      if (!b.subarray(0, 11).equals(COPY_SIGNATURE)) throw new Error('not a binary COPY stream');
      const ext = b.readUInt32BE(15);
      if (this.#used < 19 + ext) return;
      this.#header = false;
      this.#scan = 19 + ext; // the page starts at its first row: drop the header
      this.#page.copy(this.#page, 0, this.#scan, this.#used);
      this.#used -= this.#scan;
      this.#scan = 0;
    }
    for (;;) {
      let off = this.#scan;
      if (off + 2 > this.#used) return;
      const columns = b.readInt16BE(off);
      if (columns === -1) {
        this.#trailer = true;
        return;
      }
      if (columns !== COPY_COLUMNS) throw new Error(`a COPY row of ${columns} columns; the verifier reads ${COPY_COLUMNS}`);
      off += 2;
      let seq = -1;
      for (let c = 0; c < COPY_COLUMNS; c++) {
        if (off + 4 > this.#used) return;
        const len = b.readInt32BE(off);
        off += 4;
        if (c === 0 && len === 8 && off + 8 <= this.#used) seq = b.readUInt32BE(off) * 0x1_0000_0000 + b.readUInt32BE(off + 4);
        if (len > 0) off += len;
        if (off > this.#used) return;
      }
      this.#scan = off;
      this.#rows++;
      if (seq >= 0) this.lastSeq = seq;
      if (this.#rows === this.pageSize) {
        yield this.#cut();
        b = this.#page;
      }
    }
  }

  /** The last page (whole rows only); the stream must have ended with its trailer. */
  end(): EntryPage | null {
    if (!this.#trailer) throw new Error('the COPY stream ended inside a row');
    return this.#rows > 0 ? this.#cut() : null;
  }

  /** The whole rows as a page of their own ArrayBuffer; the rest starts the next page. */
  #cut(): EntryPage {
    const full = this.#page;
    const rest = this.#used - this.#scan;
    this.#capacity = Math.max(this.#capacity, Math.ceil(1.25 * this.#used));
    this.#page = Buffer.allocUnsafeSlow(Math.max(this.#capacity, 2 * rest));
    full.copy(this.#page, 0, this.#scan, this.#used);
    const page: EntryPage = { format: 'copy', count: this.#rows, bytes: full.subarray(0, this.#scan), owned: true };
    this.#used = rest;
    this.#scan = 0;
    this.#rows = 0;
    return page;
  }

  #grow(size: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(size, 2 * this.#page.length));
    this.#page.copy(next, 0, 0, this.#used);
    this.#page = next;
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
