// `pinlab real` leaves the machine as it found it (issue 13 item 7): nr_hugepages after SIGTERM, SIGINT
// and (at the next start) SIGKILL during a MAP_HUGETLB scenario; no temporary directory, mount or loop
// device left; ext4 files never silently on tmpfs; 'all skipped' is exit 3 and says so; no '\r' on a pipe.
// Tests that change the machine need root, the native runner and hugetlb; they skip with the reason
// otherwise, and give back what they changed in `finally` even when an assertion fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runnerAvailable } from '../src/real/native.js';
import { JOURNAL_DIR } from '../src/real/host_settings.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/src/cli.js');
const HUGETLB = join(root, 'corpus/real/r19-longterm-pin-anon-hugetlb.pin'); // MAP_HUGETLB, io_uring pin
const EXT4 = join(root, 'corpus/real/r17-longterm-pin-ext4-private.pin'); // a file on ext4
const PLAIN = join(root, 'corpus/real/r01-pin-fork-child-alive-parent-write.pin'); // anon memory only
const RACE = join(root, 'corpus/24-dirty-cow-race.pin'); // par: always skipped on a real kernel
const NR = '/proc/sys/vm/nr_hugepages';
const SURPLUS = '/sys/kernel/mm/hugepages/hugepages-2048kB/surplus_hugepages';

const nr = () => Number(readFileSync(NR, 'utf8').trim());
const surplus = () => (existsSync(SURPLUS) ? Number(readFileSync(SURPLUS, 'utf8').trim()) : 0);

/** Why the machine-changing tests cannot run here, or null. */
function cannot(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (reserving huge pages, mounting)';
  if (!runnerAvailable()) return 'the native runner is not built';
  if (!existsSync(NR)) return 'this kernel has no hugetlb';
  return null;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, 'real', ...args], { cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Running {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [cli, 'real', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  return { child, out, done };
}

/** Poll (without blocking the event loop for long) until `cond` or the child exits or `ms` pass. */
async function until(cond: () => boolean, r: Running, ms = 60_000): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (cond()) return true;
    if (r.child.exitCode !== null || r.child.signalCode !== null) return false;
    await new Promise((res) => setImmediate(res));
  }
  return false;
}

async function settle(cond: () => boolean, ms = 5000): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (cond()) return true;
    await new Promise((res) => setTimeout(res, 20));
  }
  return cond();
}

