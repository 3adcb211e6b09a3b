// Secret files: created 0600 with O_EXCL (never overwritten), refused when others can read them.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../problems/app-error.js';

export class KeyFileError extends AppError<'key_file_invalid'> {
  constructor(detail: string) {
    super('key_file_invalid', detail);
  }
}

export function writeSecretFile(file: string, contents: string | Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError(`${file} already exists; refusing to overwrite a key`);
    throw e;
  }
  try {
    writeSync(fd, typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents);
  } finally {
    closeSync(fd);
  }
}

export function readSecretFile(file: string, what: string): Buffer {
  if (!existsSync(file)) throw new KeyFileError(`${what} file ${file} does not exist`);
  const st = statSync(file);
  if ((st.mode & 0o077) !== 0) {
    throw new KeyFileError(`${what} file ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  return readFileSync(file);
}

/** Loads a secret from `file`, or in embedded mode creates it on first start with `create`. */
export function loadOrCreate(file: string, what: string, create: (() => string | Buffer) | null): Buffer {
  if (!existsSync(file)) {
    if (!create) throw new KeyFileError(`${what} file ${file} does not exist`);
    try {
      writeSecretFile(file, create());
    } catch (e) {
      if (!(e instanceof KeyFileError)) throw e; // lost a race with another process: read theirs
    }
  }
  return readSecretFile(file, what);
}
