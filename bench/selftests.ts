// bench/selftests: pinlab against the kernel's own COW and long-term pinning
// selftests (tools/testing/selftests/mm/cow.c and gup_longterm.c), on this
// machine. On demand (`npm run bench:selftests`, as root), never in CI:
//
//  1. builds both selftests from Debian's linux-source-6.12 (cached by version;
//     liburing-dev from apt for the io_uring cases);
//  2. gives the machine swap (a swapfile made for the run), reserved huge pages
//     and debugfs -- every change is undone on exit and on SIGINT/SIGTERM/SIGHUP,
//     and a state file lets the next run undo one that was SIGKILLed;
//  3. runs both selftests and reads each case's result (pass, fail, skip, xfail);
//  4. asks the model what each case's scenario (corpus/selftests, cases.json)
//     says the selftest reports on this machine's profile;
//  5. runs every scenario with `pinlab real` on this machine;
//  6. prints one line per case and the totals: expressible / all cases, model
//     agreeing / cases the selftest ran, `pinlab real` agreeing / runnable.
//
// With `--vm 6.12-pinlab` (or `6.1-pinlab`, or both), steps 2-5 happen in a
// QEMU guest of pinlab's test kernel instead (CONFIG_GUP_TEST=y, so the R/O and
// GUP-fast pin cases this machine's kernel skips run): the selftests, linked
// statically, are appended to the guest's initramfs and run by its agent; the
// model answers on the guest kernel's profile, and `pinlab real --vm` runs
// corpus/selftests on the same kernel. The host machine is not touched then.
//
// The selftests are read as they are, with one correction: gup_longterm's io_uring
// cases test errno after liburing's io_uring_register_buffers(), which returns
// -errno and leaves errno alone; a refusal the kernel made on purpose then shows
// as a SKIP. pinlab follows the kernel: see the per-case note.

import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { Prepared } from '../src/interp/interpreter.js';
import { runScenarioProfile } from '../src/interp/runner.js';
import { hostProfile } from '../src/real/differential.js';
import { cacheRoot } from '../src/real/vm/cache.js';
import { linuxSourceTarball } from '../src/real/vm/debian.js';
import { prepareGuest, VM_BRANCHES } from '../src/real/vm/index.js';
import { Guest } from '../src/real/vm/qemu.js';
import { cpioNewc } from '../src/real/vm/initramfs.js';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';

const root = fileURLToPath(new URL('../../', import.meta.url));
const json = process.argv.includes('--json');
const noReal = process.argv.includes('--no-real');
const vmArg = process.argv.indexOf('--vm');
const vmList = vmArg > 0 ? (process.argv[vmArg + 1] ?? '').split(',').filter(Boolean) : [];
const log = (s: string) => process.stderr.write(`bench/selftests: ${s}\n`);

type Result = 'pass' | 'fail' | 'skip' | 'xfail' | 'xpass' | 'missing';
interface Case {
  n: number;
  case: string;
  scenario: string | null;
  why?: string;
  expect: string;
  skip_without: string[];
  passes_on?: string[];
  fails_on?: string[];
  leaks_on?: string[];
  skips_on?: string[];
}

// ---------------------------------------------------------------- machine state

const runDir = join(cacheRoot(), 'selftests-run');
const stateFile = join(runDir, 'state.json');
interface MachineState {
  pid: number;
  swapfile?: string;
  hugepages?: number;
  debugfs?: boolean;
}
let state: MachineState | null = null;

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

function undo(s: MachineState): void {
  if (s.swapfile) {
    sh('swapoff', [s.swapfile]);
    rmSync(s.swapfile, { force: true });
  }
  if (s.hugepages !== undefined) {
    try {
      writeFileSync('/proc/sys/vm/nr_hugepages', String(s.hugepages));
    } catch {
      /* best effort: reported below if it stays changed */
    }
  }
  if (s.debugfs) sh('umount', ['/sys/kernel/debug']);
}

function saveState(): void {
  if (state) writeFileSync(stateFile, JSON.stringify(state));
}

