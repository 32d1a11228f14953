// The interpreter: turns a checked scenario into ModelOps for one kernel
// profile, runs them on a fresh model (src/model/api.ts is its only door into
// the model), and evaluates the outcome clauses on what happened.
//
// v1 runs `par` blocks in written order and never fires `background` events;
// the report says so, and exists/never clauses of such scenarios are "not
// explored" rather than passed (the explorer, issue 3, settles them).

import type { Arg, Block, Call, Clause, Pred, Scenario, Step, ValueLit } from '../lang/ast.js';
import { modelDims, type CheckedInfo } from '../lang/check.js';
import { opFor } from '../lang/ops.js';
import type { ViolationKind } from '../lang/ops.js';
import { matchersOfSet, profileMatches, type Profile, type VersionMatcher } from '../profiles/profiles.js';
import { Kernel, ModelCapacityError, ModelInvariantError, type EventSink, type KnobUse, type Violation } from '../model/kernel.js';
import { apply, disk_content, guest_file_va, type ModelOp, type OpResult } from '../model/api.js';
import { applyPhase } from '../model/phased.js';
import type { FinalOutcome, WitnessStep } from '../explore/explorer.js';
import {
  CHAR_BASE,
  type Dims,
  encodeChar,
  FI_FS,
  FI_SIZE,
  FS_EXT4,
  FS_HUGETLBFS,
  FS_TMPFS,
  H_NEXT_FILE,
  R_TAG,
  R_VAL,
  T_ERRNO,
  T_FILE,
  T_INT,
  T_MAPPING,
  T_OK,
  T_PIN,
  T_PIPE,
  T_PROC,
  T_SIGNAL,
  T_SKIPPED,
  T_UNSET,
  showValue,
  PG_ZONE_MOVABLE,
  PG_CMA,
} from '../model/state.js';
import { FOLL_BY_NAME, FOLL_GET, FOLL_LONGTERM, FOLL_NOT_MODELLED, FOLL_PCI_P2PDMA, FOLL_PIN } from '../model/folio.js';
import { MAP_ANONYMOUS, MAP_HUGETLB, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE } from '../model/mmap.js';
import { ERRNO_BY_NAME, ERRNO_NAME, SIGNAL_BY_NAME, SIGNAL_NAME } from '../model/errno.js';

const PROT: Record<string, number> = { PROT_NONE: 0, PROT_READ, PROT_WRITE, PROT_EXEC };
const MAPF: Record<string, number> = { MAP_SHARED, MAP_PRIVATE, MAP_HUGETLB, MAP_ANONYMOUS, MAP_POPULATE };

export interface ViolationAt extends Violation {
  line: number;
}

export interface ClauseResult {
  line: number;
  clause: string;
  /** 'not explored' only where the explorer was not used */
  status: 'passed' | 'failed' | 'not explored';
  passed: boolean;
  /** explorer: final states where the predicate held / did not */
  positive?: number;
  negative?: number;
  observation?: 'Always' | 'Sometimes' | 'Never';
  reason?: string;
  trace?: WitnessStep[];
  traceKind?: 'witness' | 'counterexample';
}

export interface TraceEntry {
  line: number;
  actor: string;
  fn: string;
  what: string;
  /** the knobs the model went through to get here (since the previous entry), with the profile's value */
  knobs?: KnobUse[];
}

export interface ProfileRun {
  kernel: string;
  /**
   * `check`: this run is the run computed on that profile, reused because this profile answers
   * every question that run asked of its profile alike (interp/runner.ts runScenarioProfiles)
   */
  sharedFrom?: string;
  /** a profile the scenario cannot run on (an interface it lacks) */
  error?: string;
  values: Record<string, string | number>;
  /** names whose value is page content (printed quoted in text when a character) */
  contentNames: string[];
  violations: ViolationAt[];
  notes: { line: number; msg: string }[];
  checks: ClauseResult[];
  states: number;
  trace: TraceEntry[];
  /** the model's final state (for the step view and tests) */
  kernelState?: Kernel;
  /** every distinct final outcome (explorer) */
  outcomes?: FinalOutcome[];
  explored?: {
    states: number;
    transitions: number;
    complete: boolean;
    depth: number;
    finals: number;
    ms: number;
    collisionProbability: number;
    bound?: 'max-states' | 'max-depth';
    random?: { walks: number; seed: number };
  };
}

