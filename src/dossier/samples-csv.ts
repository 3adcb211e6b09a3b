// The sample lists a dossier attaches as CSV: per verification, every submitted sample with what the
// subject's key says of it; per plan, the pre-registered samples. The first columns of each row are
// exactly the fields of that sample's line of the digest recorded in the ledger event, so the
// digest, n and m can be re-derived from the CSV alone (docs/verifying-a-dossier.md, step 2).
// Pure: no database, no files. Read back strictly (a CSV in a dossier is hostile input).
import { sha256Stream } from '../crypto/hash.js';
import { TAG } from '../crypto/domains.js';
import type { PlanSample } from '../db/schema.js';

export const VERIFICATION_CSV_HEADER = 'index,input_sha256,owner_label,suspect_label,num_classes,duplicate,watermarked,watermark_label,match';
export const PLAN_CSV_HEADER = 'index,input_sha256,owner_label,num_classes';

export interface CsvFacts {
  kind: 'verification' | 'plan';
  rows: number;
  /** SHA-256 hex over the tag line and one digest line per row (the recorded samples digest). */
  digest: string;
  /** Verification CSVs: distinct marked samples and, of those, the suspect's matches. */
  n: number;
  m: number;
}

/**
 * One row per submitted sample from the stored digest lines and the subject's marks (index ->
 * watermark label): duplicate (an input seen earlier: not counted), watermarked, watermark_label,
 * match (the suspect gave the watermark label).
 */
export function verificationCsv(lines: string, marks: ReadonlyArray<{ index: number; label: number }>): Buffer {
  const byIndex = new Map(marks.map((m) => [m.index, m.label]));
  const seen = new Set<string>();
  const out = [VERIFICATION_CSV_HEADER];
  lines.split('\n').filter(Boolean).forEach((line, i) => {
    const [input, owner, suspect, k] = line.split(':') as [string, string, string, string];
    const dup = seen.has(input);
    seen.add(input);
    const label = byIndex.get(i);
    const cols = dup ? '1,,,' : label === undefined ? '0,0,,' : `0,1,${label},${Number(suspect) === label ? 1 : 0}`;
    out.push(`${i},${input},${owner},${suspect},${k},${cols}`);
  });
  return Buffer.from(out.join('\n') + '\n', 'ascii');
}

export function planCsv(samples: readonly PlanSample[]): Buffer {
  const out = [PLAN_CSV_HEADER, ...samples.map((s, i) => `${i},${s.input_sha256},${s.owner_label},${s.num_classes}`)];
  return Buffer.from(out.join('\n') + '\n', 'ascii');
}

const INT = '(0|[1-9][0-9]*)';
const VERIFICATION_ROW = new RegExp(`^${INT},([0-9a-f]{64}),${INT},${INT},${INT},(?:1,,,|0,0,,|0,1,${INT},([01]))$`);
const PLAN_ROW = new RegExp(`^${INT},([0-9a-f]{64}),${INT},${INT}$`);

/** Re-derives the digest (and n, m) from a CSV as verificationCsv/planCsv write it; throws on anything else. */
export function readSamplesCsv(bytes: Buffer): CsvFacts {
  const text = bytes.toString('latin1');
  if (!text.endsWith('\n') || /[^\x20-\x7e\n]/.test(text)) throw new Error('not an ASCII CSV ending in a newline');
  const [header, ...rows] = text.slice(0, -1).split('\n');
  const kind = header === VERIFICATION_CSV_HEADER ? 'verification' : header === PLAN_CSV_HEADER ? 'plan' : null;
  if (!kind) throw new Error(`unknown header "${header?.slice(0, 120)}"`);
  if (rows.length === 0) throw new Error('no samples');
  const h = sha256Stream().update(`${kind === 'plan' ? TAG.wmPlan : TAG.wmSamples}\n`);
  const seen = new Set<string>();
  let n = 0;
  let m = 0;
  rows.forEach((row, i) => {
    const r = (kind === 'plan' ? PLAN_ROW : VERIFICATION_ROW).exec(row);
    if (!r || Number(r[1]) !== i) throw new Error(`row ${i + 1} is malformed or out of order`);
    const input = r[2]!;
    if (kind === 'plan') {
      h.update(`${input}:${r[3]}:${r[4]}\n`);
      return;
    }
    h.update(`${input}:${r[3]}:${r[4]}:${r[5]}\n`);
    const dup = row.endsWith(',1,,,');
    if (dup !== seen.has(input)) throw new Error(`row ${i + 1}: the duplicate column is wrong`);
    seen.add(input);
    if (r[6] !== undefined) {
      const match = r[4] === r[6];
      if ((r[7] === '1') !== match) throw new Error(`row ${i + 1}: the match column is wrong`);
      n++;
      if (match) m++;
    }
  });
  return { kind, rows: rows.length, digest: h.hex(), n, m };
}

/** What to build one sample-list CSV from: a verification's digest lines and marks, or a plan's samples. */
export type SamplesCsvTask =
  | { kind: 'verification'; lines: string; marks: ReadonlyArray<{ index: number; label: number }> }
  | { kind: 'plan'; samples: readonly PlanSample[] };

export interface SamplesCsv {
  bytes: Uint8Array;
  sha256: string;
  /** Re-derived from the bytes as a reader would (readSamplesCsv), not from the input. */
  facts: CsvFacts;
}

/**
 * Writes the CSV and reads it back. CPU-heavy for long lists (a 25,000-sample list takes ~100 ms),
 * so the service runs it on a render worker thread (render-worker.ts, task `samplesCsv`).
 */
export function buildSamplesCsv(task: SamplesCsvTask): SamplesCsv {
  const bytes = task.kind === 'verification' ? verificationCsv(task.lines, task.marks) : planCsv(task.samples);
  return { bytes, sha256: sha256Stream().update(bytes).hex(), facts: readSamplesCsv(bytes) };
}
