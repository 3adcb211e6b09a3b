// The problem registry: docs/problems.md lists exactly its codes, statuses and titles, and a
// registered server-side problem leaves the service as itself, not as a bare internal_error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { PROBLEMS } from '../src/problems/registry.js';
import { AppError } from '../src/problems/app-error.js';
import { packageRoot } from '../src/util/paths.js';
import { createTestApp, problemOf, type TestApp } from './helpers/app.js';

describe('docs/problems.md', () => {
  test('lists every registered code with its status and title, and nothing else', () => {
    const doc = readFileSync(path.join(packageRoot(), 'docs', 'problems.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z0-9_]+)` \| (\d{3}) \| ([^|]+?) \| [^|]+ \|$/gm)].map((m) => ({ code: m[1]!, status: Number(m[2]), title: m[3]! }));
    assert.deepEqual(rows, Object.entries(PROBLEMS).map(([code, p]) => ({ code, status: p.status, title: p.title })));
  });

  test('codes are snake_case and unique; statuses are 4xx or 5xx', () => {
    for (const [code, p] of Object.entries(PROBLEMS)) {
      assert.match(code, /^[a-z][a-z0-9_]*$/);
      assert.ok(p.status >= 400 && p.status < 600, code);
      assert.ok(p.title.length > 0, code);
    }
  });
});

describe('server-side problems keep their registered code', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('a ledger that no longer matches its checkpoint: a dossier issue answers checkpoint_inconsistent, records nothing', async () => {
    await t.publishEula();
    assert.equal((await t.accept({ subject: 'tampered-subject' })).status, 201);
    // Everything so far is checkpointed; then an entry after the checkpoint is rewritten behind the
    // service's back (as the owner, triggers off), so the next checkpoint must refuse to sign.
    await t.ctx.ledger.checkpoint();
    assert.equal((await t.accept({ subject: 'tampered-subject-2' })).status, 201);
    const head = await t.ctx.ledger.head();
    await t.db.superuser('ALTER TABLE ledger_entries DISABLE TRIGGER ALL');
    // The subject is a commitment (docs/personal-data.md): the rewrite is of a fact in clear.
    await t.db.superuser(`UPDATE ledger_entries SET canonical = convert_to(replace(convert_from(canonical, 'UTF8'), '"locale":"en-GB"', '"locale":"fr-FR"'), 'UTF8') WHERE seq = ${head.size - 1}`);
    await t.db.superuser('ALTER TABLE ledger_entries ENABLE TRIGGER ALL');
    await t.db.superuser('ALTER TABLE ledger_entries ENABLE ALWAYS TRIGGER ledger_entries_no_update_delete');
    await t.db.superuser('ALTER TABLE ledger_entries ENABLE ALWAYS TRIGGER ledger_entries_no_truncate');
    const before = (await sql<{ n: string }>`SELECT count(*) AS n FROM dossiers`.execute(t.ctx.handle.db)).rows[0]!.n;
    const res = await t.post('/v1/dossiers', 'investigator').send({ subject: 'tampered-subject', case_ref: 'CASE-1', requested_by: 'Investigator', prepared_for: { name: 'Counsel', firm: 'Firm' } });
    assert.equal(res.status, 500, res.text);
    const p = problemOf(res);
    assert.equal(p.code, 'checkpoint_inconsistent');
    assert.match(p.detail, new RegExp(`entry ${head.size - 1}`));
    assert.equal((await sql<{ n: string }>`SELECT count(*) AS n FROM dossiers`.execute(t.ctx.handle.db)).rows[0]!.n, before);
  });

  test('an AppError is an Error carrying its code and detail', () => {
    const e = new AppError('render_failed', 'the worker stopped');
    assert.ok(e instanceof Error);
    assert.equal(e.code, 'render_failed');
    assert.equal(e.detail, 'the worker stopped');
    assert.equal(e.name, 'AppError');
  });
});
