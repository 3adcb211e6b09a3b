#!/usr/bin/env node
// Runs the compiled test suite. Migrates one template database first (a real PostgreSQL database
// when DATABASE_URL is set, else an embedded data directory) that each test file clones.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connect } from '../dist/src/db/connect.js';
import { migrateToLatest } from '../dist/src/db/migrate.js';

const url = process.env.DATABASE_URL;
const env = { ...process.env };
let cleanup = async () => {};

if (url) {
  const name = `assentmark_tpl_${process.pid}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const tplUrl = new URL(url);
  tplUrl.pathname = `/${name}`;
  const h = await connect({ databaseUrl: tplUrl.toString(), dataDir: '', poolSize: 1 });
  await migrateToLatest(h.db);
  await h.close();
  env.ASSENTMARK_TEST_TEMPLATE_DB = name;
  cleanup = async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  };
  console.log(`# database: PostgreSQL server (template ${name})`);
} else {
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-tpl-'));
  const h = await connect({ dataDir: dir });
  await migrateToLatest(h.db);
  await h.close();
  env.ASSENTMARK_TEST_TEMPLATE_DIR = dir;
  cleanup = async () => rmSync(dir, { recursive: true, force: true });
  console.log('# database: embedded PostgreSQL (PGlite)');
}

const args = ['--test', '--test-concurrency=2', '--test-timeout=600000'];
if (process.env.TEST_REPORTER) args.push(`--test-reporter=${process.env.TEST_REPORTER}`);
const files = process.argv.slice(2);
// Only *.test.js: node would also run every other .js file under a directory named "test".
const all = readdirSync('dist/test').filter((f) => f.endsWith('.test.js')).sort().map((f) => `dist/test/${f}`);
args.push(...(files.length ? files : all));
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env });
await cleanup();
process.exit(r.status ?? 1);
