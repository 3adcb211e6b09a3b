// The import rules of docs/architecture.md (.dependency-cruiser.cjs), checked with
// dependency-cruiser over the TypeScript sources, type-only imports included; plus no cycles
// between folders. A second run over a fixture proves the rules do fail when broken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { packageRoot } from '../src/util/paths.js';

const root = packageRoot();
const config = createRequire(import.meta.url)(path.join(root, '.dependency-cruiser.cjs')) as IConfiguration;

async function run(cwd: string, dirs: string[]): Promise<ICruiseResult> {
  const prev = process.cwd();
  process.chdir(cwd);
  try {
    const r = await cruise(dirs, { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true, tsConfig: undefined } as never);
    return r.output as ICruiseResult;
  } finally {
    process.chdir(prev);
  }
}

function violations(r: ICruiseResult): string[] {
  return r.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

test('src/ keeps the import rules of docs/architecture.md', async () => {
  const r = await run(root, ['src']);
  assert.ok(r.modules.length > 100, `cruised ${r.modules.length} modules`);
  // The resolver must have followed the .js specifiers to the .ts files, or nothing was checked.
  const http = r.modules.find((m) => m.source === 'src/http/route.ts');
  assert.ok(http && http.dependencies.some((d) => d.resolved === 'src/validation/validate.ts'), 'imports resolve to .ts sources');
  assert.ok(r.modules.some((m) => m.dependencies.some((d) => d.resolved.includes('node_modules/kysely/'))), 'third-party imports resolve');
  assert.deepEqual(violations(r), []);
});

test('no import cycles between folders of src/', async () => {
  const r = await run(root, ['src']);
  const folder = (p: string) => (p.startsWith('src/') ? p.split('/').slice(0, 2).join('/') : null);
  const edges = new Map<string, Set<string>>();
  for (const m of r.modules) {
    const from = folder(m.source);
    if (!from) continue;
    for (const d of m.dependencies) {
      const to = folder(d.resolved);
      if (to && to !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
    }
  }
  // Depth-first search for a back edge; report the cycle it closes.
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m].join(' -> '));
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of edges.keys()) if (!state.has(n)) visit(n);
  assert.deepEqual(cycles, []);
});

test('the rules fail on code that breaks them', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-arch-'));
  try {
    const file = (p: string, text: string) => {
      mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      writeFileSync(path.join(dir, p), text);
    };
    file('src/http/problem.ts', "export const x = 1;\n");
    file('src/assent/errors.ts', "import { x } from '../http/problem.js';\nexport const y = x;\n");
    file('src/cli/dossier.ts', "import { z } from '../server/build-app.js';\nexport const w = z;\n");
    file('src/server/build-app.ts', "export const z = 2;\n");
    file('src/eula/service.ts', "import type { Kysely } from 'kysely';\nexport type K = Kysely<never>;\n");
    file('src/a/one.ts', "import { b } from '../b/two.js';\nexport const a = b;\n");
    file('src/b/two.ts', "import { a } from '../a/one.js';\nexport const b = 1; export const c = a;\n");
    const r = await run(dir, ['src']);
    const names = new Set(r.summary.violations.map((v) => v.rule.name));
    for (const rule of ['domain-not-above', 'cli-not-server', 'no-circular']) assert.ok(names.has(rule), `${rule} reported: ${violations(r).join('; ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
