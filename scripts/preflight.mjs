#!/usr/bin/env node
// Runs before `npm start`, `npm test`, `npm run assentmark` and `npm run bench`, in plain Node (no dependency of its
// own), so each works on a fresh clone with nothing run before it:
//   deps   installs dependencies when node_modules is missing or older than package-lock.json (npm ci)
//   build  compiles into a clean dist/ when any source is newer than the last build (tsc, then the web pages with Vite)
//   tools  (npm test only) finds the system tools the tests use; installs the missing ones with apt-get when it can
//          (Debian, as root), else stops at once naming the exact command
// Usage: node scripts/preflight.mjs [--tools]
// Everything it prints goes to stderr, so `npm run assentmark -- ... --json` keeps a clean stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingTools } from './system-tools.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => process.stderr.write(`preflight: ${msg}\n`);

function fail(msg) {
  say(msg);
  process.exit(1);
}

function sh(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
  if (r.error) fail(`${what} could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${what} failed (${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal})`);
}

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/** The newest modification time of any file under the given paths. */
function newest(paths) {
  let max = 0;
  const walk = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
    else max = Math.max(max, st.mtimeMs);
  };
  for (const p of paths) walk(path.join(root, p));
  return max;
}

function deps() {
  // npm writes node_modules/.package-lock.json on every install: its age says when the tree was installed.
  const installed = mtime(path.join(root, 'node_modules', '.package-lock.json'));
  const lock = mtime(path.join(root, 'package-lock.json'));
  if (installed && installed >= lock) return;
  say(installed ? 'package-lock.json changed since the last install: npm ci' : 'no node_modules yet: npm ci');
  sh(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['ci', '--no-audit', '--no-fund'], 'installing dependencies');
}

const BUILD_INPUTS = ['src', 'test', 'bench', 'migrations', 'tsconfig.json', 'package-lock.json', 'scripts/build-web.mjs'];
const STAMP = path.join(root, 'dist', '.build-stamp');

function build() {
  if (mtime(STAMP) > newest(BUILD_INPUTS)) return;
  // A clean dist/: a deleted or renamed source must not leave a stale module (or test file) behind.
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  say('building (tsc)');
  sh(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], 'the build');
  // The browser pages (src/web/<page>/, Vite) into dist/web/<page>/.
  say('building the web pages (vite)');
  sh(process.execPath, [path.join(root, 'scripts', 'build-web.mjs')], 'the web build');
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}

function tools() {
  const missing = missingTools();
  if (!missing.length) return;
  const pkgs = [...new Set(missing.map((t) => t.package))];
  const names = missing.map((t) => t.command ?? t.path).join(', ');
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
  const debian = existsSync('/etc/debian_version');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!debian || !isRoot) {
    fail(`the tests need ${names}, which ${missing.length === 1 ? 'is' : 'are'} not installed. Install with:\n  ${debian ? 'sudo ' : ''}${cmd}${debian ? '' : '\n(the package names are Debian\'s; use your system\'s equivalents)'}`);
  }
  say(`installing ${pkgs.join(' ')} (needed by the tests: ${names})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...pkgs]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', process.stderr], env });
    if (r.status !== 0) fail(`apt-get ${args[0]} failed; install by hand:\n  ${cmd}`);
  }
  const still = missingTools();
  if (still.length) fail(`still missing after apt-get: ${still.map((t) => t.command ?? t.path).join(', ')}`);
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--tools');
if (unknown.length) fail(`unknown option ${unknown[0]} (usage: node scripts/preflight.mjs [--tools])`);
if (args.includes('--tools')) tools();
deps();
build();
