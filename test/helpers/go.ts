// Go's transparency-log packages (golang.org/x/mod/sumdb/note and sumdb/tlog, from Debian) as an
// independent verifier: test/go/notecheck, built once per test process in GOPATH mode.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/util/paths.js';

export const INSTALL = 'apt-get update && apt-get install -y golang-go golang-golang-x-mod-dev';
const GOPATH = '/usr/share/gocode';
const SOURCE_DIR = path.join(packageRoot(), 'test', 'go', 'notecheck');
const BUILD_TIMEOUT_MS = 240_000;
const RUN_TIMEOUT_MS = 30_000;

let workDir = '';
let built: { binary: string } | { error: Error } | undefined;

/**
 * The notecheck binary, built on first use and reused (one compile per run); if Go or
 * golang.org/x/mod is missing, every test that needs it fails with the apt-get command.
 */
export function notecheck(): string {
  if (!built) {
    try {
      built = { binary: build() };
    } catch (e) {
      built = { error: e as Error };
    }
  }
  if ('error' in built) throw built.error;
  return built.binary;
}

function build(): string {
  const v = spawnSync('go', ['version'], { encoding: 'utf8', timeout: 60_000 });
  if (v.error && (v.error as NodeJS.ErrnoException).code === 'ENOENT') assert.fail(`Go is not installed: ${INSTALL}`);
  assert.equal(v.status, 0, `go version failed: ${v.stderr}${v.error ?? ''}`);
  for (const pkg of ['note', 'tlog']) {
    if (!existsSync(path.join(GOPATH, 'src', 'golang.org', 'x', 'mod', 'sumdb', pkg))) assert.fail(`golang.org/x/mod/sumdb/${pkg} is not in ${GOPATH}: ${INSTALL}`);
  }
  workDir = mkdtempSync(path.join(tmpdir(), 'assentmark-go-'));
  const binary = path.join(workDir, 'notecheck');
  const b = spawnSync('go', ['build', '-o', binary, '.'], { cwd: SOURCE_DIR, env: goEnv(path.join(workDir, 'gocache')), encoding: 'utf8', timeout: BUILD_TIMEOUT_MS });
  assert.equal(b.status, 0, `go build of test/go/notecheck failed (${v.stdout.trim()}; ${INSTALL}):\n${b.stdout}${b.stderr}${b.error ?? ''}`);
  return binary;
}

export interface Verdict {
  status: number;
  verdict: Record<string, unknown> & { ok: boolean; error?: string };
}

function goEnv(cache: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GO111MODULE: 'off', // GOPATH mode: imports come from $GOPATH/src, no go.mod, no module proxy
    GOPATH,
    GOCACHE: cache,
    GOFLAGS: '',
    GOENV: 'off',
    GOTOOLCHAIN: 'local',
    GOPROXY: 'off',
    CGO_ENABLED: '0',
  };
}

/** Runs a sub-command with `request` as JSON on stdin; exit 0 accepted, 1 rejected, anything else fails the test. */
export function go(sub: string, request: unknown): Verdict {
  const r = spawnSync(notecheck(), [sub], { input: JSON.stringify(request), encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  if (r.error) throw r.error;
  const lines = r.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one verdict line from notecheck ${sub}: ${r.stdout}${r.stderr}`);
  const verdict = JSON.parse(lines[0]!) as Verdict['verdict'];
  assert.ok(r.status === 0 || r.status === 1, `notecheck ${sub} could not use the request (status ${r.status}): ${lines[0]}`);
  assert.equal(verdict.ok, r.status === 0, lines[0]);
  return { status: r.status, verdict };
}

export function goAccepts(sub: string, request: unknown, msg = ''): Verdict['verdict'] {
  const r = go(sub, request);
  assert.equal(r.status, 0, `Go rejected (${msg}): ${r.verdict.error}`);
  return r.verdict;
}

export function goRejects(sub: string, request: unknown, msg = ''): string {
  const r = go(sub, request);
  assert.equal(r.status, 1, `Go accepted (${msg}): ${JSON.stringify(r.verdict)}`);
  return r.verdict.error ?? '';
}

/** Removes the build directory (call from an after hook). */
export function cleanupGo(): void {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = '';
  built = undefined;
}
