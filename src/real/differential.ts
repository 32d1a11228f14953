// `pinlab real`: run a scenario on the running kernel through the native
// runner, run the model on the profile nearest to `uname -r`, and hold each
// step's observation against the model's, and each value clause against what
// the kernel did. Observations are recorded, never assumed.

import { readFileSync } from 'node:fs';
import { tmpdir, release } from 'node:os';
import type { Call, Pred, Scenario, Step } from '../lang/ast.js';
import type { CheckedInfo } from '../lang/check.js';
import { OPS } from '../lang/ops.js';
import { Prepared, evalPred, runProfile, type Outcome, type ProfileRun, type Res } from '../interp/interpreter.js';
import { compareVersions, makeProfile, VERSIONS, type Profile } from '../profiles/profiles.js';
import { ERRNO_BY_NAME, SIGNAL_BY_NAME } from '../model/errno.js';
import { T_ERRNO, T_INT, T_OK, T_SIGNAL, T_SKIPPED, T_UNSET, showValue } from '../model/state.js';
import { NativeRunner, runnerAvailable, type Runner } from './native.js';
import { changeSetting, fileSystemOf, mountExt4Image, tempDir } from './host_settings.js';
import { capsFromBits, DEFAULT_CAPS, translate, type Cmd, type RealCaps, type RealStep } from './translate.js';

/** Where scenarios run: this machine, or a guest of `pinlab real --vm`. */
export interface Target {
  /** `host`, or the guest's branch (`6.1`, `6.12`) */
  name: string;
  /** `uname -r` */
  release: string;
  /** `uname -v` (a guest's says which Debian package) */
  version: string;
  profile: Profile;
  caps: RealCaps;
  /** a fresh runner for one scenario (`disk`: it makes ext4 files) */
  open(opts?: { disk?: boolean }): Promise<Runner>;
  /** why ext4 files cannot be made here, or null (a guest's disk is ext4: absent) */
  diskReason?(): string | null;
  /** make `pages` huge pages available for the scenario; restore() gives them back */
  hugetlb(runner: Runner, pages: number): Promise<{ restore: () => Promise<void> } | { reason: string }>;
  /** how long the guest took to boot, ms */
  bootMs?: number;
}

/** A runner on this machine in its own temporary directory under `base` (recorded, so even a SIGKILLed run's is removed), removed when it closes. */
class HostSession implements Runner {
  private dir: { path: string; remove: () => void };
  private r: NativeRunner;
  constructor(base: string) {
    this.dir = tempDir(base, 'pinlab-real-');
    this.r = new NativeRunner(this.dir.path);
  }
  send(cmd: Cmd, timeoutMs?: number) {
    return this.r.send(cmd, timeoutMs);
  }
  async close() {
    await this.r.close();
    this.dir.remove();
  }
}

/**
 * Where this machine's runners make ext4 files ("disk" files: writeback, O_DIRECT, what is on disk): the
 * temporary directory ($TMPDIR, else /tmp) if it is on ext4; otherwise, as root, an ext4 image of pinlab's own,
 * loop-mounted for the rest of the run (made on first need, given back on every way out); otherwise a reason.
 */