/** The result of one step, in the state's results table encoding. */
export interface Res {
  tag: number;
  val: number;
}

export class RunError extends Error {}

/** Everything that does not depend on the profile: names to indices, table sizes. */
export class Prepared {
  readonly procIndex = new Map<string, number>();
  readonly fileIndex = new Map<string, number>();
  readonly resultIndex = new Map<string, number>();
  readonly secondaryIndex = new Map<string, number>();
  readonly dims: Dims;
  readonly concurrent: boolean;

  constructor(
    readonly sc: Scenario,
    readonly info: CheckedInfo,
  ) {
    info.processes.forEach((p, i) => this.procIndex.set(p, i));
    sc.files.forEach((f, i) => this.fileIndex.set(f.name.name, i));
    sc.secondaries.forEach((s, i) => this.secondaryIndex.set(s.name.name, i));
    [...info.results.keys()].forEach((r, i) => this.resultIndex.set(r, i));
    this.concurrent = sc.body.some((b) => b.kind === 'par') || sc.background.length > 0;

    // the table sizes: enough for anything a scenario within the input limits can do (check.ts, docs/limits.md)
    this.dims = modelDims(sc, info);
  }

  /** Every step in written order (par threads one after another). */
  steps(): Step[] {
    const out: Step[] = [];
    const walk = (bs: Block[]) => {
      for (const b of bs) {
        if (b.kind === 'step') out.push(b);
        else for (const t of b.threads) out.push(...t);
      }
    };
    walk(this.sc.body);
    return out;
  }
}

export function flagNames(a: Arg | undefined): string[] {
  if (!a) return [];
  if (a.kind === 'name') return [a.name];
  if (a.kind === 'flags') return a.names.map((n) => n.name);
  return [];
}
export function flagBits(a: Arg | undefined, table: Record<string, number>): number {
  if (!a) return 0;
  if (a.kind === 'int') return a.n;
  return flagNames(a).reduce((b, n) => b | (table[n] ?? 0), 0);
}
function encodeLit(v: ValueLit | Arg): number {
  if (v.kind === 'char') return encodeChar(v.ch);
  if (v.kind === 'int') return v.n | 0;
  throw new RunError(`expected a value`);
}

/** A run of one scenario on one profile. */
export class Run implements EventSink {
  readonly k: Kernel;
  line = 0;
  actor = '';
  readonly violations: ViolationAt[] = [];
  readonly notes: { line: number; msg: string }[] = [];
  readonly traceLog: TraceEntry[] = [];
  private readonly seen = new Set<string>();
  /** translateForProfile's answers for this run's profile */
  readonly translated = new Map<Call, Translated>();

  constructor(
    readonly pr: Prepared,
    readonly profile: Profile,
  ) {
    this.k = new Kernel(pr.dims, profile.knobs, this);
    this.k.secondaryOwner = pr.sc.secondaries.map((s) => pr.procIndex.get(s.of.name) ?? 0);
    this.k.allocZone = pr.sc.memory === 'movable' ? PG_ZONE_MOVABLE : pr.sc.memory === 'cma' ? PG_CMA : 0;
    // the first process exists from the start
    this.k.set(this.k.L.proc(0), 1);
    // declared files
    const L = this.k.L;
    pr.sc.files.forEach((f, fi) => {
      const o = L.file(fi);
      this.k.set(o + FI_FS, f.fs === 'ext4' ? FS_EXT4 : f.fs === 'tmpfs' ? FS_TMPFS : FS_HUGETLBFS);
      this.k.set(o + FI_SIZE, f.pages);
      const fill = encodeLit(f.fill);
      for (let i = 0; i < f.pages; i++) this.k.setDisk(fi, i, fill);
    });
    this.k.set(H_NEXT_FILE, pr.sc.files.length);
  }

