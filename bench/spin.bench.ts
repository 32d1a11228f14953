// pinlab beside SPIN (issue 14 item 1; run on demand: `npm run bench:spin`, never part of the tests).
//
// For each family of bench/families.ts and each size, in one process tree and one size at a time:
//   SPIN:   spin -a -D<size> bench/spin/<family>.pml; gcc -O2 -DSAFETY -DNOCLAIM -o pan pan.c; ./pan -m1000000 -c0
//   pinlab: the generated scenario explored by pinlab's explorer in a child node process
//           (`node dist/bench/spin.bench.js --pinlab-child FILE KERNEL MAX_STATES`, the in-process API of src/explore)
// and prints states, transitions, seconds, transitions/s and bytes per stored state for both, with the ratios
// pinlab/SPIN. Everything runs in a temporary directory that is removed afterwards. spin is installed from
// Debian's packages (apt-get) when missing and a C compiler is there.
//
//   node dist/bench/spin.bench.js [--family NAME|all] [--sizes 2x2,3x2] [--json] [--max-states N] [--repeat N]
//                                 [--json-out FILE] [--pinlab-timeout SECONDS] [--no-pinlab] [--no-spin] [--keep]
//
// --repeat N runs each size N times per tool, alternating the tools (SPIN first in odd rounds, pinlab first in
// even ones), and reports for each tool its run of median search time, with every run's time beside it: this
// machine's speed moves by half within minutes (a bare `node -e 0` took 73 ms and, ten minutes later, 150 ms),
// and one run of each, one after the other, can put the two tools on different sides of such a change.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { Prepared } from '../src/interp/interpreter.js';
import { explore } from '../src/explore/explorer.js';
import { parseProfileText } from '../src/profiles/profiles.js';
import { FAMILIES, familyByName, type Family } from './families.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const self = fileURLToPath(import.meta.url);

/** The SPIN pipeline's fixed flags (the issue's baseline, plus -c0: count every error, do not stop at the first). */
export const SPIN_FLAGS = {
  spin: ['-a'],
  gcc: ['-O2', '-DSAFETY', '-DNOCLAIM'],
  pan: ['-m1000000', '-c0'],
};

interface ToolRun {
  states: number;
  transitions: number;
  /** the search's own time: pan's "elapsed time", pinlab's explore() time */
  seconds: number;
  /** wall time of the process that searched (pan; the pinlab child, node start-up and parsing included) */
  wallSeconds: number;
  /** peak memory: pan's "total actual memory usage"; the pinlab child's peak RSS */
  peakBytes: number;
  /** memory of the state store alone: pan's "actual memory usage for states"; pinlab's peak RSS minus its RSS before exploring */
  storeBytes: number;
  complete: boolean;
  /** did the search reach the family's violation */
  violation: boolean;
  detail: Record<string, unknown>;
  /** with --repeat: the search time of every run, in the order they ran (this run is the median's) */
  secondsEach?: number[];
  /** with --repeat: the store bytes per state of every run */
  storeBytesPerStateEach?: number[];
}

interface SizeResult {
  size: string;
  spin?: ToolRun | { skipped: string };
  pinlab?: ToolRun | { skipped: string };
  ratio?: { states: number; transitions: number; seconds: number | null; transitionsPerSec: number | null; peakBytesPerState: number; storeBytesPerState: number };
  loadavg: number[];
}

// ---------------------------------------------------------------------------------------------------------
// the pinlab child: explore one scenario in this process and print one JSON line

function pinlabChild(file: string, kernel: string, maxStates: number, violation: string): void {
  const text = readFileSync(file, 'utf8');
  const sc = parseScenario(text, file);
  const pr = new Prepared(sc, checkScenario(sc));
  const rssBefore = process.memoryUsage().rss;
  const x = explore(pr, parseProfileText(kernel), { maxStates });
  const peak = process.resourceUsage().maxRSS * 1024;
  const out = {
    states: x.states,
    transitions: x.transitions,
    depth: x.depth,
    finals: x.finals,
    complete: x.complete,
    bound: x.bound ?? null,
    ms: x.ms,
    rssBefore,
    peak,
    violation: x.outcomes.some((o) => o.violations.some((v) => v.kind === violation)),
    clauses: x.verdicts.map((v) => ({ kind: v.clause.kind, status: v.status, observation: v.observation })),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

// ---------------------------------------------------------------------------------------------------------

function sh(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeoutMs, killSignal: 'SIGKILL' });
  return { status: r.status, signal: r.signal, error: r.error, stdout: r.stdout ?? '', stderr: r.stderr ?? '', seconds: (performance.now() - t0) / 1000 };
}

