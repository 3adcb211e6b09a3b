// The system tools the test suite uses, each with the Debian package that provides it. One list:
// `scripts/preflight.mjs --tools` (run by `npm test`) and `.ci/run` install from it.
export const SYSTEM_TOOLS = [
  { command: 'pdfsig', package: 'poppler-utils' },
  { command: 'pdfdetach', package: 'poppler-utils' },
  { command: 'pdftotext', package: 'poppler-utils' },
  { command: 'pdftoppm', package: 'poppler-utils' },
  { command: 'pdffonts', package: 'poppler-utils' },
  { command: 'pdfinfo', package: 'poppler-utils' },
  { command: 'openssl', package: 'openssl' },
  { command: 'xxd', package: 'xxd' },
  { command: 'jq', package: 'jq' },
  { command: 'python3', package: 'python3' },
  // Browser tests drive Debian's Chromium through playwright-core.
  { path: '/usr/bin/chromium', package: 'chromium' },
  // The transparency-log interoperability test builds a Go program against golang.org/x/mod (sumdb/note, sumdb/tlog).
  { command: 'go', package: 'golang-go' },
  { path: '/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog', package: 'golang-golang-x-mod-dev' },
  // /metrics is checked with Prometheus's own promtool.
  { command: 'promtool', package: 'prometheus' },
];

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function isPresent(tool) {
  if (tool.path) return existsSync(tool.path);
  return spawnSync('sh', ['-c', `command -v ${tool.command}`], { stdio: 'ignore' }).status === 0;
}

export const missingTools = () => SYSTEM_TOOLS.filter((t) => !isPresent(t));

// `node scripts/system-tools.mjs` prints the missing packages on one line, for shell scripts.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log([...new Set(missingTools().map((t) => t.package))].join(' '));
}
