// checkpoint_timestamps: RFC 3161 tokens over signed checkpoints.
import type { Kysely } from 'kysely';
import { buf } from '../db/bytes.js';
import type { Database } from '../db/schema.js';

export interface StoredTimestamp {
  id: string;
  /** The checkpoint (its tree size) whose signed note was stamped. */
  size: number;
  /** SHA-256 of the signed note: the message imprint. */
  digest: Buffer;
  tsaUrl: string;
  /** The TimeStampToken (DER ContentInfo). */
  token: Buffer;
  genTime: Date;
  serial: string;
}

const COLUMNS = ['id', 'size', 'digest', 'tsa_url', 'token', 'gen_time', 'serial'] as const;

export class TimestampRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(t: StoredTimestamp): Promise<void> {
    await this.db.insertInto('checkpoint_timestamps').values({ id: t.id, size: t.size, digest: t.digest, tsa_url: t.tsaUrl, token: t.token, gen_time: t.genTime, serial: t.serial }).execute();
  }

  /** The timestamp of the largest stamped checkpoint (at most `atMost` entries), if any. */
  async latest(atMost = Number.MAX_SAFE_INTEGER): Promise<StoredTimestamp | undefined> {
    const r = await this.db.selectFrom('checkpoint_timestamps').select(COLUMNS).where('size', '<=', String(atMost)).orderBy('size', 'desc').orderBy('gen_time', 'desc').limit(1).executeTakeFirst();
    return r ? toStored(r) : undefined;
  }

  async forSize(size: number): Promise<StoredTimestamp[]> {
    const rows = await this.db.selectFrom('checkpoint_timestamps').select(COLUMNS).where('size', '=', String(size)).orderBy('gen_time').execute();
    return rows.map(toStored);
  }
}

function toStored(r: { id: string; size: string; digest: Buffer; tsa_url: string; token: Buffer; gen_time: Date; serial: string }): StoredTimestamp {
  return { id: r.id, size: Number(r.size), digest: buf(r.digest), tsaUrl: r.tsa_url, token: buf(r.token), genTime: new Date(r.gen_time), serial: r.serial };
}
