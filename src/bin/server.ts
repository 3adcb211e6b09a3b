// `npm start`: the service process. Owns listen, the database and graceful shutdown.
import { start } from '../server/start.js';

start().catch((err: unknown) => {
  process.stderr.write(`assentmark: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
