// Explorer benchmark (run on demand: `npm run bench`; never part of the tests).
// Prints states/s, transitions/s, peak RSS and the reduction ratio on:
//   1. every concurrent scenario of the corpora (seeds and repo corpus)
//   2. a synthetic family whose space grows: N threads x M steps, each step a
//      COW write fault in a forked process (so allocation order varies).

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { Prepared } from '../src/interp/interpreter.js';
import { explore } from '../src/explore/explorer.js';
import { kernelsOf, parseProfileText } from '../src/profiles/profiles.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const maxStates = Number(process.env.PINLAB_BENCH_MAX_STATES ?? 2_000_000);

function prep(text: string, file: string): Prepared {
  const sc = parseScenario(text, file);
  return new Prepared(sc, checkScenario(sc));
}

function measure(pr: Prepared, kernel: string, reduce: boolean) {
  const before = process.memoryUsage().rss;
  const x = explore(pr, parseProfileText(kernel), { reduce, maxStates });
  const rss = Math.max(before, process.resourceUsage().maxRSS * 1024);
  return { states: x.states, transitions: x.transitions, ms: x.ms, complete: x.complete, rss };
}

function row(cols: (string | number)[], w: number[]): string {
  return cols.map((c, i) => String(c).padStart(w[i]!)).join('  ');
}

/** N threads of process B (forked from A), thread i writing pages i*M .. i*M+M-1. */
function synthetic(n: number, m: number): string {
  const lines = [`scenario synthetic-${n}x${m}`, 'kernels 6.18', `A: x = mmap(anon, ${n * m}, PROT_READ|PROT_WRITE, MAP_PRIVATE)`];
  for (let i = 0; i < n * m; i++) lines.push(`A: x[${i}] = 'a'`);
  lines.push('A: B = fork()');
  lines.push('par {');
  for (let t = 0; t < n; t++) {
    if (t > 0) lines.push('} {');
    for (let j = 0; j < m; j++) lines.push(`  ${t % 2 ? 'B' : 'A'}: x[${t * m + j}] = '${String.fromCharCode(98 + t)}'`);
  }
  lines.push('}');
  lines.push(`A: r = x[0]`);
  lines.push(`expect r == 'b'`);
  return lines.join('\n') + '\n';
}

const W = [44, 9, 10, 9, 11, 12, 9, 8, 12];
console.log(`pinlab explorer benchmark — node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
console.log();
console.log('1. concurrent corpus scenarios (reduction on)');
console.log(row(['scenario@kernel', 'states', 'transit.', 'ms', 'states/s', 'trans/s', 'no-red.', 'ratio'], W));
let totS = 0;
let totT = 0;
let totMs = 0;
for (const dir of [join(root, '../shared/corpus/seeds'), join(root, 'corpus')]) {
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.pin')).sort()) {
    const file = join(dir, name);
    const pr = prep(readFileSync(file, 'utf8'), file);
    if (!pr.concurrent) continue;
    const ks = kernelsOf(pr.sc.kernels);
    const kernel = ks[ks.length - 1]!.name;
    const on = measure(pr, kernel, true);
    const off = measure(pr, kernel, false);
    totS += on.states;
    totT += on.transitions;
    totMs += on.ms;
    console.log(
      row(
        [`${pr.sc.name}@${kernel}`.slice(0, 44), on.states, on.transitions, on.ms.toFixed(1), ((on.states / on.ms) * 1000).toFixed(0), ((on.transitions / on.ms) * 1000).toFixed(0), off.states, (off.states / on.states).toFixed(2)],
        W,
      ),
    );
  }
}
console.log(row(['total', totS, totT, totMs.toFixed(1), ((totS / totMs) * 1000).toFixed(0), ((totT / totMs) * 1000).toFixed(0), '', ''], W));
console.log();
console.log('2. synthetic family: N threads x M COW writes after fork (kernel 6.18)');
console.log(row(['N x M', 'states', 'transit.', 'ms', 'states/s', 'trans/s', 'no-red.', 'ratio', 'no-red. st/s'], W));
const family = (process.env.PINLAB_BENCH_FAMILY ?? '2x2,2x3,2x4,3x2,3x3,2x6,4x2,3x4').split(',');
for (const nm of family) {
  const [n, m] = nm.split('x').map(Number) as [number, number];
  const pr = prep(synthetic(n, m), `synthetic-${nm}`);
  const on = measure(pr, '6.18', true);
  const off = measure(pr, '6.18', false);
  console.log(
    row(
      [
        `${nm}${on.complete && off.complete ? '' : ' (bound hit)'}`,
        on.states,
        on.transitions,
        on.ms.toFixed(1),
        ((on.states / on.ms) * 1000).toFixed(0),
        ((on.transitions / on.ms) * 1000).toFixed(0),
        off.states,
        (off.states / on.states).toFixed(2),
        ((off.states / off.ms) * 1000).toFixed(0),
      ],
      W,
    ),
  );
}
console.log();
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
