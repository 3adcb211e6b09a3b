import type { Command } from 'commander';
import { ApiKeyStore, ROLES } from '../auth/api-keys.js';
import type { Role } from '../db/schema.js';
import { CliError, printJson, withContext } from './common.js';

export function registerApiKeyCommands(program: Command): void {
  const apikey = program.command('apikey').description('API keys and their roles');
  apikey
    .command('create')
    .description('create an API key and print its token (shown once)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .requiredOption('--name <name>', 'who or what uses the key')
    .option('--json', 'machine-readable output')
    .action(async (opts: { role: string; name: string; json?: boolean }) => {
      if (!ROLES.includes(opts.role as Role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
      if (!opts.name.trim() || opts.name.length > 100) throw new CliError('--name must be 1-100 characters');
      await withContext(async (ctx) => {
        const { token, info } = await new ApiKeyStore(ctx.repos.apiKeys).create(opts.role as Role, opts.name);
        if (opts.json) printJson({ id: info.id, role: info.role, name: info.name, token });
        else process.stdout.write(`${token}\n`);
        if (!opts.json) process.stderr.write(`created ${info.role} key ${info.id} (${info.name}); the token above is shown only once\n`);
      });
    });
  apikey
    .command('list')
    .description('list API keys (never their tokens)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const keys = await new ApiKeyStore(ctx.repos.apiKeys).list();
        if (opts.json) printJson(keys);
        else for (const k of keys) process.stdout.write(`${k.id}  ${k.role.padEnd(12)} ${k.revokedAt ? 'revoked' : 'active '}  ${k.tokenHint}  ${k.name}\n`);
      });
    });
  apikey
    .command('revoke')
    .description('revoke an API key by id')
    .argument('<id>', 'key id (from `apikey list`)')
    .action(async (id: string) => {
      if (!/^[0-9a-f-]{36}$/i.test(id)) throw new CliError('the key id is a UUID (see `assentmark apikey list`)');
      await withContext(async (ctx) => {
        if (!(await new ApiKeyStore(ctx.repos.apiKeys).revoke(id))) throw new CliError(`no active key ${id}`, 1);
        process.stdout.write(`revoked ${id}\n`);
      });
    });
}
