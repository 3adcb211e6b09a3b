// Several service processes appending to one ledger on one PostgreSQL server: N processes x (64/N)
// writers for BENCH_SECONDS, against one process with 64 writers, in the same run. Each process
// keeps its own view of the head; another process's append makes a batch's guarded statement fail,
// and that batch then takes the head lock (the locked path). Prints events/s and how the tree ends.
//
//   npm run build && node dist/bench/processes.js
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config/config.js';
import { SigningKey } from '../src/crypto/ed25519.js';
import { writeSecretFile } from '../src/keys/files.js';
import { openContext } from '../src/app/context.js';
import { prepareEvent } from '../src/ledger/format.js';
import { freshDatabase, report } from './common.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WRITERS = 64;

async function child(): Promise<void> {
  const [url, keyFile, writers] = process.argv.slice(3);
  const config = { ...loadConfig({ LOG_LEVEL: 'silent', ASSENTMARK_DATA_DIR: tmpdir() }), databaseUrl: url, dbRole: 'assentmark_service', signingKeyFile: keyFile, checkpointIntervalMs: 0 };
  const ctx = await openContext(config, { timers: false, migrate: false });
  process.send!('ready');
  await new Promise<void>((r) => process.once('message', () => r()));
  let n = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: Number(writers) }, async () => {
    while (performance.now() < until) {
      await ctx.ledger.append({ events: [prepareEvent('eula.published', { slug: 'bench', version: randomUUID(), n }, { id: randomUUID() })] });
      n++;
    }
  }));
  await ctx.close();
  process.send!(String(n));
}

async function run(url: string, keyFile: string, processes: number): Promise<number> {
  const me = fileURLToPath(import.meta.url);
  const kids = Array.from({ length: processes }, () => fork(me, ['child', url, keyFile, String(WRITERS / processes)], { stdio: 'inherit' }));
  await Promise.all(kids.map((k) => new Promise<void>((r) => k.once('message', () => r()))));
  const t0 = performance.now();
  const counts = kids.map((k) => new Promise<number>((r) => k.once('message', (m) => r(Number(m)))));
  for (const k of kids) k.send('go');
  const total = (await Promise.all(counts)).reduce((a, b) => a + b, 0);
  return total / ((performance.now() - t0) / 1000);
}

export async function benchProcesses(): Promise<void> {
  const db = await freshDatabase('assentmark_procs');
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-procs-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    writeSecretFile(keyFile, SigningKey.generate().toPem());
    const config = { ...loadConfig({ LOG_LEVEL: 'silent', ASSENTMARK_DATA_DIR: dir }), databaseUrl: db.url, dbRole: 'assentmark_service', signingKeyFile: keyFile, checkpointIntervalMs: 0 };
    const ctx = await openContext(config, { timers: false });
    await ctx.close();
    const one = await run(db.url, keyFile, 1);
    const three = await run(db.url, keyFile, 3);
    report('processes.append.one_process', one, 'events/s');
    report('processes.append.three_processes', three, 'events/s', { baseline: one, ratio: three / one });
    const check = await openContext(config, { timers: false });
    try {
      await check.ledger.checkpoint();
      const r = await check.ledger.verify();
      console.log(`# processes: ${r.size} entries, one chain and one tree: ${r.ok ? 'verified' : `FAILED at ${r.fault?.seq}: ${r.fault?.reason}`}`);
    } finally {
      await check.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

if (process.argv[2] === 'child') await child();
else if (import.meta.url === `file://${process.argv[1]}`) await benchProcesses();
