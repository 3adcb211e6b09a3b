// The counsel verification page, built as ONE self-contained index.html (script and styles
// inlined) so that it works when saved and opened offline. It runs the project's own verifier
// (src/dossier/verify.ts and what it imports); the two modules that use node:crypto are swapped
// for their browser twins, and any other node: import fails the build.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

const here = path.dirname(fileURLToPath(import.meta.url));
const crypto = path.resolve(here, '../../crypto');
const TWINS = new Map([
  [path.join(crypto, 'hash.ts'), path.join(crypto, 'hash.browser.ts')],
  [path.join(crypto, 'signature.ts'), path.join(crypto, 'signature.browser.ts')],
]);

function browserTwins() {
  return {
    name: 'assentmark-browser-twins',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (source.startsWith('node:')) throw new Error(`${importer ?? '?'} imports ${source}: the verification page must run without Node`);
      const r = await this.resolve(source, importer, { ...options, skipSelf: true });
      const twin = r && TWINS.get(r.id);
      return twin ? { id: twin } : r;
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [browserTwins(), viteSingleFile({ removeViteModuleLoader: true })],
  build: { target: 'es2022', reportCompressedSize: false, chunkSizeWarningLimit: 8000 },
});
