// The embedded data directory's lock: a process killed with SIGKILL leaves its lock file behind and,
// until its parent reaps it, a zombie that still answers kill(pid, 0). A restart must take the lock
// over then, and still be refused while the owner really runs. Runs on either test database: it
// opens its own embedded data directories.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { connect, DataDirLockedError } from '../src/db/connect.js';
import { packageRoot } from '../src/util/paths.js';

const CONNECT_MODULE = pathToFileURL(path.join(packageRoot(), 'dist', 'src', 'db', 'connect.js')).href;

/**
 * An initialised embedded database to copy: the run's template when it is embedded, else one made
 * once here (initialising a data directory is the slow part of opening one).
 */
let prepared: string | null = null;
before(async () => {
  prepared = process.env.ASSENTMARK_TEST_TEMPLATE_DIR ?? null;
  if (prepared) return;
  prepared = mkdtempSync(path.join(tmpdir(), 'assentmark-lock-tpl-'));
  await (await connect({ dataDir: prepared })).close();
});
after(() => {
  if (prepared && !process.env.ASSENTMARK_TEST_TEMPLATE_DIR) rmSync(prepared, { recursive: true, force: true });
});

/** A copy of the prepared database, removed after the test file. */
function freshDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-lock-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(prepared!, dir, { recursive: true });
  return dir;
}

/** /proc/<pid>/stat's state letter, or null when there is no such process. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * A process that opens the embedded database in `dir` (holding its lock) and stays, started by a
 * parent that never reaps it: bash runs it in the background, prints its pid, then becomes `sleep`.
 */
async function holder(dir: string): Promise<{ pid: number; parent: ChildProcessByStdio<null, Readable, Readable> }> {
  const script = `import { connect } from ${JSON.stringify(CONNECT_MODULE)}; await connect({ dataDir: process.argv[1] }); console.log('locked'); setInterval(() => {}, 60_000);`;
  const parent = spawn('bash', ['-c', '"$0" --input-type=module -e "$1" "$2" & echo "pid $!"; exec sleep 600', process.execPath, script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  after(() => {
    parent.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
  parent.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 120_000;
  while (!/^locked$/m.test(out)) {
    if (Date.now() > deadline || parent.exitCode !== null) assert.fail(`the holder did not lock ${dir}: ${out}${err}`);
    await sleep(20);
  }
  const pid = Number(/^pid (\d+)$/m.exec(out)?.[1]);
  assert.ok(pid > 0, out);
  return { pid, parent };
}

describe('the embedded data directory lock', () => {
  test('a running owner keeps it: a second opener is refused, naming the owner', async () => {
    const dir = freshDir();
    const { pid } = await holder(dir);
    await assert.rejects(connect({ dataDir: dir }), (e: unknown) => e instanceof DataDirLockedError && e.detail.includes(`in use by process ${pid}`));
    process.kill(pid, 'SIGKILL');
  });

  test('an owner killed with SIGKILL and not yet reaped (a zombie) leaves a lock that a restart takes over', async (t) => {
    if (procState(process.pid) === null) {
      t.skip('needs /proc to see a zombie');
      return;
    }
    const dir = freshDir();
    const { pid } = await holder(dir);
    process.kill(pid, 'SIGKILL');
    // Its parent (sleep) never waits for it: it stays a zombie, and kill(pid, 0) still succeeds.
    const deadline = Date.now() + 20_000;
    while (procState(pid) !== 'Z') {
      if (Date.now() > deadline) assert.fail(`process ${pid} did not become a zombie (state ${procState(pid)})`);
      await sleep(10);
    }
    assert.doesNotThrow(() => process.kill(pid, 0), 'a zombie answers kill(pid, 0)');
    const h = await connect({ dataDir: dir });
    try {
      assert.equal(h.mode, 'embedded');
      await h.ping();
      assert.match(readFileSync(path.join(dir, 'assentmark.lock'), 'utf8'), new RegExp(`^${process.pid}( |$)`));
    } finally {
      await h.close();
    }
  });

  test('a lock naming a live pid that started at another time (a recycled pid) is taken over', async (t) => {
    if (procState(process.pid) === null) {
      t.skip('needs /proc to read process start times');
      return;
    }
    const dir = freshDir();
    // The parent of this process is alive, but it is not the process that wrote this lock.
    writeFileSync(path.join(dir, 'assentmark.lock'), `${process.ppid} 1`, { mode: 0o600 });
    const h = await connect({ dataDir: dir });
    await h.close();
  });
});
