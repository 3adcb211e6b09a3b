// Reading a samples file chosen by the investigator into the body POST /v1/verifications takes.
// JSON: the samples array itself, or an object with "samples" (a saved request body). CSV: a
// header naming input_sha256, owner_label, suspect_label and num_classes, then one sample a line.
// The service checks everything again; this only turns a bad file into a plain-words message.

export interface Sample {
  input_sha256: string;
  owner_label: number;
  suspect_label: number;
  num_classes: number;
}

const COLUMNS = ['input_sha256', 'owner_label', 'suspect_label', 'num_classes'] as const;
const HEX64 = /^[0-9a-f]{64}$/;
const INT = /^(0|[1-9][0-9]{0,9})$/;

export class FileProblem extends Error {}

function checkSample(v: unknown, where: string): Sample {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FileProblem(`${where} is not an object with ${COLUMNS.join(', ')}.`);
  const o = v as Record<string, unknown>;
  if (typeof o.input_sha256 !== 'string' || !HEX64.test(o.input_sha256)) throw new FileProblem(`${where}: input_sha256 must be 64 lowercase hexadecimal characters.`);
  for (const k of ['owner_label', 'suspect_label', 'num_classes'] as const) {
    if (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) < 0) throw new FileProblem(`${where}: ${k} must be a whole number, 0 or more.`);
  }
  return { input_sha256: o.input_sha256, owner_label: o.owner_label as number, suspect_label: o.suspect_label as number, num_classes: o.num_classes as number };
}

function parseJson(text: string): Sample[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new FileProblem('The file is not valid JSON. Save it again from the tool that made it, or use CSV.');
  }
  const list = Array.isArray(v) ? v : typeof v === 'object' && v !== null && Array.isArray((v as { samples?: unknown }).samples) ? (v as { samples: unknown[] }).samples : null;
  if (!list) throw new FileProblem('The JSON file holds neither a list of samples nor an object with a "samples" list.');
  if (list.length === 0) throw new FileProblem('The file holds no samples.');
  return list.map((s, i) => checkSample(s, `Sample ${i + 1}`));
}

function parseCsv(text: string): Sample[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length < 2) throw new FileProblem('The CSV file needs a header line and at least one sample.');
  const header = lines[0]!.split(',').map((c) => c.trim().toLowerCase());
  const at = COLUMNS.map((c) => header.indexOf(c));
  const missing = COLUMNS.filter((_, i) => at[i]! < 0);
  if (missing.length) throw new FileProblem(`The CSV header lacks the column(s) ${missing.join(', ')}. It must name ${COLUMNS.join(', ')}.`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== header.length) throw new FileProblem(`Line ${i + 2} has ${cells.length} values; the header has ${header.length}.`);
    const num = (k: (typeof COLUMNS)[number], j: number) => {
      const c = cells[at[j]!]!;
      if (!INT.test(c)) throw new FileProblem(`Line ${i + 2}: ${k} "${c.slice(0, 20)}" is not a whole number.`);
      return Number(c);
    };
    return checkSample({ input_sha256: cells[at[0]!], owner_label: num('owner_label', 1), suspect_label: num('suspect_label', 2), num_classes: num('num_classes', 3) }, `Line ${i + 2}`);
  });
}

/** The samples of a file's text; JSON when it starts with [ or {, else CSV. */
export function parseSamples(text: string): Sample[] {
  const t = text.replace(/^\uFEFF/, '').trim();
  if (t === '') throw new FileProblem('The file is empty.');
  return t.startsWith('[') || t.startsWith('{') ? parseJson(t) : parseCsv(t);
}

/** Suspect labels for a pre-registered plan: a JSON list (or {"suspect_labels": [...]}), or one number a line (an optional "suspect_label" header). */
export function parseSuspectLabels(text: string): number[] {
  const t = text.replace(/^\uFEFF/, '').trim();
  if (t === '') throw new FileProblem('The file is empty.');
  let list: unknown[];
  if (t.startsWith('[') || t.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      throw new FileProblem('The file is not valid JSON.');
    }
    const l = Array.isArray(v) ? v : (v as { suspect_labels?: unknown }).suspect_labels;
    if (!Array.isArray(l)) throw new FileProblem('The JSON file holds neither a list of labels nor an object with "suspect_labels".');
    list = l;
  } else {
    const lines = t.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    if (lines[0]?.toLowerCase() === 'suspect_label') lines.shift();
    list = lines.map((l, i) => {
      if (!INT.test(l)) throw new FileProblem(`Line ${i + 1}: "${l.slice(0, 20)}" is not a whole number.`);
      return Number(l);
    });
  }
  if (list.length === 0) throw new FileProblem('The file holds no labels.');
  list.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new FileProblem(`Label ${i + 1} is not a whole number, 0 or more.`);
  });
  return list as number[];
}