function restore(): void {
  if (!state) return;
  undo(state);
  state = null;
  rmSync(stateFile, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Undo what a SIGKILLed run left behind (its swapfile, its huge pages, its debugfs mount). */
function undoStale(): void {
  if (!existsSync(stateFile)) return;
  try {
    const s = JSON.parse(readFileSync(stateFile, 'utf8')) as MachineState;
    if (alive(s.pid) && s.pid !== process.pid) throw new Error(`another bench/selftests (pid ${s.pid}) is running`);
    log(`undoing what run ${s.pid} left behind`);
    undo(s);
  } finally {
    rmSync(stateFile, { force: true });
  }
}

function prepareMachine(): void {
  mkdirSync(runDir, { recursive: true });
  undoStale();
  state = { pid: process.pid };
  saveState();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(sig, () => {
      restore();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  process.on('exit', restore);
  // debugfs (gup_test, hwpoison) -- mounted only if it is not
  if (!readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === '/sys/kernel/debug')) {
    if (sh('mount', ['-t', 'debugfs', 'none', '/sys/kernel/debug']).ok) {
      state.debugfs = true;
      saveState();
    }
  }
  // swap: the swapped-out backings need it
  const swapfile = join(runDir, `swapfile-${process.pid}`);
  state.swapfile = swapfile;
  saveState();
  const fd = openSync(swapfile, 'w', 0o600);
  closeSync(fd);
  const made = sh('fallocate', ['-l', '512M', swapfile]).ok && sh('mkswap', [swapfile]).ok && sh('swapon', [swapfile]).ok;
  if (!made) {
    log('could not enable swap (the swapped-out cases will SKIP)');
    sh('swapoff', [swapfile]);
    rmSync(swapfile, { force: true });
    delete state.swapfile;
    saveState();
  }
  // huge pages: 2 MiB hugetlb cases need a few free ones
  const old = Number(readFileSync('/proc/sys/vm/nr_hugepages', 'utf8').trim());
  state.hugepages = old;
  saveState();
  writeFileSync('/proc/sys/vm/nr_hugepages', String(old + 64));
}

// ---------------------------------------------------------------- build

async function buildSelftests(): Promise<{ dir: string; version: string }> {
  const src = await linuxSourceTarball('6.12', log);
  const dir = join(cacheRoot(), 'selftests', src.version.replace(/[^A-Za-z0-9.+~-]/g, '_'));
  if (['cow', 'gup_longterm', 'cow.static', 'gup_longterm.static'].every((f) => existsSync(join(dir, f)))) return { dir, version: src.version };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    log(`extracting the selftests from ${src.tarball}`);
    const t = src.top;
    execFileSync('tar', ['-xJf', src.tarball, '-C', tmp, '--wildcards', `${t}/tools/testing/selftests/mm/*`, `${t}/tools/testing/selftests/kselftest*`, `${t}/mm/gup_test.h`, `${t}/include/uapi/*`, `${t}/arch/x86/include/uapi/*`]);
    const top = join(tmp, t);
    // headers_install, as scripts/headers_install.sh edits them (the 6.12 uapi; Debian 12's own headers are 6.1's)
    const hdr = join(top, 'hdr');
    mkdirSync(hdr);
    execFileSync('cp', ['-r', join(top, 'include/uapi/linux'), join(hdr, 'linux')]);
    execFileSync('cp', ['-r', join(top, 'include/uapi/asm-generic'), join(hdr, 'asm-generic')]);
    execFileSync('cp', ['-r', join(top, 'arch/x86/include/uapi/asm'), join(hdr, 'asm')]);
    execFileSync('sh', [
      '-c',
      `find "$0" -name '*.h' -exec sed -i -E -e 's/([[:space:](])(__user|__force|__iomem)[[:space:]]/\\1/g' -e 's/__attribute_const__([[:space:]]|$)/\\1/g' -e 's@^#include <linux/compiler(|_types).h>@@' -e 's/(^|[^a-zA-Z0-9])__packed([^a-zA-Z0-9_]|$)/\\1__attribute__((packed))\\2/g' -e 's/(^|[[:space:](])(inline|asm|volatile)([[:space:](]|$)/\\1__\\2__\\3/g' -e 's@#(ifndef|define|endif[[:space:]]*/[*])[[:space:]]*_UAPI@#\\1 @' {} +`,
      hdr,
    ]);
    const mm = join(top, 'tools/testing/selftests/mm');
    execFileSync('sh', ['./check_config.sh', 'cc'], { cwd: mm });
    if (!readFileSync(join(mm, 'local_config.h'), 'utf8').includes('HAVE_LIBURING')) log('liburing-dev is not installed: the io_uring cases will SKIP (apt install liburing-dev)');
    const uring = readFileSync(join(mm, 'local_config.h'), 'utf8').includes('HAVE_LIBURING') ? ['-luring'] : [];
    for (const t2 of ['cow', 'gup_longterm']) {
      log(`building ${t2}`);
      execFileSync('cc', ['-O2', '-I', '..', '-isystem', hdr, `${t2}.c`, 'vm_util.c', 'thp_settings.c', '-o', join(tmp, t2), ...uring, '-lrt', '-lpthread', '-lm'], { cwd: mm, stdio: ['ignore', 'ignore', 'pipe'] });
      // and statically, for a guest's initramfs (no libc there)
      execFileSync('cc', ['-O2', '-static', '-I', '..', '-isystem', hdr, `${t2}.c`, 'vm_util.c', 'thp_settings.c', '-o', join(tmp, `${t2}.static`), ...uring, '-lrt', '-lpthread', '-lm'], { cwd: mm, stdio: ['ignore', 'ignore', 'pipe'] });
    }
    rmSync(top, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    execFileSync('mv', [tmp, dir]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { dir, version: src.version };
}

// ---------------------------------------------------------------- run and parse

/** The TAP of a 6.12 selftest: "# [RUN] <case>" then "ok N ..." / "not ok N ..." with "# SKIP" / "# XFAIL". */
function parseTap(out: string): Map<string, { result: Result; detail: string }> {
  const res = new Map<string, { result: Result; detail: string }>();
  let current: string | null = null;
  for (const line of out.split('\n')) {
    const run = /^# \[RUN\] (.*)$/.exec(line);
    if (run) {
      current = run[1]!.trim();
      continue;
    }
    const m = /^(not ok|ok) \d+(.*)$/.exec(line);
    if (!m || current === null) continue;
    const rest = m[2]!.trim();
    let result: Result = m[1] === 'ok' ? 'pass' : 'fail';
    if (/# SKIP/.test(rest)) result = 'skip';
    else if (/# XFAIL/.test(rest)) result = 'xfail';
    else if (/# XPASS/.test(rest)) result = 'xpass';
    res.set(current, { result, detail: rest.replace(/^#\s*/, '') });
    current = null;
  }
  return res;
}

function runSelftest(bin: string): string {
  log(`running ${bin}`);
  const r = spawnSync(bin, [], { encoding: 'utf8', timeout: 30 * 60_000, maxBuffer: 64 << 20 });
  return (r.stdout ?? '') + (r.stderr ?? '');
}

// ---------------------------------------------------------------- the model and pinlab real

/** What the scenario's clauses say the selftest reports on this profile. */
function predicted(c: Case, profile: string): Result | null {
  if (c.passes_on?.includes(profile)) return 'pass';
  if (c.fails_on?.includes(profile)) return 'fail';
  if (c.leaks_on?.includes(profile)) return 'xfail';
  if (c.skips_on?.includes(profile)) return 'skip';
  return null;
}

function modelHolds(file: string, profileName: string, release?: string): boolean {
  const text = readFileSync(file, 'utf8');
  const sc = parseScenario(text, file);
  const pr = new Prepared(sc, checkScenario(sc));
  const { profile } = hostProfile(release);
  if (profile.name !== profileName) throw new Error('profile mismatch');
  const r = runScenarioProfile(pr, profile, { maxStates: 200_000 });
  return !r.error && r.checks.every((c) => c.status === 'passed');
}

function realVerdicts(vm?: string): Map<string, { verdict: 'agree' | 'DISAGREE' | 'not runnable'; reason?: string }> {
  const out = new Map<string, { verdict: 'agree' | 'DISAGREE' | 'not runnable'; reason?: string }>();
  if (noReal) return out;
  log(`running corpus/selftests with pinlab real on ${vm ? `the ${vm} guest` : 'this machine'}`);
  const r = spawnSync(process.execPath, [join(root, 'dist/src/cli.js'), 'real', '--json', ...(vm ? ['--vm', vm] : []), join(root, 'corpus/selftests')], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let doc: { scenarios?: { file: string; status: string; disagreements: number; reason?: string }[] };
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    log(`pinlab real gave no report (exit status ${r.status})`);
    return out;
  }
  for (const s of doc.scenarios ?? []) {
    const name = s.file.split('/').pop()!;
    if (s.status !== 'ran') out.set(name, { verdict: 'not runnable', reason: s.reason });
    else out.set(name, { verdict: s.disagreements ? 'DISAGREE' : 'agree' });
  }
  return out;
}

// ---------------------------------------------------------------- in a guest

/** The guest's initramfs with both selftests appended (the kernel unpacks concatenated archives in turn). */
function initrdWithSelftests(base: string, dir: string): string {
  const bins = ['cow', 'gup_longterm'].map((t) => ({ name: `selftests/${t}`, mode: 0o100755, data: readFileSync(join(dir, `${t}.static`)) }));
  const h = createHash('sha256').update(readFileSync(base));
  for (const b of bins) h.update(b.data);
  const out = join(cacheRoot(), 'selftests', `initrd-${h.digest('hex').slice(0, 16)}.cpio.gz`);
  if (!existsSync(out)) {
    const extra = gzipSync(cpioNewc([{ name: 'selftests', mode: 0o040755 }, ...bins]), { level: 6 });
    writeFileSync(`${out}.tmp-${process.pid}`, Buffer.concat([readFileSync(base), extra]));
    execFileSync('mv', [`${out}.tmp-${process.pid}`, out]);
  }
  return out;
}

/** Boot the branch's guest, give it huge pages, run both selftests there; the guest is powered off after. */
async function tapInGuest(branch: string, dir: string): Promise<{ tap: Map<string, { result: Result; detail: string }>; release: string }> {
  const opts = await prepareGuest(branch, (s) => log(`${branch}: ${s}`));
  const guest = await Guest.boot({ ...opts, initrd: initrdWithSelftests(opts.initrd, dir) });
  try {
    log(`${branch}: kernel ${guest.release} answered after ${(guest.bootMs / 1000).toFixed(1)} s`);
    const s = await guest.session();
    const hp = await s.send([-1, 'hugepages', 64]);
    await s.close();
    if (!hp.ok) log(`${branch}: no huge pages in the guest (${hp.errno ?? hp.error}): the hugetlb cases will SKIP`);
    const tap = new Map<string, { result: Result; detail: string }>();
    for (const t of ['cow', 'gup_longterm']) {
      log(`${branch}: running ${t} in the guest (seconds under TCG)`);
      const t0 = Date.now();
      const r = await guest.request([-2, 'selftest', t], 90 * 60_000);
      if (!r.ok || typeof r.output !== 'string') throw new Error(`${branch}: ${t} did not run: ${r.errno ?? r.error}`);
      log(`${branch}: ${t} exited with status ${r.value} after ${Math.round((Date.now() - t0) / 1000)} s`);
      for (const [k, v] of parseTap(r.output)) tap.set(k, v);
    }
    return { tap, release: guest.release };
  } finally {
    await guest.shutdown();
  }
}

// ---------------------------------------------------------------- main

if (process.getuid?.() !== 0) {
  process.stderr.write('bench/selftests: run it as root (it runs the selftests, adds swap and huge pages)\n');
  process.exit(2);
}
for (const b of vmList)
  if (!b.endsWith('-pinlab') || !VM_BRANCHES.includes(b)) {
    process.stderr.write(`bench/selftests: --vm takes pinlab's test kernels (${VM_BRANCHES.filter((x) => x.endsWith('-pinlab')).join(', ')}): Debian's have no CONFIG_GUP_TEST\n`);
    process.exit(2);
  }
const built = await buildSelftests();
const cases = JSON.parse(readFileSync(join(root, 'corpus/selftests/cases.json'), 'utf8')) as { cow: Case[]; gup_longterm: Case[] };

type Row = {
  selftest: string;
  n: number;
  case: string;
  scenario: string | null;
  result: Result;
  detail: string;
  model: string;
  agrees: boolean | null;
  real: string;
  note?: string;
};

function compare(where: string, release: string, tap: Map<string, { result: Result; detail: string }>, real: ReturnType<typeof realVerdicts>) {
  const { profile } = hostProfile(release);
  const rows: Row[] = [];
  const modelCache = new Map<string, boolean>();
  for (const [selftest, list] of [
    ['cow', cases.cow],
    ['gup_longterm', cases.gup_longterm],
  ] as const) {
    for (const c of list) {
      const got = tap.get(c.case) ?? { result: 'missing' as Result, detail: 'not printed' };
      let model = 'not expressible';
      let agrees: boolean | null = null;
      let note: string | undefined;
      if (c.scenario) {
        const pred = predicted(c, profile.name);
        const file = join(root, 'corpus/selftests', c.scenario);
        if (!modelCache.has(file)) modelCache.set(file, modelHolds(file, profile.name, release));
        if (pred === null) model = `no clause for ${profile.name}`;
        else model = modelCache.get(file) ? pred : `${pred} (a clause FAILS on the model)`;
        const envSkip = got.result === 'skip' && pred !== 'skip';
        if (pred !== null && !envSkip && got.result !== 'missing') agrees = modelCache.get(file)! && pred === got.result;
        if (envSkip && /io_uring_register_buffers\(\) failed/.test(got.detail) && pred === 'pass')
          note = "the selftest reads errno after liburing's io_uring_register_buffers(), which returns -errno and leaves errno alone: a refusal it expects shows as SKIP";
        else if (envSkip) note = `skipped here: ${got.detail}`;
      }
      const rv = c.scenario ? real.get(c.scenario) : undefined;
      rows.push({
        selftest,
        n: c.n,
        case: c.case,
        scenario: c.scenario,
        result: got.result,
        detail: got.detail,
        model,
        agrees,
        real: rv ? rv.verdict : c.scenario ? (noReal ? 'not run' : 'no report') : '',
        ...(note ? { note } : {}),
      });
    }
  }
  const judged = rows.filter((r) => r.agrees !== null);
  const realRunnable = rows.filter((r) => r.real === 'agree' || r.real === 'DISAGREE');
  const totals = {
    where,
    kernel: release,
    profile: profile.name,
    selftests: `linux-source-6.12 ${built.version}`,
    cases: rows.length,
    expressible: rows.filter((r) => r.scenario).length,
    ranAndJudged: judged.length,
    modelAgrees: judged.filter((r) => r.agrees).length,
    realRunnable: realRunnable.length,
    realAgrees: realRunnable.filter((r) => r.real === 'agree').length,
  };
  return { totals, cases: rows };
}

const reports: ReturnType<typeof compare>[] = [];
if (!vmList.length) {
  prepareMachine();
  const tap = new Map([...parseTap(runSelftest(join(built.dir, 'cow'))), ...parseTap(runSelftest(join(built.dir, 'gup_longterm')))]);
  restore();
  reports.push(compare('this machine', hostProfile().release, tap, realVerdicts()));
} else {
  for (const b of vmList) {
    const { tap, release } = await tapInGuest(b, built.dir);
    reports.push(compare(`guest ${b}`, release, tap, realVerdicts(b)));
  }
}

if (json) {
  process.stdout.write(JSON.stringify(reports.length === 1 ? reports[0] : { runs: reports }, null, 2) + '\n');
} else {
  const w = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s.padEnd(n));
  for (const { totals, cases: rows } of reports) {
    process.stdout.write(`== ${totals.where}\n${w('selftest case', 52)}  ${w('selftest', 8)}  ${w('model', 15)}  ${w('agree', 5)}  real\n`);
    for (const r of rows) {
      process.stdout.write(`${w(`${r.selftest} ${r.n} ${r.case}`, 52)}  ${w(r.result, 8)}  ${w(r.model, 15)}  ${w(r.agrees === null ? '-' : r.agrees ? 'yes' : 'NO', 5)}  ${r.real}\n`);
      if (r.note) process.stdout.write(`    note: ${r.note}\n`);
    }
  }
  for (const { totals } of reports)
    process.stdout.write(
      [
        '',
        `${totals.where}: kernel ${totals.kernel} (profile ${totals.profile}); selftests from ${totals.selftests}`,
        `expressible in pinlab:        ${totals.expressible} / ${totals.cases} cases`,
        `model agrees with selftest:   ${totals.modelAgrees} / ${totals.ranAndJudged} expressible cases the selftest ran there`,
        `pinlab real agrees:           ${totals.realAgrees} / ${totals.realRunnable} runnable scenarios' cases`,
        '',
      ].join('\n'),
    );
}
