// verification_samples and verification_marks: what each verification was run on, kept so a dossier
// can attach it. The samples of a screening are stored once, as the exact lines its recorded samples
// digest is computed over; each outcome adds the samples its subject's key marks.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { workingRow, type WorkingRow } from '../db/rows.js';

export interface ScreeningSamples {
  screeningId: string;
  sampleCount: number;
  samplesDigest: string;
  /** `<input_sha256>:<owner_label>:<suspect_label>:<num_classes>\n` per submitted sample, in order. */
  lines: string;
}

export interface SampleMark {
  /** Index of the sample in submission order (0-based). */
  index: number;
  /** The watermark label the subject's key gives it. */
  label: number;
}

export class VerificationSamplesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  samplesRow(s: ScreeningSamples & { createdAt: Date }, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('verification_samples', {
      screening_id: s.screeningId, sample_count: s.sampleCount, samples_digest: s.samplesDigest, lines: s.lines,
      created_at: s.createdAt, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }

  marksRow(verificationId: string, screeningId: string, marks: readonly SampleMark[]): WorkingRow {
    return workingRow('verification_marks', { verification_id: verificationId, screening_id: screeningId, marks: marks.map((m) => `${m.index}:${m.label}\n`).join('') });
  }

  async screenings(ids: readonly string[]): Promise<Map<string, ScreeningSamples>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.selectFrom('verification_samples').select(['screening_id', 'sample_count', 'samples_digest', 'lines']).where('screening_id', 'in', [...ids]).execute();
    return new Map(rows.map((r) => [r.screening_id, { screeningId: r.screening_id, sampleCount: r.sample_count, samplesDigest: r.samples_digest, lines: r.lines }]));
  }

  async marks(verificationIds: readonly string[]): Promise<Map<string, SampleMark[]>> {
    if (verificationIds.length === 0) return new Map();
    const rows = await this.db.selectFrom('verification_marks').select(['verification_id', 'marks']).where('verification_id', 'in', [...verificationIds]).execute();
    return new Map(rows.map((r) => [r.verification_id, r.marks.split('\n').filter(Boolean).map((l) => {
      const [i, label] = l.split(':');
      return { index: Number(i), label: Number(label) };
    })]));
  }
}
