// Build the front end of `pinlab serve`: bundle web/src/main.tsx (preact, JSX)
// with esbuild into dist/web/app.js and copy the page and its stylesheet.
// Run from anywhere: paths are relative to the repository root.

import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
mkdirSync(out, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: [join(root, 'web', 'src', 'main.tsx')],
  outfile: join(out, 'app.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: process.argv.includes('--sourcemap'),
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web', f), join(out, f));

const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + (o.bytes ?? 0), 0);
if (process.argv.includes('-v')) console.log(`build-web: dist/web (${Math.round(bytes / 1024)} KiB)`);
