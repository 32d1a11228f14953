// Bundle the command line (dist/src/cli.js, compiled by tsc) with esbuild into one CommonJS
// file, dist/src/pinlab-bundle.cjs, and start it through dist/src/pinlab.cjs (package.json's
// bin) with a V8 code cache. Loading ~700 module files (chevrotain alone has 644) cost
// 0.5-0.9 s before every command; one file still costs its compilation (~30-40 ms for 420 KB),
// which the code cache saves: the loader hands V8 the cache made here at build time (and
// rewrites it, if it can, when V8 rejects it, e.g. after a Node upgrade). Node 20 has no
// module compile cache of its own (module.enableCompileCache is 22.1+), hence CommonJS and
// vm.Script.
// What only some commands need stays outside the bundle and is loaded on demand from the
// compiled tree beside it: `pinlab real` (./real/*), `pinlab serve` (./serve.js) and the worker
// threads of `check --jobs` (piscina, ./worker.js). The bundle sits in dist/src, beside cli.js,
// so every relative path (import.meta.url is the bundle's own URL) resolves as it does there.
// Run from anywhere: paths are relative to the repository root.

import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { buildSnapshot } from './snapshot.mjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'src');
const lazy = {
  name: 'lazy-commands',
  setup(b) {
    // a dynamic import of the compiled tree stays a dynamic import of the compiled tree
    b.onResolve({ filter: /^\.\/(real\/|serve\.js$|worker\.js$)/ }, (a) => (a.kind === 'dynamic-import' ? { path: a.path, external: true } : undefined));
    b.onResolve({ filter: /^piscina$/ }, (a) => ({ path: a.path, external: true }));
  },
};
// the previous build's startup snapshot goes first: should a step below fail, the header must not start a
// snapshot of another bundle (scripts/snapshot.mjs makes the new one last)
for (const f of ['pinlab.blob', 'pinlab.blob.node']) rmSync(join(out, f), { force: true });
await build({
  absWorkingDir: root,
  entryPoints: [join(out, 'cli.js')],
  outfile: join(out, 'pinlab-bundle.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  plugins: [lazy],
  minify: true, // less to parse at every start; errors carry no stack for users anyway
  keepNames: false, // esbuild's keepNames wraps every closure creation in an Object.defineProperty call: 12% of `check corpus`
  // __PINLAB_BUNDLE__: chevrotain skips its grammar validations here (src/lang/lexer.ts); the tests run them in the tree
  define: { 'import.meta.url': '__pinlabMetaUrl', __PINLAB_BUNDLE__: 'true' },
  // ('use strict' first: esbuild's own "use strict" comes after the banner, where it is no directive, and the
  // bundle ran in sloppy mode, unlike the ES modules it is made of)
  banner: { js: "'use strict';\nvar __pinlabMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  logLevel: 'warning',
});
// cli.js's #! line would be a syntax error inside the loader's function wrapper
const bundle = join(out, 'pinlab-bundle.cjs');
// and code compiled from a V8 cache cannot run import() (Node 20 loses the script's dynamic-import
// hook on deserialised functions): the loader imports the compiled tree for the bundle
let text = readFileSync(bundle, 'utf8').replace(/^#!.*/, '//');
const lazyImports = text.match(/\bimport\("(\.\/[^"]+|piscina)"\)/g) ?? [];
if (!lazyImports.length) throw new Error('build-cli: no lazy import() found in the bundle (did the plugin stop matching?)');
text = text.replace(/\bimport\("(\.\/[^"]+|piscina)"\)/g, 'globalThis.__pinlabImport("$1")');
writeFileSync(bundle, text);
// the code caches: made by runs of the loader (it writes the cache when there is none), one per set of node
// flags V8 takes a cache under: bin/pinlab.cjs's header's (bin/v8-flags.cjs) and none (`node bin/pinlab.cjs`, the tests)
for (const f of readdirSync(out)) if (/^pinlab-bundle\.cjs\..*v8cache$/.test(f)) rmSync(join(out, f), { force: true });
rmSync(join(out, 'pinlab.js'), { force: true }); // the ESM bundle of earlier builds
const { START_FLAGS, RUNTIME_FLAGS } = createRequire(import.meta.url)(join(root, 'bin', 'v8-flags.cjs'));
for (const flags of [START_FLAGS, []]) execFileSync(process.execPath, [...flags, join(root, 'bin', 'pinlab.cjs'), '--help'], { stdio: 'ignore' });

// the startup snapshot bin/pinlab.cjs's header starts node from (scripts/snapshot.mjs); without one (a node
// that cannot build it) the command starts from the code cache, as the header finds no stamp
try {
  buildSnapshot(out, text, START_FLAGS, RUNTIME_FLAGS);
} catch (e) {
  process.stderr.write(`build-cli: no startup snapshot (pinlab starts from its code cache): ${e.message.split('\n')[0]}\n`);
}
