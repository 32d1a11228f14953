// Build the native runner of `pinlab real` with the machine's C compiler
// (npm's prepare step). A machine without one still gets the rest of pinlab:
// `pinlab real` then reports every scenario as skipped, with the reason.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const src = 'native/pinlab-real.c';
const out = 'native/pinlab-real';
if (!existsSync(src)) process.exit(0);
const cc = process.env.CC || 'cc';
try {
  execFileSync(cc, ['-O2', '-Wall', '-o', out, src], { stdio: 'inherit' });
} catch (e) {
  console.warn(`pinlab: could not build ${out} with ${cc} (${e.message}); \`pinlab real\` will skip every scenario`);
}
