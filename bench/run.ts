// `npm run bench`: every benchmark, each beside its baseline in the same process. Needs a
// PostgreSQL server (DATABASE_URL, else postgres://root@127.0.0.1:5432/test); each benchmark
// makes its own database and drops it. `npm run bench -- ledger detection` runs a subset.
import os from 'node:os';

const suites: Record<string, () => Promise<void>> = {
  ledger: async () => (await import('./ledger.js')).benchLedger(),
  verify: async () => (await import('./verify.js')).benchVerify(),
  acceptances: async () => (await import('./acceptances.js')).benchAcceptances(),
  detection: async () => (await import('./detection.js')).benchDetection(),
  dossier: async () => (await import('./dossier.js')).benchDossier(),
  'render-interference': async () => (await import('./render-interference.js')).benchRenderInterference(),
  scale: async () => (await import('./scale.js')).benchScale(),
  processes: async () => (await import('./processes.js')).benchProcesses(),
  'llm-watermark': async () => (await import('./llm-watermark.js')).benchLlmWatermark(),
  'crypto-twins': async () => (await import('./crypto-twins.js')).benchCryptoTwins(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(suites);
console.log(`# machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
for (const n of names) {
  const run = suites[n];
  if (!run) {
    console.error(`unknown benchmark ${n}; choose from ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
  console.log(`# ${n}`);
  await run();
}
