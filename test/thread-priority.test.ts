// Dossier render workers run at a lower CPU priority than the request thread (Linux: a nice value
// per thread), so rendering beside requests on few cores delays the requests less.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { RenderPool } from '../src/dossier/render-pool.js';
import { RENDER_NICE_INCREMENT } from '../src/dossier/render-worker.js';
import { generateSigningIdentity } from '../src/pdf/certificate.js';
import { lowerThreadPriority } from '../src/util/thread-priority.js';

const LINUX = process.platform === 'linux' ? false : 'per-thread priorities are a Linux feature';

/** The nice value of each thread of this process, from /proc (field 19 of stat). */
function threadNice(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

test('lowerThreadPriority lowers the calling worker thread only, never the main thread', { skip: LINUX }, async () => {
  const main = getPriority();
  assert.equal(lowerThreadPriority(5), null, 'the main thread is the process: refused');
  assert.equal(getPriority(), main);
  const moduleUrl = new URL('../src/util/thread-priority.js', import.meta.url).href;
  const w = new Worker(`import(${JSON.stringify(moduleUrl)}).then((m) => { require('node:worker_threads').parentPort.postMessage(m.lowerThreadPriority(5)); setTimeout(() => {}, 60000); });`, { eval: true });
  try {
    const r = await new Promise<{ tid: number; nice: number } | null>((resolve, reject) => w.once('message', resolve).once('error', reject));
    assert.ok(r, 'a worker thread can be lowered');
    assert.notEqual(r.tid, process.pid);
    assert.equal(r.nice, Math.min(19, main + 5));
    const nice = threadNice();
    assert.equal(nice.get(r.tid), Math.min(19, main + 5), 'the kernel reports the worker thread lowered');
    assert.equal(nice.get(process.pid), main, 'the main thread keeps its priority');
    assert.equal(getPriority(), main);
  } finally {
    await w.terminate();
  }
});

test('a dossier render worker runs lowered by RENDER_NICE_INCREMENT', { skip: LINUX }, async () => {
  const main = getPriority();
  const want = Math.min(19, main + RENDER_NICE_INCREMENT);
  const before = new Set([...threadNice()].filter(([, n]) => n === want).map(([tid]) => tid));
  const pool = new RenderPool(await generateSigningIdentity({ organization: 'priority test' }), 1);
  try {
    // The pool keeps one worker warm from the start: its thread appears lowered.
    let lowered: number[] = [];
    for (let deadline = Date.now() + 30_000; lowered.length === 0; await sleep(50)) {
      if (Date.now() > deadline) assert.fail(`no thread at nice ${want} after the render pool started: ${JSON.stringify([...threadNice()])}`);
      lowered = [...threadNice()].filter(([tid, n]) => n === want && !before.has(tid)).map(([tid]) => tid);
    }
    assert.equal(threadNice().get(process.pid), main);
  } finally {
    await pool.close();
  }
});
