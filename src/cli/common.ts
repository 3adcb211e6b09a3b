import { loadConfig } from '../config/config.js';
import { readTrustedKeys as loadTrustedKeys, TrustedKeyError } from '../keys/public-keys.js';
import type { ServiceContext } from '../app/context.js';

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'CliError';
  }
}

/** Opens the service's database for one command, closes it afterwards. */
export async function withContext<T>(fn: (ctx: ServiceContext) => Promise<T>): Promise<T> {
  // Loaded here, not at the top: commands that never open the service (receipt verify) skip its start-up cost.
  const { openContext } = await import('../app/context.js');
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

/** The keys a `--public-key` option names (src/keys/public-keys.ts), or a usage error. */
export function readTrustedKeys(arg: string): Buffer[] {
  try {
    return loadTrustedKeys(arg);
  } catch (e) {
    if (e instanceof TrustedKeyError) throw new CliError(`--public-key: ${e.message}`);
    throw e;
  }
}