function ext4Place(log: (s: string) => void): () => { dir: string } | { reason: string } {
  let place: { dir: string } | { reason: string } | null = null;
  return () => {
    if (place) return place;
    const base = tmpdir();
    const named = process.env.TMPDIR ? `TMPDIR (${base})` : `the temporary directory ${base} (TMPDIR is not set)`;
    let fs: { ext4: boolean; name: string };
    try {
      fs = fileSystemOf(base);
    } catch (e) {
      return (place = { reason: `ext4 files need a directory on ext4, and ${named} cannot be used: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    }
    if (fs.ext4) return (place = { dir: base });
    const what = `ext4 files need a directory on ext4, and ${named} is on ${fs.name}`;
    if (process.getuid?.() !== 0) return (place = { reason: `${what}: set TMPDIR to a directory on an ext4 file system, or run as root (pinlab then mounts an ext4 image of its own)` });
    try {
      const img = mountExt4Image(base);
      log(`${what}: ext4 files go to an ext4 image of pinlab's own, mounted at ${img.dir} until pinlab ends`);
      return (place = { dir: img.dir });
    } catch (e) {
      return (place = { reason: `${what}, and making an ext4 image of pinlab's own failed: ${(e as Error).message}; set TMPDIR to a directory on an ext4 file system` });
    }
  };
}

/** Ask a runner what its kernel and place allow. */
export async function probeCaps(r: Runner): Promise<RealCaps> {
  const rep = await r.send([-1, 'caps']);
  return rep.ok && typeof rep.value === 'number' ? capsFromBits(rep.value) : DEFAULT_CAPS;
}

/** This machine as a target: its kernel, the nearest profile, what its runner may do (never whole-machine operations). */
export async function hostTarget(log: (s: string) => void = () => {}): Promise<Target> {
  const { release: rel, profile } = hostProfile();
  const ext4 = ext4Place(log);
  let caps = DEFAULT_CAPS;
  if (runnerAvailable()) {
    const r = new HostSession(tmpdir());
    try {
      caps = await probeCaps(r);
    } finally {
      await r.close();
    }
  }
  return {
    name: 'host',
    release: rel,
    version: osVersion(),
    profile,
    caps,
    open: async (opts) => {
      const p = opts?.disk ? ext4() : null;
      return new HostSession(p && 'dir' in p ? p.dir : tmpdir());
    },
    diskReason: () => {
      const p = ext4();
      return 'reason' in p ? p.reason : null;
    },
    hugetlb: async (_r, pages) => {
      const h = reserveHugetlb(pages);
      return 'reason' in h ? h : { restore: async () => h.restore() };
    },
  };
}

function osVersion(): string {
  try {
    return readFileSync('/proc/sys/kernel/version', 'utf8').trim();
  } catch {
    return '';
  }
}

export interface StepReport {
  line: number;
  text: string;
  model: string;
  real: string;
  verdict: 'agree' | 'DISAGREE' | 'not runnable';
  reason?: string;
}

export interface ClauseReport {
  line: number;
  clause: string;
  /** the clause as checked on the real kernel (violation and clean parts dropped: they are the model's judgement) */
  checked: string;
  real: 'PASS' | 'FAIL';
  verdict: 'agree' | 'DISAGREE';
}

export interface RealScenarioReport {
  file: string;
  scenario: string;
  source: string | null;
  status: 'ran' | 'skipped';
  reason?: string;
  steps: StepReport[];
  clauses: ClauseReport[];
  disagreements: number;
}

/** The kernel this machine runs and the profile pinlab holds it to (the newest one not newer than it). */
export function hostProfile(rel = release()): { release: string; profile: Profile } {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  const v = m ? `${m[1]}.${m[2]}` : '0.0';
  let best: string = VERSIONS[0];
  for (const x of VERSIONS) if (compareVersions(x, v) <= 0) best = x;
  return { release: rel, profile: makeProfile(best, []) };
}

/** The scenario with every unnamed call given a name `@L<line>`, so the model records what each step returned. */
function withStepNames(sc: Scenario, info: CheckedInfo): { sc: Scenario; info: CheckedInfo } {
  const results = new Map(info.results);
  const name = (st: Step): Step => {
    if (st.stmt.kind !== 'call' || st.stmt.target) return st;
    const n = `@L${st.line}`;
    results.set(n, OPS[st.stmt.call.name]?.returns ?? 'status');
    return { ...st, stmt: { ...st.stmt, target: { name: n, pos: st.stmt.call.pos } } };
  };
  const body = sc.body.map((b) => (b.kind === 'step' ? name(b) : { ...b, threads: b.threads.map((t) => t.map(name)) }));
  return { sc: { ...sc, body }, info: { ...info, results } };
}

/** The scenario with each stand-in call in place of its step's call. */
function withStandIns(sc: Scenario, steps: RealStep[]): Scenario {
  const by = new Map(steps.filter((s) => s.standIn).map((s) => [s.line, s.standIn!] as const));
  const swap = (st: Step): Step => (st.stmt.kind === 'call' && by.has(st.line) ? { ...st, stmt: { ...st.stmt, call: by.get(st.line)! } } : st);
  return { ...sc, body: sc.body.map((b) => (b.kind === 'step' ? swap(b) : { ...b, threads: b.threads.map((t) => t.map(swap)) })) };
}

function callText(c: Call): string {
  const arg = (a: Call['args'][number]) => (a.kind === 'int' ? String(a.n) : a.kind === 'char' ? `'${a.ch}'` : a.kind === 'name' ? a.name + (a.offset ? `+${a.offset.n}` : '') : a.names.map((n) => n.name).join('|'));
  return `${c.name}(${c.args.map(arg).join(', ')})`;
}

/**
 * Where the scenario and its stand-in version part ways in the model: the first
 * step whose result differs, or the first clause whose verdict differs (so a
 * stand-in that would change what the scenario asks -- a VFIO unmap that dirties
 * where the scenario's unpin does not -- is refused); null when they agree.
 */
function standInDifference(steps: RealStep[], a: ProfileRun, b: ProfileRun): string | null {
  const how = () => steps.filter((t) => t.standIn).map((t) => `line ${t.line} runs as ${callText(t.standIn!)}`).join(', ');
  for (const s of steps) {
    const x = showModel(s, a.values[s.name], a.notes);
    const y = showModel(s, b.values[s.name], b.notes);
    if (x !== y) return `line ${s.line} gives ${x}, and ${y} once ${how()}`;
  }
  for (const c of a.checks) {
    const d = b.checks.find((x) => x.line === c.line);
    if (d && d.status !== c.status) return `the clause on line ${c.line} is ${c.status}, and ${d.status} once ${how()}`;
  }
  return null;
}

/** Drop `violation(...)` and `clean` from a conjunction; null if the clause depends on them in another way. */
function observable(p: Pred): Pred | null | 'empty' {
  switch (p.kind) {
    case 'violation':
    case 'clean':
      return 'empty';
    case 'and': {
      const l = observable(p.left);
      const r = observable(p.right);
      if (l === null || r === null) return null;
      if (l === 'empty') return r;
      if (r === 'empty') return l;
      return { ...p, left: l, right: r };
    }
    case 'or':
    case 'not': {
      const parts = p.kind === 'or' ? [p.left, p.right] : [p.inner];
      return parts.every((q) => observable(q) === q) ? p : null;
    }
    default:
      return p;
  }
}

function showPred(p: Pred): string {
  switch (p.kind) {
    case 'and':
      return `${showPred(p.left)} and ${showPred(p.right)}`;
    case 'or':
      return `(${showPred(p.left)} or ${showPred(p.right)})`;
    case 'not':
      return `not ${showPred(p.inner)}`;
    case 'ok':
      return `ok(${p.name.name})`;
    case 'skipped':
      return `skipped(${p.name.name})`;
    case 'cmp': {
      const lhs = p.lhs.kind === 'disk' ? `disk(${p.lhs.file.name}, ${p.lhs.index})` : p.lhs.name.name;
      const rhs = p.rhs.kind === 'char' ? `'${p.rhs.ch}'` : p.rhs.kind === 'int' ? String(p.rhs.n) : p.rhs.name;
      return `${lhs} ${p.op} ${rhs}`;
    }
    default:
      return p.kind;
  }
}

function diskRefs(p: Pred, out: Set<string>): void {
  if (p.kind === 'and' || p.kind === 'or') {
    diskRefs(p.left, out);
    diskRefs(p.right, out);
  } else if (p.kind === 'not') diskRefs(p.inner, out);
  else if (p.kind === 'cmp' && p.lhs.kind === 'disk') out.add(`${p.lhs.file.name}\0${p.lhs.index}`);
}

/** A reply as a result-table entry. */
function resOfReply(rs: RealStep, r: { ok?: boolean; value?: number; errno?: string; signal?: string }): Res {
  if (r.errno) return { tag: T_ERRNO, val: ERRNO_BY_NAME[r.errno] ?? -1 };
  if (r.signal) return { tag: T_SIGNAL, val: SIGNAL_BY_NAME[r.signal] ?? -1 };
  if (rs.kind === 'value') return { tag: T_INT, val: r.value ?? 0 };
  return { tag: T_OK, val: 0 };
}

function showReal(rs: RealStep, r: Res): string {
  if (r.tag === T_ERRNO) return Object.entries(ERRNO_BY_NAME).find(([, v]) => v === r.val)?.[0] ?? `errno ${r.val}`;
  if (r.tag === T_SIGNAL) return Object.entries(SIGNAL_BY_NAME).find(([, v]) => v === r.val)?.[0] ?? `signal ${r.val}`;
  if (r.tag === T_SKIPPED) return 'skipped';
  if (rs.kind === 'value') return showValue(r.val);
  return 'ok';
}

/** The model's observation of a step in the same vocabulary as the kernel's. */
function showModel(rs: RealStep, v: string | number | undefined, notes: { line: number; msg: string }[]): string {
  if (rs.name.startsWith('@L') && v === undefined) {
    // a store: the model notes a signal, otherwise it succeeded
    const sig = notes.find((n) => n.line === rs.line && /got (SIG\w+)/.test(n.msg));
    if (sig) return /got (SIG\w+)/.exec(sig.msg)![1]!;
    if (notes.some((n) => n.line === rs.line && /skipped/.test(n.msg))) return 'skipped';
    return 'ok';
  }
  if (v === undefined) return 'unset';
  if (typeof v === 'string' && (v in ERRNO_BY_NAME || v in SIGNAL_BY_NAME || v === 'skipped' || v === 'unset')) return v;
  if (rs.kind === 'value') return typeof v === 'number' ? String(v) : `'${v}'`;
  return 'ok';
}

/**
 * Reserve hugetlb pages for the run; returns the restore function, or a reason it cannot. The old
 * nr_hugepages is recorded before it is changed (host_settings), so it comes back however pinlab ends.
 */
function reserveHugetlb(pages: number): { restore: () => void } | { reason: string } {
  if (pages === 0) return { restore: () => {} };
  if (process.getuid?.() !== 0) return { reason: 'MAP_HUGETLB needs reserved huge pages, and reserving them needs root' };
  const path = '/proc/sys/vm/nr_hugepages';
  const free = '/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages';
  try {
    const old = Number(readFileSync(path, 'utf8').trim());
    const freeBefore = Number(readFileSync(free, 'utf8').trim());
    const want = old + Math.max(0, pages - freeBefore);
    if (want === old) return { restore: () => {} };
    const { restore } = changeSetting(path, String(want));
    if (Number(readFileSync(free, 'utf8').trim()) < pages) {
      restore();
      return { reason: `could not reserve ${pages} huge pages (memory too fragmented?)` };
    }
    return { restore };
  } catch (e) {
    return { reason: `cannot reserve huge pages: ${(e as Error).message}` };
  }
}

/** Run one checked scenario both ways, on a target (this machine or a guest). */
export async function realScenario(file: string, sc: Scenario, info: CheckedInfo, target: Target): Promise<RealScenarioReport> {
  const profile = target.profile;
  const rep: RealScenarioReport = { file, scenario: sc.name, source: sc.source, status: 'skipped', steps: [], clauses: [], disagreements: 0 };
  const tr = translate(sc, info, target.caps);
  const notRunnable = tr.steps.filter((s) => s.notRunnable);
  if (tr.scenarioReason || notRunnable.length || (target.name === 'host' && !runnerAvailable())) {
    rep.reason = tr.scenarioReason ?? (notRunnable.length ? `${notRunnable.length} step(s) not runnable` : 'the native runner is not built (npm install builds it with cc)');
    rep.steps = notRunnable.map((s) => ({ line: s.line, text: s.text, model: '', real: '', verdict: 'not runnable', reason: s.notRunnable! }));
    return rep;
  }
  // the model, with every step named
  const named = withStepNames(sc, info);
  const pr = new Prepared(named.sc, named.info);
  let model = runProfile(pr, profile);
  if (model.error) {
    rep.reason = `the model cannot run it on ${profile.name}: ${model.error}`;
    return rep;
  }
  // Where the runner performs a stand-in (io_uring or VFIO for a pin), the model runs the
  // stand-ins too, and the scenario counts only if the model finds both versions alike here.
  if (tr.steps.some((s) => s.standIn)) {
    const si = withStandIns(named.sc, tr.steps);
    const alt = runProfile(new Prepared(si, named.info), profile);
    const why = alt.error ?? standInDifference(tr.steps, model, alt);
    if (why) {
      rep.reason = `a stand-in changes the outcome on ${profile.name}: ${why}`;
      rep.steps = tr.steps.filter((s) => s.standIn).map((s) => ({ line: s.line, text: s.text, model: '', real: '', verdict: 'not runnable', reason: `runs as ${callText(s.standIn!)}` }));
      return rep;
    }
    model = alt;
  }

  const diskFiles = tr.setup.some((c) => c[1] === 'file' && c[3] === 'disk');
  const noDisk = diskFiles ? (target.diskReason?.() ?? null) : null;
  if (noDisk) {
    rep.reason = noDisk;
    return rep;
  }
  const runner = await target.open({ disk: diskFiles });
  const huge = await target.hugetlb(runner, tr.hugetlbPages);
  if ('reason' in huge) {
    await runner.close();
    rep.reason = huge.reason;
    return rep;
  }
  const real = new Map<string, Res>();
  const disk = new Map<string, number>();
  try {
    for (const c of tr.setup) {
      const r = await runner.send(c);
      if (!r.ok) throw new SetupError(`setup ${c[1]} ${c[2]}: ${r.errno ?? r.error ?? r.signal}`);
    }
    const exited = new Set<number>();
    const failed = new Set<string>();
    for (const rs of tr.steps) {
      let res: Res | null = null;
      const actor = rs.cmds[0]?.[0] ?? -1;
      const inputs = rs.cmds.flatMap((c) => c.slice(2)).filter((x): x is string => typeof x === 'string');
      if (actor >= 0 && exited.has(actor)) res = { tag: T_SKIPPED, val: 0 };
      else if (inputs.some((n) => failed.has(n) && n !== rs.name)) res = { tag: T_SKIPPED, val: 0 };
      else {
        for (const c of rs.cmds) {
          const r = await runner.send(c as Cmd);
          if (r.error) {
            if (/io_uring/.test(c[1]) && /E(PERM|NOSYS)/.test(r.error)) throw new SetupError('io_uring is not available here');
            throw new SetupError(`line ${rs.line}: the runner failed: ${r.error}`);
          }
          if ((r.errno === 'EPERM' || r.errno === 'ENOSYS') && c[1] === 'uring_register') throw new SetupError(`io_uring is not available here (${r.errno})`);
          res = resOfReply(rs, r);
          if (!r.ok) break;
        }
        if (rs.cmds[0]?.[1] === 'exit') exited.add(actor);
      }
      res ??= { tag: T_OK, val: 0 };
      if (res.tag === T_ERRNO || res.tag === T_SIGNAL || res.tag === T_SKIPPED) failed.add(rs.name);
      real.set(rs.name, res);
      const m = showModel(rs, model.values[rs.name], model.notes);
      const o = showReal(rs, res);
      const verdict = m === o ? 'agree' : 'DISAGREE';
      if (verdict === 'DISAGREE') rep.disagreements++;
      rep.steps.push({ line: rs.line, text: rs.text, model: m, real: o, verdict });
    }
    const refs = new Set<string>();
    for (const c of sc.clauses) diskRefs(c.pred, refs);
    for (const ref of refs) {
      const [f, i] = ref.split('\0') as [string, string];
      const r = await runner.send([-1, 'disk', f, Number(i)]);
      if (r.ok && r.value !== undefined) disk.set(ref, r.value);
    }
    rep.status = 'ran';
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    rep.reason = e.message;
    rep.steps = [];
    return rep;
  } finally {
    await runner.close();
    await huge.restore();
  }

  const outcome: Outcome = {
    result: (n) => real.get(n) ?? { tag: T_UNSET, val: 0 },
    violations: new Set(),
    disk: (f, i) => disk.get(`${f}\0${i}`),
  };
  for (const c of sc.clauses) {
    if (c.kind !== 'expect') continue;
    const ms = model.checks.find((x) => x.line === c.line);
    if (!ms) continue; // not for this profile
    const p = observable(c.pred);
    if (p === null || p === 'empty') continue;
    const ok = evalPred(p, outcome);
    const verdict = ok ? 'agree' : 'DISAGREE';
    if (!ok) rep.disagreements++;
    rep.clauses.push({ line: c.line, clause: c.text, checked: showPred(p), real: ok ? 'PASS' : 'FAIL', verdict });
  }
  return rep;
}

class SetupError extends Error {}

/** One target's run: the JSON document of `pinlab real` for one kernel. */
export interface RealRun {
  target: string;
  kernel: string;
  version: string;
  profile: string;
  bootMs?: number;
  scenarios: RealScenarioReport[];
  disagreements: number;
}

export function realRun(t: Target, reps: RealScenarioReport[]): RealRun {
  const run: RealRun = { target: t.name, kernel: t.release, version: t.version, profile: t.profile.name, scenarios: reps, disagreements: reps.reduce((n, r) => n + r.disagreements, 0) };
  if (t.bootMs !== undefined) run.bootMs = t.bootMs;
  return run;
}

export function realText(host: { name: string; release: string; version: string; profile: Profile }, reps: RealScenarioReport[]): string {
  const where = host.name === 'host' ? 'running kernel' : `guest ${host.name}: kernel`;
  const pkg = /Debian (\S+)/.exec(host.version)?.[1];
  const out: string[] = [`${where} ${host.release}${pkg ? ` (Debian ${pkg})` : ''}: held to profile ${host.profile.name}`, ''];
  for (const r of reps) {
    out.push(`scenario ${r.scenario}  (${r.file})`);
    if (r.source) out.push(`source   ${r.source}`);
    if (r.status === 'skipped') out.push(`  SKIPPED     ${r.reason}`);
    const w = Math.min(48, Math.max(10, ...r.steps.map((s) => s.text.length)));
    const mw = Math.max(5, ...r.steps.map((s) => s.model.length));
    const rw = Math.max(4, ...r.steps.map((s) => s.real.length));
    if (r.steps.length && r.status === 'ran') out.push(`  line  ${'step'.padEnd(w)}  ${'model'.padEnd(mw)}  ${'real'.padEnd(rw)}`);
    for (const s of r.steps) {
      if (s.verdict === 'not runnable') out.push(`  ${String(s.line).padStart(4)}  ${s.text.slice(0, w).padEnd(w)}  not runnable: ${s.reason}`);
      else out.push(`  ${String(s.line).padStart(4)}  ${s.text.slice(0, w).padEnd(w)}  ${s.model.padEnd(mw)}  ${s.real.padEnd(rw)}  ${s.verdict}`);
    }
    for (const c of r.clauses) out.push(`  ${String(c.line).padStart(4)}  ${c.checked}: kernel ${c.real}  ${c.verdict}`);
    out.push('');
  }
  const ran = reps.filter((r) => r.status === 'ran');
  const dis = reps.reduce((n, r) => n + r.disagreements, 0);
  const steps = ran.reduce((n, r) => n + r.steps.length, 0);
  const nr = reps.reduce((n, r) => n + r.steps.filter((s) => s.verdict === 'not runnable').length, 0);
  // nothing ran is not agreement: said as such (and `pinlab real` exits 3, not 0)
  if (ran.length === 0) out.push(`no scenario ran: all ${reps.length} skipped (${nr} steps not runnable)`);
  else
    out.push(
      `${reps.length} scenarios: ${ran.length} ran (${steps} steps, ${ran.reduce((n, r) => n + r.clauses.length, 0)} clauses), ${reps.length - ran.length} skipped (${nr} steps not runnable); ${dis ? `${dis} DISAGREEMENT(S)` : 'model and kernel agree'}`,
    );
  return out.join('\n');
}
