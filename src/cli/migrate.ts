import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { connect } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('run database migrations to the latest version (as the database owner)')
    .action(async () => {
      const config = loadConfig();
      const h = await connect({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
      try {
        const r = await migrateToLatest(h.db);
        const ran = (r.results ?? []).filter((x) => x.status === 'Success').map((x) => x.migrationName);
        process.stdout.write(ran.length ? `applied: ${ran.join(', ')}\n` : 'already up to date\n');
      } finally {
        await h.close();
      }
    });
}
