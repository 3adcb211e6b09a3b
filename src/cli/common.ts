import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/config.js';
import { parsePublicKey } from '../crypto/ed25519.js';
import { openContext, type ServiceContext } from '../app/context.js';

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'CliError';
  }
}

/** Opens the service's database for one command, closes it afterwards. */
export async function withContext<T>(fn: (ctx: ServiceContext) => Promise<T>): Promise<T> {
  const ctx = await openContext(loadConfig(), { timers: false });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

/** Reads a trusted key: a PEM or raw key (file or literal), or a keys.json naming it by key id. */
export function readTrustedKeys(arg: string): Buffer[] {
  let text = arg;
  try {
    text = readFileSync(arg, 'utf8');
  } catch {
    // a literal key
  }
  if (text.trim().startsWith('{')) {
    let doc: { keys?: Array<{ public_key?: string }> };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch {
      throw new CliError('--public-key: the keys file is not JSON (save /.well-known/assentmark/keys.json as it is served)');
    }
    try {
      const keys = (Array.isArray(doc.keys) ? doc.keys : []).map((k) => parsePublicKey(String(k?.public_key ?? '')));
      if (keys.length === 0) throw new CliError('--public-key: the keys file lists no keys');
      return keys;
    } catch (e) {
      throw e instanceof CliError ? e : new CliError(`--public-key: a key in the keys file is malformed: ${(e as Error).message}`);
    }
  }
  try {
    return [parsePublicKey(text)];
  } catch (e) {
    throw new CliError(`--public-key: ${(e as Error).message}`);
  }
}
