// The evidence bundle grows with log2 of the ledger, not with the ledger: a dossier for an early
// subject, then ~3,000 unrelated entries, then the same dossier again. Each cited entry's inclusion
// proof gains a few hashes (a few hundred bytes per entry); a chain proof (format v1) would have
// gained 32 bytes for every new entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyBundle } from '../src/dossier/bundle.js';
import { extractAttachments } from '../src/pdf/verify.js';
import { useTestApp } from './helpers/app.js';
import { buildEvidence, supertestHttp, type Evidence } from './helpers/evidence.js';
import { eulaEvent } from './helpers/ledger-fixtures.js';
import { binary } from './helpers/tools.js';

type Json = Record<string, any>;

const APPENDED = 3_000;
/** One hash in a proof: 64 hex digits, two quotes and a comma. */
const HASH_BYTES = 64 + 3;

let ev: Evidence;
const t = useTestApp({
  async setup(app) {
    ev = await buildEvidence(supertestHttp(() => app.app, app.tokens), { subject: 'subject-early', acceptances: 3, declines: 1, withdrawals: 1, verifications: 2, caseRef: 'CASE-SIZE' });
  },
});

async function issue(caseRef: string): Promise<{ bytes: Buffer; sig: Buffer; bundle: Json }> {
  const res = await t.post('/v1/dossiers', 'investigator').send({ subject: ev.subject, case_ref: caseRef, requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
  assert.equal(res.status, 201, res.text);
  const pdf = (await t.get(`/v1/dossiers/${String(res.body.id)}/pdf`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
  const files = await extractAttachments(pdf);
  const bytes = files.get('evidence-bundle.json')!;
  return { bytes, sig: files.get('evidence-bundle.json.sig')!, bundle: JSON.parse(bytes.toString('utf8')) as Json };
}

const treeSize = (b: Json): number => Number(Buffer.from(b.checkpoint.note as string, 'base64').toString('utf8').split('\n')[1]);

test(`a dossier's bundle grows by a few hashes per cited entry when ${APPENDED} unrelated entries follow, not by 32 bytes per entry`, async (ctx) => {
  const before = await issue('CASE-SIZE-1');
  const n1 = treeSize(before.bundle);

  // Unrelated evidence, appended the way every service appends (group commit, 100 events an item).
  const items = Array.from({ length: APPENDED / 100 }, (_, i) => ({ events: Array.from({ length: 100 }, (_, j) => eulaEvent(10_000 + i * 100 + j)) }));
  await Promise.all(items.map((item) => t.ctx.ledger.append(item)));

  const after = await issue('CASE-SIZE-2');
  const n2 = treeSize(after.bundle);
  assert.ok(n2 >= n1 + APPENDED, `the tree grew from ${n1} to ${n2}`);

  const cited = (b: Json) => (b.entries as Json[]).map((e) => e.seq as number);
  assert.deepEqual(cited(after.bundle), cited(before.bundle), 'the same entries are cited');
  const k = cited(after.bundle).length;
  assert.ok(k >= 10, `${k} cited entries`);

  // Each audit path is at most ceil(log2 n) hashes (an entry near the right edge of the small tree
  // had a short one, so one path may gain more than log2(n2) - log2(n1)).
  const maxPath = Math.ceil(Math.log2(n2));
  const pathGrowth: number[] = [];
  (after.bundle.entries as Json[]).forEach((e, i) => {
    const p1 = (before.bundle.entries as Json[])[i]!.inclusion.audit_path.length as number;
    const p2 = e.inclusion.audit_path.length as number;
    assert.ok(p1 <= Math.ceil(Math.log2(n1)), `entry ${e.seq}: ${p1} hashes in a tree of ${n1}`);
    assert.ok(p2 <= maxPath, `entry ${e.seq}: ${p2} hashes in a tree of ${n2}`);
    pathGrowth.push(p2 - p1);
  });

  // The bytes: the proofs' growth, plus a little for the other dossier's ids and the note's size line.
  const growth = after.bytes.length - before.bytes.length;
  const proofs = pathGrowth.reduce((a, b) => a + b, 0) * HASH_BYTES;
  ctx.diagnostic(`tree ${n1} -> ${n2} entries; bundle ${before.bytes.length} -> ${after.bytes.length} bytes (+${growth}); ${k} cited entries, +${(growth / k).toFixed(0)} bytes each; a chain proof would have grown by ${32 * (n2 - n1)} bytes`);
  assert.ok(Math.abs(growth - proofs) <= 200, `the bundle grew by ${growth} bytes, its proofs by ${proofs}`);
  assert.ok(growth / k <= maxPath * HASH_BYTES, `${(growth / k).toFixed(0)} bytes per cited entry: more than a whole path of ${maxPath} hashes`);
  assert.ok(growth < (32 * (n2 - n1)) / 10, `grew by ${growth} bytes, a tenth of a chain proof's ${32 * (n2 - n1)}`);

  // And the larger bundle verifies.
  const c = verifyBundle(after.bytes, after.sig, t.ctx.ledger.signingKey.publicKey);
  assert.equal(c.ok, true, c.failures.join('; '));
  assert.equal(c.checkpointSize, n2);
});
