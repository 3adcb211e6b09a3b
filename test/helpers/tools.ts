// Small tools the tests share: running a command and capturing what it printed (run, runAsync;
// requireTool and hasTool to check for one up front), reading a binary supertest response (binary), checking pdfsig's
// verdict (pdfsigValid) and flipping bits of a byte (flip).
//
//   const r = run('pdfsig', ['dossier.pdf'], { cwd: dir });
//   assert.ok(pdfsigValid(r.out), r.out);
//   const pdf = (await t.get(url, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
//   writeFileSync(bad, flip(Buffer.from(pdf), 1234));
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';

/** The Debian package that provides each external tool the tests use (for the "not installed" message). */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  pdfsig: 'poppler-utils',
  pdfdetach: 'poppler-utils',
  pdftotext: 'poppler-utils',
  pdffonts: 'poppler-utils',
  pdfinfo: 'poppler-utils',
  openssl: 'openssl',
  xxd: 'xxd',
  jq: 'jq',
  promtool: 'prometheus',
  bash: 'bash',
  python3: 'python3',
  sha256sum: 'coreutils',
  node: 'nodejs',
};

export interface RunResult {
  /** Exit status (null when the process was killed by a signal or the timeout). */
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout followed by stderr, for assertion messages and searching either. */
  out: string;
}

export interface RunOptions {
  cwd?: string;
  /** The whole environment of the command (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin. */
  input?: string | Buffer;
  /** Milliseconds before the command is killed (default 120 s). */
  timeout?: number;
}

/** Output larger than this fails the command (pdftotext of a large dossier prints megabytes). */
const MAX_BUFFER = 256 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 120_000;

function notInstalled(cmd: string): never {
  const pkg = TOOL_PACKAGES[cmd];
  assert.fail(`required tool "${cmd}" is not installed${pkg ? ` (apt-get install -y ${pkg})` : ''}`);
}

/**
 * Runs a command to completion and captures its output as UTF-8. A command that is not installed
 * fails the test (naming the package to install): the tools the tests need are required, not
 * optional. Any other spawn error is thrown.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: MAX_BUFFER,
    timeout: opts.timeout ?? DEFAULT_TIMEOUT_MS,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') notInstalled(cmd);
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: r.stdout + r.stderr };
}

/** Fails the test unless a required tool is installed and answers `cmd ...args` with exit 0. */
export function requireTool(cmd: string, args: readonly string[] = ['--version']): void {
  const r = run(cmd, args);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed: ${r.out}`);
}

/** Whether an optional tool is installed and answers `cmd ...args` with exit 0 (for tests that skip without it). */
export function hasTool(cmd: string, args: readonly string[] = ['--version']): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore', timeout: DEFAULT_TIMEOUT_MS }).status === 0;
}

/**
 * Like run(), but without blocking the event loop: for commands that run concurrently with each
 * other or with the test's own work.
 */
export function runAsync(cmd: string, args: readonly string[], opts: Omit<RunOptions, 'input'> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeout ?? DEFAULT_TIMEOUT_MS });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        try {
          notInstalled(cmd);
        } catch (failure) {
          reject(failure as Error);
          return;
        }
      }
      reject(e);
    });
    child.on('close', (status) => {
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      resolve({ status, stdout: out, stderr: err, out: out + err });
    });
  });
}

/**
 * A supertest parser that keeps the body as raw bytes (PDFs, signatures):
 * `request(app).get(url).buffer(true).parse(binary as never)`, then `res.body` is a Buffer.
 */
export function binary(res: NodeJS.ReadableStream, cb: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (d: Buffer) => chunks.push(d));
  res.on('error', (e: Error) => cb(e, Buffer.alloc(0)));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
}

/** Whether pdfsig's output says the (first) signature is valid. */
export function pdfsigValid(out: string): boolean {
  return out.includes('Signature Validation: Signature is Valid.');
}

/**
 * Flips the bits `mask` (default the lowest bit) of byte `offset` of `buf`, in place, and returns
 * `buf`. For a flipped copy, pass a copy: `flip(Buffer.from(pdf), offset)`.
 */
export function flip<B extends Uint8Array>(buf: B, offset: number, mask = 0x01): B {
  if (!Number.isInteger(offset) || offset < 0 || offset >= buf.length) throw new RangeError(`flip: offset ${offset} is outside the ${buf.length} bytes`);
  if (!Number.isInteger(mask) || mask < 1 || mask > 0xff) throw new RangeError(`flip: mask ${mask} is not a non-zero byte`);
  buf[offset] = buf[offset]! ^ mask;
  return buf;
}
