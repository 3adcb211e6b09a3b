// A service process for test/ledger-processes.test.ts: opens the real service context from the
// environment (DATABASE_URL, ASSENTMARK_SIGNING_KEY_FILE, ASSENTMARK_ORIGIN, ...), appends K events
// with 32 concurrent callers, and prints one JSON line: {"acked":N,"seqs":[...]}.
//   node dist/test/helpers/append-worker.js K [CONCURRENCY]
import { loadConfig } from '../../src/config/config.js';
import { openContext } from '../../src/app/context.js';
import { eulaEvent } from './ledger-fixtures.js';

const total = Number(process.argv[2] ?? process.env.ASSENTMARK_WORKER_APPENDS ?? 500);
const concurrency = Number(process.argv[3] ?? 32);
if (!Number.isSafeInteger(total) || total < 0 || !Number.isSafeInteger(concurrency) || concurrency < 1) {
  process.stderr.write('usage: append-worker K [CONCURRENCY]\n');
  process.exit(2);
}

const ctx = await openContext(loadConfig(), { timers: false });
let next = 0;
let acked = 0;
const seqs: number[] = [];
try {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const [p] = await ctx.ledger.append({ events: [eulaEvent(process.pid * 100_000 + i)] });
        if (p?.fresh) {
          acked++;
          seqs.push(p.seq);
        }
      }
    }),
  );
} finally {
  await ctx.close();
}
process.stdout.write(JSON.stringify({ acked, seqs }) + '\n');
