// Starting the service on a port that is taken fails at once, before anything is written: no data
// directory, no keys, no admin token; one line naming the port, and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/util/paths.js';
import { runAsync } from './helpers/tools.js';

const SERVER_MAIN = path.join(packageRoot(), 'dist', 'src', 'bin', 'server.js');

test('a taken port: exit non-zero with one line naming it, and no data directory or admin key is created', async (t) => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const port = (taken.address() as net.AddressInfo).port;
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-port-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = path.join(dir, 'data');

  // Embedded mode: the mode that would create a data directory, keys and the first admin token.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', ASSENTMARK_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  const r = await runAsync(process.execPath, [SERVER_MAIN], { env, timeout: 60_000 });
  assert.notEqual(r.status, 0, r.out);
  assert.notEqual(r.status, null, `killed, not exited: ${r.out}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`\\b127\\.0\\.0\\.1:${port}\\b.*in use`));
  assert.equal(existsSync(dataDir), false, 'no data directory');
  assert.equal(existsSync(path.join(dataDir, 'admin-token')), false, 'no admin token');
});