  violation(v: Violation): void {
    const key = `${v.kind}|${this.line}|${v.detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.violations.push({ ...v, line: this.line });
    this.traceLog.push({ line: this.line, actor: this.actor, fn: `VIOLATION ${v.kind}`, what: v.detail });
  }
  trace(fn: string, what: string, knobs?: KnobUse[]): void {
    this.traceLog.push({ line: this.line, actor: this.actor, fn, what, ...(knobs ? { knobs } : {}) });
  }
  note(msg: string): void {
    if (!this.notes.some((n) => n.line === this.line && n.msg === msg)) this.notes.push({ line: this.line, msg });
  }

  procName = (p: number): string => this.pr.info.processes[p] ?? `process ${p}`;

  result(name: string): Res {
    const r = this.pr.resultIndex.get(name);
    if (r === undefined) return { tag: T_UNSET, val: 0 };
    const o = this.k.L.result(r);
    return { tag: this.k.s[o + R_TAG]!, val: this.k.s[o + R_VAL]! };
  }
  /** result(name).tag and .val without an object (execStep reads its inputs once per explored transition) */
  resultTag(name: string): number {
    const r = this.pr.resultIndex.get(name);
    return r === undefined ? T_UNSET : this.k.s[this.k.L.result(r) + R_TAG]!;
  }
  resultVal(name: string): number {
    const r = this.pr.resultIndex.get(name);
    return r === undefined ? 0 : this.k.s[this.k.L.result(r) + R_VAL]!;
  }
  setResult(name: string, res: Res): void {
    const r = this.pr.resultIndex.get(name);
    if (r === undefined) return;
    const o = this.k.L.result(r);
    this.k.set(o + R_TAG, res.tag);
    this.k.set(o + R_VAL, res.val);
  }
}

/** Thrown to skip a step whose input failed. */
class Skip extends Error {}

function resOf(r: OpResult): Res {
  switch (r.kind) {
    case 'ok':
      return { tag: T_OK, val: 0 };
    case 'value':
      return { tag: T_INT, val: r.v };
    case 'errno':
      return { tag: T_ERRNO, val: r.e };
    case 'signal':
      return { tag: T_SIGNAL, val: r.sig };
    case 'pin':
      return { tag: T_PIN, val: r.h };
    case 'pipe':
      return { tag: T_PIPE, val: r.h };
    case 'proc':
      return { tag: T_PROC, val: r.p };
    case 'mapping':
      return { tag: T_MAPPING, val: r.va };
    case 'file':
      return { tag: T_FILE, val: r.fi };
  }
}

/** Map a call to the interface this profile has (spec: "On a profile older than an interface ..."). */
function translateForProfile(run: Run, c: Call): Translated {
  // the same call on the same run translates the same way: asked again only while a sink listens (the knobs it
  // consults are then part of the trace) or when it made a note
  const known = run.k.tracing ? undefined : run.translated.get(c);
  if (known) return known;
  NOTED = false;
  const t = translate(run, c);
  if (!NOTED) run.translated.set(c, t);
  return t;
}
/** whether translate() took a path that makes a note (then it is asked again next time, and notes again) */
let NOTED = false;
type Translated = { name: string; foll: number; longtermUse: boolean };
function translate(run: Run, c: Call): Translated {
  const k = run.k;
  let name = c.name;
  const follArg = c.args.find((a, i) => opFor('process', c.name)?.params[i] === 'foll');
  let foll = flagBits(follArg, FOLL_BY_NAME);
  if (/^pin_user_pages/.test(name) && !k.on('foll_pin')) {
    const old = name.replace('pin_', 'get_');
    NOTED = true;
    run.note(`${name} is ${old} on ${run.profile.name} (FOLL_PIN arrived in 5.6)`);
    name = old;
  }
  if (foll & FOLL_NOT_MODELLED) {
    const names = Object.entries(FOLL_BY_NAME).filter(([, v]) => v & foll & FOLL_NOT_MODELLED).map(([n]) => n);
    throw new RunError(`${names.join('|')}: pinlab does not model ${names.length > 1 ? 'these flags' : 'this flag'} (modelled: FOLL_WRITE, FOLL_FORCE, FOLL_LONGTERM, FOLL_PIN, FOLL_GET, FOLL_PCI_P2PDMA, FOLL_TOUCH, FOLL_REMOTE, FOLL_ANON)`);
  }
  if (foll & FOLL_PIN && !k.on('foll_pin')) throw new RunError(`FOLL_PIN needs 5.6 (eddb1c228f79); ${run.profile.name} does not have it`);
  if (foll & FOLL_PCI_P2PDMA && !k.on('foll_pci_p2pdma'))
    throw new RunError(`FOLL_PCI_P2PDMA needs 6.2 (4003f107fa2e); ${run.profile.name} does not have it`);
  const longtermUse = (foll & FOLL_LONGTERM) !== 0;
  if (foll & FOLL_LONGTERM && !k.on('foll_longterm')) {
    NOTED = true;
    run.note(`FOLL_LONGTERM dropped on ${run.profile.name} (it arrived in 4.15)`);
    foll &= ~FOLL_LONGTERM; // the kernel gets no such flag; the pin handle remembers the caller's long-term use
  }
  return { name, foll, longtermUse };
}

/**
 * Execute one step -- or, with `loc`, one segment of it, from one preemption
 * point to the next (src/model/phased.ts). Returns the next phase, or -1 when
 * the step is finished.
 */
// ---- execStep's argument readers (module functions, not closures: execStep runs once per explored transition)

/** The process a step's actor names; a dead one skips the step. */
function procOf(run: Run, actorName: string): number {
  const p = run.pr.procIndex.get(actorName);
  if (p === undefined) throw new RunError(`${actorName} is not a process`);
  if (!run.k.procAlive(p)) {
    run.note(`${actorName} has exited: step skipped`);
    throw new Skip();
  }
  return p;
}
/** Resolve a name argument to a previous result of this tag. */
function needRes(run: Run, name: string, tag: number, what: string): number {
  const t = run.resultTag(name);
  if (t === tag) return run.resultVal(name);
  if (t === T_ERRNO || t === T_SKIPPED || t === T_SIGNAL || t === T_UNSET) throw new Skip();
  throw new RunError(`'${name}' is not ${what}`);
}
function mappingArg(run: Run, a: Arg | undefined): number {
  if (!a || a.kind !== 'name') throw new RunError('expected a mapping');
  return needRes(run, a.name, T_MAPPING, 'a mapping');
}
/** `x+N`: N pages into the mapping */
function pageOffset(a: Arg | undefined): number {
  return a?.kind === 'name' && a.offset ? a.offset.n : 0;
}
function fileArg(run: Run, a: Arg | undefined): number {
  if (!a || a.kind !== 'name') throw new RunError('expected a file');
  const fi = run.pr.fileIndex.get(a.name);
  if (fi !== undefined) return fi;
  return needRes(run, a.name, T_FILE, 'a file');
}
function intArg(a: Arg | undefined): number {
  if (!a || a.kind !== 'int') throw new RunError('expected an integer');
  return a.n;
}
function valArg(a: Arg | undefined): number {
  if (!a) throw new RunError('expected a value');
  return encodeLit(a);
}
function pinArg(run: Run, a: Arg | undefined, tag = T_PIN): number {
  if (!a || a.kind !== 'name') throw new RunError('expected a pin handle');
  return needRes(run, a.name, tag, tag === T_PIN ? 'a pin handle' : 'a pipe');
}
function mappingOrFile(run: Run, a: Arg | undefined, idx: number, sec: boolean): { va: number } | { file: number; idx: number } {
  if (!a || a.kind !== 'name') throw new RunError('expected a mapping or a file');
  if (run.pr.fileIndex.has(a.name) || run.resultTag(a.name) === T_FILE) {
    const fi = fileArg(run, a);
    return sec ? { va: guest_file_va(run.k, fi, idx) } : { file: fi, idx };
  }
  return { va: mappingArg(run, a) + idx };
}

export function execStep(run: Run, st: Step, phase = 0, loc: Int32Array | null = null): number {
  const pr = run.pr;
  const k = run.k;
  const actorName = st.actor.name;
  const kind = pr.info.actors.get(actorName) ?? 'process';
  run.line = st.line;
  run.actor = actorName;
  const target = st.stmt.kind === 'call' ? st.stmt.target?.name : st.stmt.kind === 'load' ? st.stmt.target.name : undefined;

  let op: ModelOp;
  try {
    const s = st.stmt;
    if (s.kind === 'store') {
      op = { op: 'store', p: procOf(run, actorName), va: needRes(run, s.mapping.name, T_MAPPING, 'a mapping') + s.index, value: encodeLit(s.value) };
    } else if (s.kind === 'load') {
      op = { op: 'load', p: procOf(run, actorName), va: needRes(run, s.mapping.name, T_MAPPING, 'a mapping') + s.index };
    } else {
      const c = s.call;
      const a = c.args;
      if (kind === 'secondary') {
        const sIdx = pr.secondaryIndex.get(actorName)!;
        const where = mappingOrFile(run, a[0], intArg(a[1]), true) as { va: number };
        if (c.name === 'map') op = { op: 'smmu_map', s: sIdx, va: where.va };
        else if (c.name === 'read') op = { op: 'smmu_read', s: sIdx, va: where.va };
        else op = { op: 'smmu_write', s: sIdx, va: where.va, value: valArg(a[2]) };
      } else if (kind === 'device') {
        if (c.name === 'dma_write') op = { op: 'dma_write', h: pinArg(run, a[0]), i: intArg(a[1]), value: valArg(a[2]) };
        else op = { op: 'dma_read', h: pinArg(run, a[0]), i: intArg(a[1]) };
      } else if (kind === 'sys') {
        switch (c.name) {
          case 'writeback':
            op = { op: 'writeback', file: fileArg(run, a[0]) };
            break;
          case 'reclaim':
            op = { op: 'reclaim' };
            break;
          case 'drop_caches':
            op = { op: 'drop_caches' };
            break;
          case 'compact':
            op = { op: 'compact' };
            break;
          case 'ksm_scan':
            op = { op: 'ksm_scan' };
            break;
          case 'migrate': {
            const w = mappingOrFile(run, a[0], intArg(a[1]), false);
            op = 'va' in w ? { op: 'migrate_va', p: 0, va: w.va } : { op: 'migrate_file', file: w.file, idx: w.idx };
            if ('va' in w) op = { op: 'migrate_va', p: ownerOfVa(run, w.va), va: w.va };
            break;
          }
          case 'memory_failure': {
            const w = mappingOrFile(run, a[0], intArg(a[1]), false);
            op = 'va' in w ? { op: 'memory_failure', p: ownerOfVa(run, w.va), va: w.va, file: -1, idx: 0 } : { op: 'memory_failure', p: 0, va: 0, file: w.file, idx: w.idx };
            break;
          }
          case 'make_secure': {
            if (!k.on('s390_pv') && !k.on('x86_sev')) throw new RunError(`make_secure needs a protected-guest profile (+s390_pv or +x86_sev)`);
            const va = mappingArg(run, a[0]) + intArg(a[1]);
            op = { op: 'make_secure', p: ownerOfVa(run, va), va };
            break;
          }
          default:
            throw new RunError(`unknown sys operation ${c.name}`);
        }
      } else {
        const p = procOf(run, actorName);
        const { name, foll, longtermUse } = translateForProfile(run, c);
        switch (name) {
          case 'mmap': {
            const backing = a[0]!;
            const f = backing.kind === 'name' && backing.name === 'anon' ? -1 : fileArg(run, backing);
            op = { op: 'mmap', p, file: f, pages: intArg(a[1]), prot: flagBits(a[2], PROT), flags: flagBits(a[3], MAPF) };
            break;
          }
          case 'munmap':
            op = { op: 'munmap', p, va: mappingArg(run, a[0]) + pageOffset(a[0]), pages: intArg(a[1]) };
            break;
          case 'mremap':
            op = { op: 'mremap', p, va: mappingArg(run, a[0]), pages: intArg(a[1]) };
            break;
          case 'mprotect':
            op = { op: 'mprotect', p, va: mappingArg(run, a[0]) + pageOffset(a[0]), pages: intArg(a[1]), prot: flagBits(a[2], PROT) };
            break;
          case 'madvise': {
            const adv = flagNames(a[2])[0]!;
            if ((adv === 'MADV_WIPEONFORK' || adv === 'MADV_KEEPONFORK') && !k.on('madv_wipeonfork'))
              throw new RunError(`${adv} needs 4.14 (d2cd9ede6e19); ${run.profile.name} does not have it`);
            op = { op: 'madvise', p, va: mappingArg(run, a[0]) + pageOffset(a[0]), pages: intArg(a[1]), advice: adv };
            break;
          }
          case 'fork': {
            const child = pr.procIndex.get(target ?? '');
            if (child === undefined) throw new RunError('fork() needs a name for the child');
            op = { op: 'fork', p, child };
            break;
          }
          case 'exit':
            op = { op: 'exit', p };
            break;
          case 'write':
            op = { op: 'write', p, file: fileArg(run, a[0]), idx: intArg(a[1]), value: valArg(a[2]) };
            break;
          case 'read':
            op = { op: 'read', p, file: fileArg(run, a[0]), idx: intArg(a[1]) };
            break;
          case 'ftruncate':
            op = { op: 'ftruncate', p, file: fileArg(run, a[0]), pages: intArg(a[1]) };
            break;
          case 'fsync':
            op = { op: 'fsync', p, file: fileArg(run, a[0]) };
            break;
          case 'get_user_pages':
          case 'get_user_pages_fast':
          case 'pin_user_pages':
          case 'pin_user_pages_fast': {
            const kindBit = name.startsWith('pin') ? FOLL_PIN : FOLL_GET;
            if (name.startsWith('pin') && foll & FOLL_GET) {
              op = { op: 'gup', p, va: mappingArg(run, a[0]), n: intArg(a[1]), foll: FOLL_GET | FOLL_PIN, fast: false };
              break;
            }
            op = { op: 'gup', p, va: mappingArg(run, a[0]), n: intArg(a[1]), foll: foll | kindBit, fast: name.endsWith('_fast'), longtermUse };
            break;
          }
          case 'get_user_pages_remote':
          case 'pin_user_pages_remote': {
            const tp = procArg(run, a[0]);
            const kindBit = name.startsWith('pin') ? FOLL_PIN : FOLL_GET;
            op = { op: 'gup', p: tp, va: mappingArg(run, a[1]), n: intArg(a[2]), foll: foll | kindBit, fast: false, longtermUse };
            break;
          }
          case 'unpin_user_pages':
            op = { op: 'unpin', h: pinArg(run, a[0]), dirty: false, put: false };
            break;
          case 'unpin_user_pages_dirty_lock':
            op = { op: 'unpin', h: pinArg(run, a[0]), dirty: true, put: false };
            break;
          case 'put_pages':
            op = { op: 'unpin', h: pinArg(run, a[0]), dirty: false, put: true };
            break;
          case 'vmsplice':
            op = { op: 'vmsplice', p, va: mappingArg(run, a[0]), n: intArg(a[1]) };
            break;
          case 'read_pipe':
            op = { op: 'read_pipe', p, h: pinArg(run, a[0], T_PIPE), i: intArg(a[1]) };
            break;
          case 'io_uring_register_buffers':
            if (!k.on('io_uring')) throw new RunError(`io_uring needs 5.1 (edafccee56ff); ${run.profile.name} does not have it`);
            op = { op: 'io_uring_register', p, va: mappingArg(run, a[0]), n: intArg(a[1]) };
            break;
          case 'odirect_read':
            op = { op: 'odirect_read', p, file: fileArg(run, a[0]), idx: intArg(a[1]), va: mappingArg(run, a[2]) };
            break;
          case 'odirect_write':
            op = { op: 'odirect_write', p, file: fileArg(run, a[0]), idx: intArg(a[1]), va: mappingArg(run, a[2]) };
            break;
          case 'proc_mem_write':
            op = { op: 'proc_mem_write', p, va: mappingArg(run, a[0]) + intArg(a[1]), value: valArg(a[2]) };
            break;
          case 'memfd_restricted':
          case 'guest_memfd':
            if (!k.on('guest_memfd') && !k.on('upm_v10'))
              throw new RunError(
                name === 'guest_memfd'
                  ? `guest_memfd needs 6.8 (a7800aa80ea4); ${run.profile.name} does not have it`
                  : `memfd_restricted was never merged: use a +upm_v10 variant, or 6.8 where guest_memfd replaces it`,
              );
            if (name === 'memfd_restricted' && !k.on('upm_v10')) run.note(`memfd_restricted creates a guest_memfd on ${run.profile.name}`);
            op = { op: 'guest_memfd', p, pages: intArg(a[0]) };
            break;
          case 'memfd_create':
            op = { op: 'memfd_create', p, pages: intArg(a[0]), secret: false };
            break;
          case 'memfd_secret':
            if (!k.on('secretmem')) throw new RunError(`memfd_secret needs 5.14 (1507f51255c9); ${run.profile.name} does not have it`);
            op = { op: 'memfd_create', p, pages: intArg(a[0]), secret: true };
            break;
          case 'p2pmem':
            op = { op: 'p2pmem', pages: intArg(a[0]) };
            break;
          case 'process_vm_writev':
            op = { op: 'process_vm_writev', p, target: procArg(run, a[0]), va: mappingArg(run, a[1]) + intArg(a[2]), value: valArg(a[3]) };
            break;
          default:
            throw new RunError(`operation ${name} is not modelled`);
        }
      }
    }
  } catch (e) {
    if (e instanceof Skip) {
      if (target) run.setResult(target, { tag: T_SKIPPED, val: 0 });
      if (!run.notes.some((n) => n.line === st.line)) run.note('skipped: an input of this step failed or was skipped');
      return -1;
    }
    throw e;
  }
  let r: OpResult;
  if (loc) {
    const ph = applyPhase(k, op, phase, loc, run.procName);
    if (ph.next >= 0) return ph.next;
    r = ph.result;
  } else {
    r = apply(k, op, run.procName);
  }
  if (target) run.setResult(target, resOf(r));
  if (r.kind === 'signal' && !target) run.note(`${actorName} got ${SIGNAL_NAME[r.sig]}`);
  return -1;
}

function procArg(run: Run, a: Arg | undefined): number {
  if (!a || a.kind !== 'name') throw new RunError('expected a process');
  const p = run.pr.procIndex.get(a.name);
  if (p === undefined) throw new RunError(`'${a.name}' is not a process`);
  if (!run.k.procAlive(p)) throw new Skip();
  return p;
}

/** Which live process maps this virtual page (for sys operations that name an address). */
function ownerOfVa(run: Run, va: number): number {
  for (let p = 0; p < run.pr.dims.procs; p++) if (run.k.procAlive(p) && run.k.vmFlags(p, va) !== 0) return p;
  return 0;
}

// ---- outcome clauses

const clauseMatchers = new WeakMap<Clause, VersionMatcher[] | null>();
/** A clause's version set as matchers (memoised per clause: every profile run asks, and the same array answers to the same question in runner.ts). */
export function matchersOf(_sc: Scenario, c: Clause): VersionMatcher[] | null {
  let ms = clauseMatchers.get(c);
  if (ms === undefined) clauseMatchers.set(c, (ms = c.versions ? matchersOfSet(c.versions) : null));
  return ms;
}

/** A finished run's observable outcome, against which predicates are evaluated. */
export interface Outcome {
  result(name: string): Res;
  violations: Set<ViolationKind>;
  disk(file: string, idx: number): number | undefined;
}

function litMatches(o: Outcome, r: Res, v: ValueLit): boolean {
  switch (v.kind) {
    case 'char':
      return r.tag === T_INT && r.val === encodeChar(v.ch);
    case 'int':
      return r.tag === T_INT && r.val === (v.n | 0);
    case 'name': {
      if (v.name in ERRNO_BY_NAME) return r.tag === T_ERRNO && r.val === ERRNO_BY_NAME[v.name];
      if (v.name in SIGNAL_BY_NAME) return r.tag === T_SIGNAL && r.val === SIGNAL_BY_NAME[v.name];
      const other = o.result(v.name);
      return other.tag !== T_UNSET && other.tag === r.tag && other.val === r.val;
    }
  }
}

export function evalPred(p: Pred, o: Outcome): boolean {
  switch (p.kind) {
    case 'and':
      return evalPred(p.left, o) && evalPred(p.right, o);
    case 'or':
      return evalPred(p.left, o) || evalPred(p.right, o);
    case 'not':
      return !evalPred(p.inner, o);
    case 'clean':
      return o.violations.size === 0;
    case 'violation':
      return o.violations.has(p.violation.name as ViolationKind);
    case 'ok': {
      const r = o.result(p.name.name);
      return r.tag !== T_UNSET && r.tag !== T_ERRNO && r.tag !== T_SKIPPED && r.tag !== T_SIGNAL;
    }
    case 'skipped':
      return o.result(p.name.name).tag === T_SKIPPED;
    case 'cmp': {
      let eq: boolean;
      if (p.lhs.kind === 'disk') {
        const d = o.disk(p.lhs.file.name, p.lhs.index);
        eq = d !== undefined && litMatches(o, { tag: T_INT, val: d }, p.rhs);
      } else {
        eq = litMatches(o, o.result(p.lhs.name.name), p.rhs);
      }
      return p.op === '==' ? eq : !eq;
    }
  }
}

/** Show a result the way the spec's report prints it. */
export function showResult(pr: Prepared, k: Kernel, r: Res): string | number {
  switch (r.tag) {
    case T_INT:
      return r.val >= CHAR_BASE ? String.fromCodePoint(r.val - CHAR_BASE) : r.val;
    case T_ERRNO:
      return ERRNO_NAME[r.val] ?? `errno ${r.val}`;
    case T_SIGNAL:
      return SIGNAL_NAME[r.val] ?? `signal ${r.val}`;
    case T_SKIPPED:
      return 'skipped';
    case T_OK:
      return 'ok';
    case T_PIN:
      return `pin#${r.val + 1}`;
    case T_PIPE:
      return `pipe#${r.val + 1}`;
    case T_PROC:
      return pr.info.processes[r.val] ?? `process ${r.val}`;
    case T_MAPPING:
      return `0x${(0x10000 + r.val).toString(16)}000`;
    case T_FILE:
      return pr.sc.files[r.val]?.name.name ?? `memfd#${r.val - pr.sc.files.length + 1}`;
    default:
      return 'unset';
  }
}

