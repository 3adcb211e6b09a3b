import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding package.json, found from this file whether run from src or dist. */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    // Builds outside the tree (e.g. a scratch outDir) fall back to the working directory.
    if (up === dir) return (root = process.cwd());
    dir = up;
  }
  root = dir;
  return dir;
}
