// A strict reader of the Prometheus text exposition format (0.0.4): every line is a HELP, a TYPE or
// a sample of a declared family, or it throws naming the line. Tests scrape /metrics with it.
//
//   const m = parseMetrics(res.text);
//   m.value('assentmark_http_requests_total', { route: '/v1/acceptances', status_class: '2xx' });
import { run } from './tools.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Metrics {
  samples: Sample[];
  /** Family name -> its TYPE. */
  types: Map<string, string>;
  /** The sum of the samples of `name` whose labels include `labels` (0 when none). */
  value(name: string, labels?: Record<string, string>): number;
  /** The samples of `name` whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/;
// Prometheus reads values with Go's ParseFloat: NaN and Inf in any letter case (prom-client writes "Nan").
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf|nan)$/i;

const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count', ''], counter: [''], gauge: [''], untyped: [''] };

export function parseMetrics(text: string): Metrics {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line.slice(0, 200))}`;
    if (line === '') return;
    let m = HELP.exec(line);
    if (m) {
      if (helps.has(m[1]!)) throw new Error(`${where}: a second HELP for ${m[1]}`);
      helps.add(m[1]!);
      return;
    }
    m = TYPE.exec(line);
    if (m) {
      if (types.has(m[1]!)) throw new Error(`${where}: a second TYPE for ${m[1]}`);
      types.set(m[1]!, m[2]!);
      return;
    }
    if (line.startsWith('#')) throw new Error(`${where}: not a HELP or TYPE comment`);
    m = SAMPLE.exec(line);
    if (!m) throw new Error(`${where}: not a sample`);
    const [, name, rawLabels, rawValue] = m;
    if (!VALUE.test(rawValue!)) throw new Error(`${where}: ${rawValue} is not a sample value`);
    const family = familyOf(name!, types);
    if (!family) throw new Error(`${where}: ${name} belongs to no family declared by a TYPE line before it`);
    const labels: Record<string, string> = {};
    let rest = rawLabels ?? '';
    while (rest.length > 0) {
      const l = LABEL.exec(rest);
      if (!l) throw new Error(`${where}: malformed labels at ${JSON.stringify(rest.slice(0, 60))}`);
      if (l[1]! in labels) throw new Error(`${where}: label ${l[1]} twice`);
      labels[l[1]!] = l[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
      if (l[3] === ',' && rest.length === 0) break; // a trailing comma is allowed
    }
    samples.push({ name: name!, labels, value: /^nan$/i.test(rawValue!) ? NaN : Number(rawValue!.replace(/^\+/, '').replace(/^(-?)inf$/i, '$1Infinity')) });
  });
  const find = (name: string, want: Record<string, string> = {}) => samples.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v));
  return { samples, types, find, value: (name, want) => find(name, want).reduce((n, s) => n + s.value, 0) };
}

function familyOf(name: string, types: Map<string, string>): string | null {
  for (const [family, type] of types) for (const suffix of SUFFIXES[type]!) if (name === family + suffix) return family;
  return null;
}

/** `promtool check metrics` (Debian package prometheus) on the text, or null when promtool is not installed. */
export function promtoolCheck(text: string): { status: number | null; out: string } {
  // A required tool (npm test installs it: scripts/system-tools.mjs); run() fails the test naming the package if absent.
  const r = run('promtool', ['check', 'metrics'], { input: text, timeout: 60_000 });
  return { status: r.status, out: r.out };
}