function have(cmd: string): boolean {
  return sh('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** spin on the PATH, installing Debian's package when it is missing and gcc is there. Returns its version line or null. */
function ensureSpin(log: (s: string) => void): string | null {
  const version = () => {
    const r = sh('spin', ['-V']);
    return r.status === 0 ? r.stdout.trim() : null;
  };
  let v = version();
  if (v) return v;
  if (!have('gcc')) {
    log('spin is missing and there is no gcc to compile its verifiers: SPIN runs skipped');
    return null;
  }
  if (!have('apt-get')) {
    log('spin is missing and apt-get is not available: SPIN runs skipped');
    return null;
  }
  log('spin is missing: apt-get install -y spin');
  const env = ['-y', '-q', '-o', 'Dpkg::Use-Pty=0'];
  let r = sh('apt-get', ['install', ...env, 'spin']);
  if (r.status !== 0) {
    sh('apt-get', ['update', '-q']);
    r = sh('apt-get', ['install', ...env, 'spin']);
  }
  v = version();
  if (!v) log(`apt-get install spin failed (status ${r.status}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
  return v;
}

function num(re: RegExp, text: string): number | null {
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
}

function runSpin(fam: Family, a: number, b: number, dir: string): ToolRun | { skipped: string } {
  const pml = join(root, 'bench', 'spin', fam.pml);
  const gen = sh('spin', [...fam.defines(a, b), ...SPIN_FLAGS.spin, pml], { cwd: dir });
  if (gen.status !== 0) return { skipped: `spin -a failed: ${(gen.stdout + gen.stderr).trim().slice(0, 300)}` };
  const cc = sh('gcc', [...SPIN_FLAGS.gcc, '-o', 'pan', 'pan.c'], { cwd: dir });
  if (cc.status !== 0) return { skipped: `gcc failed: ${cc.stderr.trim().slice(-300)}` };
  const pan = sh('./pan', SPIN_FLAGS.pan, { cwd: dir });
  const out = pan.stdout;
  const states = num(/^\s*(\d+) states, stored/m, out);
  const transitions = num(/^\s*(\d+) transitions \(= stored\+matched\)/m, out);
  const elapsed = num(/^pan: elapsed time ([\d.e+-]+) seconds/m, out);
  const total = num(/^\s*([\d.]+)\s+total actual memory usage/m, out);
  const store = num(/^\s*([\d.]+)\s+actual memory usage for states/m, out);
  const errors = num(/errors: (\d+)/, out);
  if (states === null || transitions === null || total === null) return { skipped: `pan output not understood (status ${pan.status}): ${out.slice(-400)}` };
  const truncated = /max search depth too small|out of memory|reached -DMEMLIM/.test(out);
  return {
    states,
    transitions,
    seconds: elapsed ?? pan.seconds,
    wallSeconds: pan.seconds,
    peakBytes: total * 2 ** 20,
    storeBytes: (store ?? total) * 2 ** 20,
    complete: !truncated,
    violation: (errors ?? 0) > 0,
    detail: {
      errors,
      compileSeconds: gen.seconds + cc.seconds,
      stateVector: num(/State-vector (\d+) byte/, out),
      depth: num(/depth reached (\d+)/, out),
      spinA: `spin ${[...fam.defines(a, b), ...SPIN_FLAGS.spin].join(' ')} ${fam.pml}`,
      compile: `gcc ${SPIN_FLAGS.gcc.join(' ')} -o pan pan.c`,
      run: `./pan ${SPIN_FLAGS.pan.join(' ')}`,
    },
  };
}

function runPinlab(fam: Family, a: number, b: number, dir: string, maxStates: number, timeoutS: number): ToolRun | { skipped: string } {
  const file = join(dir, `${fam.name}-${a}x${b}.pin`);
  writeFileSync(file, fam.scenario(a, b));
  // with the V8 settings the pinlab command runs with (bin/v8-flags.cjs), unless PINLAB_BENCH_V8_DEFAULTS=1
  const flags = createRequire(import.meta.url)('../../bin/v8-flags.cjs') as { START_FLAGS: string[]; RUNTIME_FLAGS: string[] };
  const v8flags = process.env.PINLAB_BENCH_V8_DEFAULTS === '1' ? [] : [...flags.START_FLAGS, ...flags.RUNTIME_FLAGS];
  const r = sh(process.execPath, [...v8flags, self, '--pinlab-child', file, fam.kernel, String(maxStates), fam.violation], { timeoutMs: timeoutS * 1000 });
  if (r.signal === 'SIGKILL' || (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT')
    return { skipped: `stopped after the ${timeoutS} s limit (--pinlab-timeout)` };
  if (r.status !== 0) return { skipped: `the pinlab child failed (status ${r.status}${r.signal ? `, ${r.signal}` : ''}): ${r.stderr.trim().slice(-400)}` };
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    states: number; transitions: number; depth: number; finals: number; complete: boolean; bound: string | null; ms: number; rssBefore: number; peak: number; violation: boolean;
    clauses: unknown[];
  };
  return {
    states: j.states,
    transitions: j.transitions,
    seconds: j.ms / 1000,
    wallSeconds: r.seconds,
    peakBytes: j.peak,
    storeBytes: Math.max(0, j.peak - j.rssBefore),
    complete: j.complete,
    violation: j.violation,
    detail: { depth: j.depth, finals: j.finals, bound: j.bound, clauses: j.clauses, kernel: fam.kernel, maxStates },
  };
}

function isRun(x: ToolRun | { skipped: string } | undefined): x is ToolRun {
  return !!x && !('skipped' in x);
}

/** Of one tool's runs of a size: the first skip if any, else the run of median search time (the lower middle of an even count), with every run's time and store size. */
function medianRun(runs: (ToolRun | { skipped: string })[]): ToolRun | { skipped: string } {
  const skip = runs.find((x) => !isRun(x));
  if (skip || runs.length === 0) return skip ?? { skipped: 'not run' };
  const done = runs as ToolRun[];
  if (done.length === 1) return done[0]!;
  const m = [...done].sort((x, y) => x.seconds - y.seconds)[(done.length - 1) >> 1]!;
  return { ...m, secondsEach: done.map((x) => x.seconds), storeBytesPerStateEach: done.map((x) => x.storeBytes / x.states) };
}

// ---------------------------------------------------------------------------------------------------------
// output

const fmtInt = (n: number) => n.toLocaleString('en-US');
const fmtS = (s: number) => (s < 10 ? s.toFixed(2) : s.toFixed(1));
const perSec = (t: number, s: number) => (s > 0 ? t / s : null);
const fmtRate = (r: number | null) => (r === null ? '-' : r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)} k` : r.toFixed(0));
const fmtX = (r: number | null) => (r === null || !isFinite(r) ? '-' : r >= 100 ? `x${r.toFixed(0)}` : r >= 10 ? `x${r.toFixed(1)}` : `x${r.toFixed(2)}`);

const COLS = [13, 12, 13, 9, 10, 10, 10, 11];
function row(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(COLS[i]!) : c.padStart(COLS[i]!))).join(' ');
}

function printSize(fam: Family, r: SizeResult): void {
  const line = (name: string, x: ToolRun | { skipped: string } | undefined) => {
    if (!x) return;
    if (!isRun(x)) {
      console.log(row([`  ${name}`, `skipped: ${x.skipped}`.padStart(COLS[1]!)]));
      return;
    }
    console.log(
      row([
        `  ${name}`,
        fmtInt(x.states),
        fmtInt(x.transitions),
        fmtS(x.seconds),
        fmtRate(perSec(x.transitions, x.seconds)),
        (x.peakBytes / x.states).toFixed(0),
        (x.storeBytes / x.states).toFixed(0),
        `${x.violation ? 'found' : 'none'}${x.complete ? '' : ' (incomplete)'}`,
      ]),
    );
  };
  console.log(row([`${r.size}`, 'states', 'transitions', 'seconds', 'trans/s', 'peak B/st', 'store B/st', fam.violation.slice(0, 11)]));
  line('SPIN', r.spin);
  line('pinlab', r.pinlab);
  const each = (name: string, x: ToolRun | { skipped: string } | undefined) =>
    isRun(x) && x.secondsEach
      ? `${name} ${x.secondsEach.map(fmtS).join(', ')} s (${x.storeBytesPerStateEach!.map((b) => b.toFixed(0)).join(', ')} B/st)`
      : null;
  const runs = [each('SPIN', r.spin), each('pinlab', r.pinlab)].filter((t) => t !== null);
  if (runs.length) console.log(`  (every run, in order, the median's above: ${runs.join('; ')})`);
  if (r.ratio) {
    const q = r.ratio;
    console.log(row(['  pinlab/SPIN', fmtX(q.states), fmtX(q.transitions), fmtX(q.seconds), fmtX(q.transitionsPerSec), fmtX(q.peakBytesPerState), fmtX(q.storeBytesPerState), '']));
  }
  console.log(`  (load average ${r.loadavg.map((l) => l.toFixed(2)).join(' ')})`);
}

function ratioOf(p: ToolRun, s: ToolRun): SizeResult['ratio'] {
  const pr = perSec(p.transitions, p.seconds);
  const sr = perSec(s.transitions, s.seconds);
  return {
    states: p.states / s.states,
    transitions: p.transitions / s.transitions,
    seconds: s.seconds > 0 ? p.seconds / s.seconds : null,
    transitionsPerSec: pr !== null && sr !== null ? pr / sr : null,
    peakBytesPerState: p.peakBytes / p.states / (s.peakBytes / s.states),
    storeBytesPerState: p.storeBytes / p.states / (s.storeBytes / s.states),
  };
}

// ---------------------------------------------------------------------------------------------------------

function main(argv: string[]): void {
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const flag = (name: string) => argv.includes(name);
  const json = flag('--json');
  const log = (s: string) => (json ? process.stderr : process.stdout).write(s + '\n');
  const famName = opt('--family') ?? 'all';
  const fams = famName === 'all' ? FAMILIES : [familyByName(famName)].filter((f): f is Family => !!f);
  if (!fams.length) {
    process.stderr.write(`unknown family '${famName}' (families: ${FAMILIES.map((f) => f.name).join(', ')}, all)\n`);
    process.exit(2);
  }
  const sizesOpt = opt('--sizes');
  const maxStates = Number(opt('--max-states') ?? 50_000_000);
  const timeoutS = Number(opt('--pinlab-timeout') ?? 600);
  const doSpin = !flag('--no-spin');
  const repeat = Math.max(1, Math.floor(Number(opt('--repeat') ?? 1)) || 1);
  const doPinlab = !flag('--no-pinlab');

  const spinVersion = doSpin ? ensureSpin(log) : null;
  // PINLAB_BENCH_COMMIT names the commit when the bench runs from an export (git archive) rather than a checkout
  const git = sh('git', ['rev-parse', '--short', 'HEAD'], { cwd: root });
  const inGit = git.status === 0 && !process.env.PINLAB_BENCH_COMMIT;
  const dirtySrc = inGit && sh('git', ['status', '--porcelain', '--', 'src'], { cwd: root }).stdout.trim() !== '';
  const meta = {
    date: new Date().toISOString(),
    commit: process.env.PINLAB_BENCH_COMMIT ?? (inGit ? git.stdout.trim() : null),
    srcModified: dirtySrc,
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    spin: spinVersion,
    spinPipeline: `spin -D.. ${SPIN_FLAGS.spin.join(' ')} FILE.pml; gcc ${SPIN_FLAGS.gcc.join(' ')} -o pan pan.c; ./pan ${SPIN_FLAGS.pan.join(' ')}`,
    pinlab: `explore(FILE, profile, { maxStates: ${maxStates} }) in a child node process, --pinlab-timeout ${timeoutS} s`,
    repeat,
    loadavgStart: loadavg(),
  };
  if (!json) {
    console.log(`pinlab beside SPIN -- ${meta.date}, commit ${meta.commit}${dirtySrc ? ' (src/ has uncommitted changes)' : ''}, node ${meta.node}, ${meta.cpus}, ${meta.memory}`);
    console.log(`SPIN: ${spinVersion ?? 'not available'}; ${meta.spinPipeline}`);
    console.log(`pinlab: ${meta.pinlab}`);
    console.log(`seconds = the search's own time (pan's "elapsed time"; pinlab's explore()); peak B/st = peak memory / states`);
    console.log(`(pan's "total actual memory usage"; pinlab's peak RSS); store B/st = pan's "actual memory usage for states" / states;`);
    console.log(`pinlab's (peak RSS - RSS before exploring) / states. Load average at start: ${meta.loadavgStart.map((l) => l.toFixed(2)).join(' ')}`);
    if (repeat > 1) console.log(`Each size ${repeat} times per tool, alternating; each tool's row is its run of median search time.`);
  }

  const report: { meta: typeof meta; families: { name: string; what: string; kernel: string; dims: string[]; sizes: SizeResult[] }[] } = { meta, families: [] };
  const work = mkdtempSync(join(tmpdir(), 'pinlab-spin-bench-'));
  try {
    for (const fam of fams) {
      const sizes: [number, number][] = sizesOpt ? sizesOpt.split(',').map((s) => s.split('x').map(Number) as [number, number]) : fam.sizes;
      const fr = { name: fam.name, what: fam.what, kernel: fam.kernel, dims: fam.dims, sizes: [] as SizeResult[] };
      report.families.push(fr);
      if (!json) {
        console.log();
        console.log(`== ${fam.name}: ${fam.what}; pinlab profile ${fam.kernel}; sizes ${fam.dims.join(' x ')}`);
      }
      for (const [a, b] of sizes) {
        const dir = mkdtempSync(join(work, `${fam.name}-${a}x${b}-`));
        const r: SizeResult = { size: `${a}x${b}`, loadavg: [] };
        const spins: (ToolRun | { skipped: string })[] = [];
        const pinlabs: (ToolRun | { skipped: string })[] = [];
        const spinOnce = () => doSpin && spins.push(spinVersion ? runSpin(fam, a, b, dir) : { skipped: 'spin not available' });
        const pinlabOnce = () => doPinlab && pinlabs.push(runPinlab(fam, a, b, dir, maxStates, timeoutS));
        for (let i = 0; i < repeat; i++) {
          if (i % 2 === 0) {
            spinOnce();
            pinlabOnce();
          } else {
            pinlabOnce();
            spinOnce();
          }
          // (a tool that did not run, or stopped at its time limit, is not run again)
          if (!spins.every(isRun) || !pinlabs.every(isRun)) break;
        }
        if (doSpin) r.spin = medianRun(spins);
        if (doPinlab) r.pinlab = medianRun(pinlabs);
        r.loadavg = loadavg();
        if (isRun(r.spin) && isRun(r.pinlab)) r.ratio = ratioOf(r.pinlab, r.spin);
        for (const [tool, x] of [['SPIN', r.spin], ['pinlab', r.pinlab]] as const)
          if (isRun(x) && x.complete && x.violation !== fam.expectViolation)
            log(`warning: ${tool} ${x.violation ? 'found' : 'did not find'} ${fam.violation} at ${r.size} (expected ${fam.expectViolation ? 'found' : 'none'})`);
        fr.sizes.push(r);
        if (!json) printSize(fam, r);
        if (!flag('--keep')) rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    if (!flag('--keep')) rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
  if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  const jsonOut = opt('--json-out');
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2) + '\n');
}

if (process.argv[2] === '--pinlab-child') {
  pinlabChild(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), process.argv[6]!);
} else {
  main(process.argv.slice(2));
}