/** Run a prepared scenario on one profile; `kernel` names the result (runner.ts passes it so as not to ask a recording profile its name). */
export function runProfile(pr: Prepared, profile: Profile, kernel: string = profile.name): ProfileRun {
  const run = new Run(pr, profile);
  const out: ProfileRun = { kernel, values: {}, contentNames: [], violations: [], notes: [], checks: [], states: 1, trace: [] };
  if (pr.concurrent) {
    run.note(
      `this scenario has ${pr.sc.body.some((b) => b.kind === 'par') ? 'par blocks' : ''}${pr.sc.body.some((b) => b.kind === 'par') && pr.sc.background.length ? ' and ' : ''}${pr.sc.background.length ? 'background events' : ''}: v1 runs the steps in written order and fires no background event; exists/never clauses are not explored`,
    );
  }
  try {
    for (const st of pr.steps()) execStep(run, st);
  } catch (e) {
    if (e instanceof RunError) out.error = `line ${run.line}: ${e.message}`;
    else if (e instanceof ModelInvariantError || e instanceof ModelCapacityError) out.error = `line ${run.line}: model error: ${e.message}`;
    else throw e;
  }
  const k = run.k;
  for (const name of pr.resultIndex.keys()) {
    const r = run.result(name);
    out.values[name] = showResult(pr, k, r);
    if (r.tag === T_INT) out.contentNames.push(name);
  }
  out.violations = run.violations;
  out.notes = run.notes;
  out.trace = run.traceLog;
  out.kernelState = k;
  const outcome: Outcome = {
    result: (n) => run.result(n),
    violations: new Set(run.violations.map((v) => v.kind)),
    disk: (file, idx) => {
      const fi = pr.fileIndex.get(file) ?? (run.result(file).tag === T_FILE ? run.result(file).val : undefined);
      if (fi === undefined || idx < 0 || idx >= k.L.d.filePages) return undefined;
      return disk_content(k, fi, idx);
    },
  };
  for (const c of pr.sc.clauses) {
    const ms = matchersOf(pr.sc, c);
    if (ms && !profileMatches(ms, profile)) continue;
    let status: ClauseResult['status'];
    if (out.error) status = 'failed';
    else if (c.kind !== 'expect' && pr.concurrent) status = 'not explored';
    else {
      const v = evalPred(c.pred, outcome);
      status = (c.kind === 'never' ? !v : v) ? 'passed' : 'failed';
    }
    out.checks.push({ line: c.line, clause: c.text, status, passed: status === 'passed' });
  }
  return out;
}

export { showValue };
