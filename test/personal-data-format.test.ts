// Known-answer vectors of the personal-data format (docs/ledger-format.md section 3.3): one
// commitment per the spec's formula, one subject commitment and one pseudonym, computed by the
// service's code and, independently, by OpenSSL; the values printed in the doc are these. A change
// of tag, salt layout, canonical form or HMAC input fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalBytes } from '../src/canonical/jcs.js';
import { commitmentOf, openingProblem } from '../src/privacy/commitment.js';
import { Pseudonyms } from '../src/privacy/pseudonyms.js';
import { run } from './helpers/tools.js';

const SALT = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const VALUE = { user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0', ip: '203.0.113.7' };
const JCS = '{"ip":"203.0.113.7","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}';
const COMMITMENT = 'cd858cc1f169062b43ae5743f4541e7fb7b332ebf4976d13d726c3200f2072ca';
const SUBJECT_SALT = Buffer.alloc(32, 0xab);
const SUBJECT_COMMITMENT = '733043cf6f25f56f5ddb09978771a11b1cd68fcb7d80b27b0952af424994c47e';
const PSEUDONYM_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x40 + i));
const PSEUDONYM = '0b47e8f9af866e583c9403d221f2c6b3a73bf1376bd22eee42af965234720cc0';

function doc(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = [path.resolve(here, '../../docs/ledger-format.md'), path.resolve(process.cwd(), 'docs/ledger-format.md')].find((c) => existsSync(c));
  assert.ok(file, 'docs/ledger-format.md not found');
  return readFileSync(file, 'utf8');
}

test('the commitment vector: JCS bytes, SHA-256(tag || 0x00 || salt || JCS(value)), and the opening checks', () => {
  assert.equal(canonicalBytes(VALUE).toString('utf8'), JCS);
  assert.equal(commitmentOf('network', SALT, VALUE), COMMITMENT);
  assert.equal(commitmentOf('subject', SUBJECT_SALT, 'user-1'), SUBJECT_COMMITMENT);
  assert.equal(openingProblem(COMMITMENT, { group: 'network', salt: SALT.toString('hex'), value: VALUE }, 'network'), null);
  // Same salt and value under another group's tag: another commitment.
  assert.notEqual(commitmentOf('session', SALT, VALUE), COMMITMENT);
  assert.match(openingProblem(COMMITMENT, { group: 'session', salt: SALT.toString('hex'), value: VALUE }) ?? '', /is not the commitment/);
});

test('the pseudonym vector: HMAC-SHA256(key, "assentmark/subject-pseudonym/v1" || 0x00 || subject)', () => {
  assert.equal(new Pseudonyms(PSEUDONYM_KEY).of('user-1'), PSEUDONYM);
  assert.notEqual(new Pseudonyms(PSEUDONYM_KEY).of('user-2'), PSEUDONYM);
});

test('OpenSSL computes the same values (the commands in the doc)', () => {
  const c = run('bash', ['-euo', 'pipefail', '-c', `{ printf 'assentmark/pd-network/v1\\0'; printf '${SALT.toString('hex')}' | xxd -r -p; printf '%s' '${JCS}'; } | openssl dgst -sha256 -r | cut -d' ' -f1`]);
  assert.equal(c.status, 0, c.out);
  assert.equal(c.stdout.trim(), COMMITMENT);
  const p = run('bash', ['-euo', 'pipefail', '-c', `printf 'assentmark/subject-pseudonym/v1\\0user-1' | openssl dgst -sha256 -mac HMAC -macopt hexkey:${PSEUDONYM_KEY.toString('hex')} -r | cut -d' ' -f1`]);
  assert.equal(p.status, 0, p.out);
  assert.equal(p.stdout.trim(), PSEUDONYM);
});

test('docs/ledger-format.md prints these vectors', () => {
  const d = doc();
  for (const v of [SALT.toString('hex'), JCS, COMMITMENT, SUBJECT_COMMITMENT, PSEUDONYM_KEY.toString('hex'), PSEUDONYM]) assert.ok(d.includes(v), `the doc lacks ${v}`);
  assert.ok(d.includes(`| **commitment** | \`${COMMITMENT}\` |`));
  assert.ok(d.includes(`| **pseudonym** | \`${PSEUDONYM}\` |`));
});
