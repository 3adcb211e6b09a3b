// The recipes of docs/verifying-a-dossier.md as the tests run them: a marked block, run verbatim;
// the signature's /ByteRange; the bare environment of an offline CLI.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/util/paths.js';
import { run, type RunResult } from './tools.js';

export const DOC = path.join(packageRoot(), 'docs', 'verifying-a-dossier.md');

/** The code block that follows `<!-- test:NAME -->` in docs/verifying-a-dossier.md. */
export function docBlock(name: string): { lang: string; code: string } {
  const md = readFileSync(DOC, 'utf8');
  const m = new RegExp(`<!-- test:${name} -->\\n\`\`\`(\\w+)\\n([\\s\\S]*?)\\n\`\`\``).exec(md);
  assert.ok(m, `docs/verifying-a-dossier.md has no block marked test:${name}`);
  return { lang: m[1]!, code: m[2]! + '\n' };
}

/** Runs a doc shell block verbatim with bash (errexit, pipefail) in a directory. */
export function runDoc(name: string, cwd: string): RunResult {
  const b = docBlock(name);
  assert.equal(b.lang, 'sh');
  return run('bash', ['-euo', 'pipefail', '-c', b.code], { cwd });
}

/** Environment for the CLI: no database URL, an empty data directory, nothing else configured. */
export function bareEnv(dataDir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'silent', ASSENTMARK_DATA_DIR: dataDir };
}

/** The last /ByteRange of a PDF. */
export function byteRangeOf(pdf: Buffer): [number, number, number, number] {
  const all = [...pdf.toString('latin1').matchAll(/\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g)];
  const m = all.at(-1);
  assert.ok(m, 'a /ByteRange');
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
}