/** Whatever a pinlab real of process `pid` could have left behind. */
function leftovers(pid: number): string[] {
  const out: string[] = [];
  if (existsSync(join(JOURNAL_DIR, `pinlab-restore-0-${pid}.json`))) out.push(`journal of ${pid}`);
  for (const d of new Set([tmpdir(), '/tmp'])) for (const n of readdirSync(d)) if (n.startsWith(`pinlab-real-${pid}-`) || n.startsWith(`pinlab-ext4-${pid}-`)) out.push(join(d, n));
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`pinlab-real-${pid}-`)) out.push(`runner process ${p}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir + '/'));
}

function loopsOn(dir: string): string[] {
  const out: string[] = [];
  for (const b of readdirSync('/sys/block')) {
    try {
      const f = readFileSync(`/sys/block/${b}/loop/backing_file`, 'utf8').trim();
      if (f.startsWith(dir + '/')) out.push(`${b}: ${f}`);
    } catch {
      // not a loop device, or not bound
    }
  }
  return out;
}

/** The hugetlb scenario many times over: a long enough run that a signal lands while huge pages are reserved. */
const manyHugetlb = () => Array.from({ length: 40 }, () => HUGETLB);

for (const [sig, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test(`${sig} during a MAP_HUGETLB scenario: nr_hugepages as before, nothing left behind, exit ${code}`, async (t) => {
    const why = cannot();
    if (why) return t.skip(why);
    const before = nr();
    const surplusBefore = surplus();
    const r = start(['--json', ...manyHugetlb()]);
    try {
      const raised = await until(() => nr() !== before, r);
      assert.ok(raised, `nr_hugepages never left ${before} while pinlab real ran (exit ${r.child.exitCode}): ${r.out.stderr}`);
      r.child.kill(sig);
      const { code: c, signal } = await r.done;
      assert.equal(signal, null, `pinlab real died of ${signal} instead of handling it`);
      assert.equal(c, code, `exit status (stderr: ${r.out.stderr})`);
      assert.equal(nr(), before, 'nr_hugepages right after pinlab exited');
      assert.ok(await settle(() => surplus() === surplusBefore), `surplus huge pages ${surplus()}, ${surplusBefore} before`);
      assert.ok(await settle(() => leftovers(r.child.pid!).length === 0), `left behind: ${leftovers(r.child.pid!).join(', ')}`);
    } finally {
      r.child.kill('SIGKILL');
      await r.done;
      if (nr() !== before) writeFileSync(NR, String(before));
      rmSync(join(JOURNAL_DIR, `pinlab-restore-0-${r.child.pid}.json`), { force: true });
    }
  });
}

test('SIGKILL during a MAP_HUGETLB scenario: the next pinlab real restores nr_hugepages, says so, removes the workdir', async (t) => {
  const why = cannot();
  if (why) return t.skip(why);
  const before = nr();
  const r = start(['--json', ...manyHugetlb()]);
  try {
    assert.ok(await until(() => nr() !== before, r), `nr_hugepages never left ${before}: ${r.out.stderr}`);
    r.child.kill('SIGKILL');
    const { signal } = await r.done;
    assert.equal(signal, 'SIGKILL');
    const pid = r.child.pid!;
    const journal = join(JOURNAL_DIR, `pinlab-restore-0-${pid}.json`);
    assert.ok(existsSync(journal), 'no journal was left to restore from');
    const stranded = nr();
    // the next start, with nothing to run (every scenario skipped): it restores first
    const next = run([RACE]);
    assert.equal(next.status, 3, next.stderr);
    if (stranded !== before) assert.match(next.stderr, new RegExp(`an earlier run \\(pid ${pid}\\).*nr_hugepages ${stranded} -> ${before}`));
    assert.equal(nr(), before, `nr_hugepages after the next start (${stranded} when pinlab was killed)`);
    assert.ok(!existsSync(journal), 'the journal outlived its restore');
    assert.ok(await settle(() => leftovers(pid).length === 0), `left behind: ${leftovers(pid).join(', ')}`);
    // and a third start has nothing more to say
    const third = run([RACE]);
    assert.doesNotMatch(third.stderr, /earlier run/);
  } finally {
    if (nr() !== before) writeFileSync(NR, String(before));
    rmSync(join(JOURNAL_DIR, `pinlab-restore-0-${r.child.pid}.json`), { force: true });
    for (const d of leftovers(r.child.pid!)) if (d.startsWith('/')) rmSync(d, { recursive: true, force: true });
  }
});

/** A fresh tmpfs mounted in a temporary directory, for TMPDIR; undone by the returned function. */
function tmpfsDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join('/tmp', 'pinlab-test-tmpfs-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=600m,mode=1777', 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mount tmpfs: ${m.stderr}`);
  }
  return {
    dir,
    done: () => {
      spawnSync('umount', [dir]);
      if (mountsUnder(dir).length === 0 && !readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${dir} `)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('TMPDIR on tmpfs, as root: ext4 files go to an ext4 image of pinlab\'s own (no false DISAGREE), unmounted afterwards', (t) => {
  const why = cannot();
  if (why) return t.skip(why);
  const { dir, done } = tmpfsDir();
  try {
    const r = run(['--json', EXT4, PLAIN], { TMPDIR: dir });
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { scenarios: { file: string; status: string; reason?: string; disagreements: number }[] };
    for (const s of json.scenarios) assert.equal(s.status, 'ran', `${s.file}: ${s.reason}`);
    assert.equal(json.scenarios.reduce((n, s) => n + s.disagreements, 0), 0);
    assert.match(r.stderr, /is on tmpfs: ext4 files go to an ext4 image of pinlab's own, mounted at /);
    assert.deepEqual(mountsUnder(dir), []);
    assert.deepEqual(loopsOn(dir), []);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    done();
  }
});

test('SIGTERM while the ext4 image is mounted: unmounted, loop device freed, image removed', async (t) => {
  const why = cannot();
  if (why) return t.skip(why);
  const { dir, done } = tmpfsDir();
  const r = start(['--json', ...Array.from({ length: 40 }, () => EXT4)], { TMPDIR: dir });
  try {
    assert.ok(await until(() => mountsUnder(dir).length > 0, r), `no ext4 image was mounted: ${r.out.stderr}`);
    r.child.kill('SIGTERM');
    const { code } = await r.done;
    assert.equal(code, 143, r.out.stderr);
    assert.deepEqual(mountsUnder(dir), []);
    assert.ok(await settle(() => loopsOn(dir).length === 0), `loop devices: ${loopsOn(dir).join(', ')}`);
    assert.ok(await settle(() => readdirSync(dir).length === 0), `left in TMPDIR: ${readdirSync(dir).join(', ')}`);
    assert.ok(!existsSync(join(JOURNAL_DIR, `pinlab-restore-0-${r.child.pid}.json`)));
  } finally {
    r.child.kill('SIGKILL');
    await r.done;
    for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
    rmSync(join(JOURNAL_DIR, `pinlab-restore-0-${r.child.pid}.json`), { force: true });
    done();
  }
});

test('TMPDIR on tmpfs, not root: the ext4 scenario is refused naming TMPDIR and what to do; the others run', (t) => {
  const why = cannot();
  if (why) return t.skip(why);
  const setpriv = spawnSync('setpriv', ['--version']);
  if (setpriv.status !== 0) return t.skip('setpriv (util-linux) is needed to run as nobody');
  const ok = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', cli]);
  if (ok.status !== 0) return t.skip(`nobody cannot read ${cli}`);
  const { dir, done } = tmpfsDir();
  try {
    chmodSync(dir, 0o1777);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cli, 'real', '--json', EXT4, PLAIN], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: dir },
      timeout: 120_000,
    });
    const json = JSON.parse(r.stdout) as { scenarios: { file: string; status: string; reason?: string; disagreements: number }[] };
    const ext4 = json.scenarios.find((s) => s.file === EXT4)!;
    assert.equal(ext4.status, 'skipped');
    assert.match(ext4.reason!, new RegExp(`TMPDIR \\(${dir}\\) is on tmpfs: set TMPDIR to a directory on an ext4 file system, or run as root`));
    assert.equal(json.scenarios.reduce((n, s) => n + s.disagreements, 0), 0);
    const plain = json.scenarios.find((s) => s.file === PLAIN)!;
    // as nobody io_uring may be refused (io_uring_disabled): then it is skipped with that reason, never failed
    assert.ok(plain.status === 'ran' || /io_uring/.test(plain.reason ?? ''), `${plain.status}: ${plain.reason}`);
    assert.equal(r.status, plain.status === 'ran' ? 0 : 3, r.stderr);
    assert.deepEqual(mountsUnder(dir), []);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    done();
  }
});

test("every scenario skipped: exit 3 and 'no scenario ran: all N skipped', never 'agree'", () => {
  const r = run([RACE, RACE]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stdout, /no scenario ran: all 2 skipped/);
  assert.doesNotMatch(r.stdout, /agree/);
  const j = run(['--json', RACE]);
  assert.equal(j.status, 3);
  assert.equal((JSON.parse(j.stdout) as { scenarios: { status: string }[] }).scenarios[0]!.status, 'skipped');
});

test("stderr that is not a terminal gets no '\\r' (progress and notes are whole lines)", (t) => {
  const { dir, done } = process.getuid?.() === 0 ? tmpfsDir() : { dir: tmpdir(), done: () => {} };
  try {
    // with TMPDIR on tmpfs the run also prints the ext4-image note, through the same path as progress
    const r = run([PLAIN, EXT4, RACE], { TMPDIR: dir });
    if (r.status === 2) return t.skip(r.stderr);
    assert.ok(!r.stderr.includes('\r'), JSON.stringify(r.stderr));
    assert.ok(!r.stdout.includes('\r'));
    assert.ok(!r.stderr.includes('\x1b['), 'terminal escapes on a pipe');
  } finally {
    done();
  }
});
