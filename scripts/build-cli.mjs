// Bundle the command line (dist/src/cli.js, compiled by tsc) with esbuild into one file,
// dist/src/pinlab.js, the `pinlab` of package.json's bin. Loading ~700 module files
// (chevrotain alone has 644) cost 0.5-0.9 s before every command; one file loads in a
// fraction of that. What only some commands need stays outside the bundle and is loaded
// on demand from the compiled tree beside it: `pinlab real` (./real/*), `pinlab serve`
// (./serve.js) and the worker threads of `check --jobs` (piscina, ./worker.js).
// The bundle sits in dist/src, beside cli.js, so every relative path resolves as it does there.
// Run from anywhere: paths are relative to the repository root.

import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lazy = {
  name: 'lazy-commands',
  setup(b) {
    // a dynamic import of the compiled tree stays a dynamic import of the compiled tree
    b.onResolve({ filter: /^\.\/(real\/|serve\.js$|worker\.js$)/ }, (a) => (a.kind === 'dynamic-import' ? { path: a.path, external: true } : undefined));
    b.onResolve({ filter: /^piscina$/ }, (a) => ({ path: a.path, external: true }));
  },
};
await build({
  absWorkingDir: root,
  entryPoints: [join(root, 'dist', 'src', 'cli.js')],
  outfile: join(root, 'dist', 'src', 'pinlab.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true, // less to parse at every start; errors carry no stack for users anyway
  keepNames: true,
  plugins: [lazy],
  // commander is CommonJS and require()s node's modules: give the bundle a require
  banner: { js: "import { createRequire as __pinlabRequire } from 'node:module'; const require = __pinlabRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
