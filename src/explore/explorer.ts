// The interleaving explorer. A state is the model's Int32Array followed by a
// control block: the current body block, and per thread (main, each par
// thread, each background event) its program counter, the phase of the
// operation it is inside, and that operation's locals. A transition advances
// one thread to its next preemption point (src/model/phased.ts), so threads
// interleave inside kernel paths, not only between steps.
//
// Search: breadth-first over fingerprinted states (FpSet), so the first final
// state found for a clause is reached by the fewest transitions: the shortest
// witness or counterexample. Bounds (--max-states, --max-depth) are reported
// and make the result incomplete, never "passed".
//
// Per transition: advance a copy of the parent (`work`), renumber folios and
// pin handles (canon.ts) unless no word the renumbering reads changed, find
// the words that differ from the parent -- from the model's write log
// (WriteLog; diffState compares the whole state) -- and update its
// fingerprint from them, then put those words back. New states
// are kept as parent + delta (delta.ts), a layer being an id range rebuilt
// from the tree; with jobs > 1 workers expand parts of each layer (parallel.ts).
// Every optimisation has a switch (exploreSwitches) and a test that it changes
// no verdict, witness length or outcome (test/explorer-opts.test.ts).

import type { Block, Clause, Par, Step } from '../lang/ast.js';
import type { ViolationKind } from '../lang/ops.js';
import { NULL_SINK, VIOLATION_BIT, type Kernel, type KnobUse } from '../model/kernel.js';
import {
  E_FOLIO,
  E_PTE,
  F_COMPOUND,
  F_FLAGS,
  F_INDEX,
  F_MAPPING,
  F_STRIDE,
  F_SWAP,
  H_HUGE_ZERO,
  KP_FOLIO,
  H_NEXT_FOLIO,
  H_NEXT_PIN,
  H_VIOLATIONS,
  K_STRIDE,
  KP_STRIDE,
  PG_ALIVE,
  PG_SWAPCACHE,
  PTE_MIGRATION,
  PTE_PRESENT,
  R_TAG,
  R_VAL,
  S_FOLIO,
  T_FILE,
} from '../model/state.js';
import { DeltaTree } from './delta.js';
import { ExplorePool, expandChunk, type ChunkCtx, type LayerJob, type LayerResult } from './parallel.js';
import { disk_content } from '../model/api.js';
import { GC_FOLIOS, GC_I } from '../model/gup.js';
import { phasedLocals, LOCK_NONE, LOCK_PTL, LOCK_READ, LOCK_WRITE } from '../model/phased.js';
import { Canonicalizer, Ints, type FolioRefs } from './canon.js';
import { evalPred, execStep, matchersOf, Prepared, Run, showResult, type Outcome, type TraceEntry } from '../interp/interpreter.js';
import { profileMatches, type Profile } from '../profiles/profiles.js';
import { FpSet, collisionBound } from './fpset.js';
import { Chunked } from './chunked.js';
import { ArrayFrontier, PackedFrontier, type Frontier } from './frontier.js';
import { VIOLATION_KINDS } from '../lang/ops.js';

export interface ExploreOptions {
  /** symmetry reduction over folio numbering (default on) */
  reduce?: boolean;
  /** symmetry reduction over pin handle numbering (default on; env PINLAB_EXPLORE=no-symmetry-pins) */
  symmetryPins?: boolean;
  /** BFS layers packed in typed arrays, no object per state (default on; PINLAB_EXPLORE=no-packed-frontier) */
  packedFrontier?: boolean;
  /** each thread's control-block slot sized for what it runs, not for a GUP cursor (default on; PINLAB_EXPLORE=no-compact-ctl) */
  compactCtl?: boolean;
  /** keep states as parent + delta and rebuild each layer from them, not whole states per layer (default on; PINLAB_EXPLORE=no-delta-states) */
  deltaStates?: boolean;
  /** worker threads for this one exploration (default 1, or PINLAB_EXPLORE_JOBS; needs deltaStates): the same search, the same result */
  jobs?: number;
  /** with jobs > 1, the smallest layer handed to the workers (default 256; tests use 1) */
  jobsMinLayer?: number;
  /** with jobs > 1, whether the coordinator takes chunks too (default true; tests turn it off so every chunk crosses threads) */
  jobsCoordinatorExpands?: boolean;
  /** update the fingerprint from the words a transition changed, not the whole state (default on; PINLAB_EXPLORE=no-incremental-hash) */
  incrementalHash?: boolean;
  /**
   * find the words a transition changed from the model's write log (Kernel.set) instead of comparing the state
   * with its parent, and skip renumbering when no word it reads changed (default on; PINLAB_EXPLORE=no-write-log)
   */
  writeLog?: boolean;
  maxStates?: number;
  maxDepth?: number;
  /** called once at the end with the search's own memory, in bytes (for benchmarks) */
  memory?: (m: { fingerprints: number; parents: number; deltas: number; frontier: number }) => void;
  /** called now and then with the running totals */
  progress?: (states: number, transitions: number, depth: number) => void;
}

export interface ClauseVerdict {
  clause: Clause;
  positive: number;
  negative: number;
  observation: 'Always' | 'Sometimes' | 'Never';
  status: 'passed' | 'failed';
  reason?: string;
  /** shortest witness (exists) or counterexample (expect, never) */
  trace?: WitnessStep[];
}

export interface WitnessStep {
  n: number;
  actor: string;
  line: number;
  stmt: string;
  /** which segment of a phased operation this transition ran */
  segment: string;
  calls: { fn: string; what: string; knobs?: KnobUse[] }[];
}

export interface FinalOutcome {
  values: Record<string, string | number>;
  contentNames: string[];
  violations: { kind: ViolationKind; line: number; detail: string }[];
}

export interface ExploreResult {
  states: number;
  transitions: number;
  finals: number;
  depth: number;
  complete: boolean;
  bound?: 'max-states' | 'max-depth';
  /** set in random-walk mode: nothing was exhausted */
  random?: { walks: number; seed: number };
  collisionProbability: number;
  outcomes: FinalOutcome[];
  verdicts: ClauseVerdict[];
  ms: number;
}

/** The scenario compiled to threads and a control-block layout. */
export class Program {
  readonly blocks: Block[];
  readonly parThreads: number;
  readonly bgSteps: Step[];
  readonly bgCounts: number[];
  /** the locals of a slot that may run a GUP cursor (phasedLocals) */
  readonly locals: number;
  /** each slot's locals: sized for the largest operation its thread runs (compact control block), or all `locals` */
  readonly slotLocals: number[];
  private readonly bases: number[];
  private readonly bgStart: number;
  readonly nslots: number;
  readonly ctlSize: number;
  /** where the model's state starts (after the control block) */
  readonly ks: number;

  constructor(
    readonly pr: Prepared,
    compactCtl = exploreSwitches({}).compactCtl,
  ) {
    this.blocks = pr.sc.body;
    this.parThreads = Math.max(0, ...this.blocks.map((b) => (b.kind === 'par' ? b.threads.length : 0)));
    this.bgSteps = pr.sc.background.map((b) => ({
      kind: 'step' as const,
      actor: { name: 'sys', pos: b.call.pos },
      stmt: { kind: 'call' as const, target: null, call: b.call },
      line: b.call.pos.line,
    }));
    this.bgCounts = pr.sc.background.map((b) => b.count);
    this.locals = phasedLocals(pr.dims.pinPages);
    this.nslots = 1 + this.parThreads + this.bgSteps.length;
    const need = (st: Step) => (compactCtl ? localsNeeded(pr, st, this.locals) : this.locals);
    const sizes = new Array<number>(this.nslots).fill(compactCtl ? 2 : this.locals);
    const fit = (slot: number, st: Step) => (sizes[slot] = Math.max(sizes[slot]!, need(st)));
    for (const b of this.blocks) {
      if (b.kind === 'step') fit(0, b);
      else b.threads.forEach((t, i) => t.forEach((st) => fit(1 + i, st)));
    }
    this.bgSteps.forEach((st, e) => fit(1 + this.parThreads + e, st));
    this.slotLocals = sizes;
    this.bases = [];
    let o = 1;
    for (let slot = 0; slot < this.nslots; slot++) {
      this.bases.push(o);
      o += 2 + sizes[slot]!;
    }
    this.bgStart = o;
    this.ctlSize = o + this.bgSteps.length;
    this.ks = this.ctlSize;
  }

  slotBase(slot: number): number {
    return this.bases[slot]!;
  }
  bgRemainingAt(e: number): number {
    return this.bgStart + e;
  }

  /** Initial control block: at block 0, no thread inside an operation, every background event available. */
  /**
   * A run's initial state with this program's control block in front of it (the layout the
   * search, witness replay and random walks share); the run's kernel then works on its part.
   */
  attach(run: Run): Int32Array {
    const s = new Int32Array(this.ks + run.k.L.size);
    s.set(run.k.s, this.ks);
    this.initCtl(s);
    run.k.s = s.subarray(this.ks);
    return s;
  }

  initCtl(s: Int32Array): void {
    s[0] = 0;
    this.bgCounts.forEach((c, e) => (s[this.bgRemainingAt(e)] = c));
    this.normalize(s);
  }

  /** Skip par blocks whose threads have all finished (and empty ones). */
  normalize(s: Int32Array): void {
    for (;;) {
      const seg = s[0]!;
      const b = this.blocks[seg];
      if (!b || b.kind !== 'par') return;
      const allDone = b.threads.every((t, i) => s[this.slotBase(1 + i)]! >= t.length);
      if (!allDone) return;
      for (let i = 0; i < b.threads.length; i++) s[this.slotBase(1 + i)] = 0;
      s[0] = seg + 1;
    }
  }

  /** Threads that can move (slot numbers). */
  enabled(s: Int32Array, out: number[]): void {
    // written by index and cut to length once (`out.length = 0` then push would drop and reallocate its storage)
    let n = 0;
    const seg = s[0]!;
    const b = this.blocks[seg];
    if (b) {
      if (b.kind === 'step') out[n++] = 0;
      else for (let i = 0; i < b.threads.length; i++) if (s[this.slotBase(1 + i)]! < b.threads[i]!.length) out[n++] = 1 + i;
    }
    for (let e = 0; e < this.bgSteps.length; e++) {
      const slot = 1 + this.parThreads + e;
      if (s[this.slotBase(slot) + 1]! > 0 || (b && s[this.bgRemainingAt(e)]! > 0)) out[n++] = slot;
    }
    out.length = n;
    // mmap_lock, per mm: a suspended operation holds it (GUP's slow path for read at P1,
    // fork for write throughout); nothing whose next segment needs a conflicting mode may run
    // (the holders in reused arrays: this runs once per state expanded)
    const hSlot = this.hSlot;
    const hMm = this.hMm;
    const hHeld = this.hHeld;
    let nh = 0;
    for (let slot = 0; slot < this.nslots; slot++) {
      const base = this.slotBase(slot);
      if (s[base + 1] === 0) continue;
      const held = s[base + 2 + this.slotLocals[slot]! - 1]!;
      const mm = held ? this.infoAt(s, slot).lockMm : null;
      if (mm) {
        hSlot[nh] = slot;
        hMm[nh] = mm;
        hHeld[nh++] = held;
      }
    }
    if (nh) {
      for (let i = out.length - 1; i >= 0; i--) {
        const slot = out[i]!;
        const base = this.slotBase(slot);
        const si = this.infoAt(s, slot);
        const need = s[base + 1]! > 0 ? s[base + 2 + this.slotLocals[slot]! - 2]! : si.startLock;
        let blocked = false;
        // fork at P7 holds a PTE lock: a step that walks the rmap (and so takes PTE locks) waits for it
        if (si.walksRmap) for (let h = 0; h < nh && !blocked; h++) blocked = hSlot[h] !== slot && hHeld[h] === LOCK_PTL;
        if (!blocked && need !== LOCK_NONE) {
          const mm = si.lockMm;
          for (let h = 0; h < nh && !blocked; h++) blocked = hSlot[h] !== slot && hMm[h] === mm && (need === LOCK_WRITE || hHeld[h]! >= LOCK_WRITE);
        }
        if (blocked) {
          // (removed by hand: splice() returns an array of what it removed)
          for (let j = i + 1; j < out.length; j++) out[j - 1] = out[j]!;
          out.length--;
        }
      }
    }
  }
  private readonly hSlot: number[] = [];
  private readonly hMm: (string | null)[] = [];
  private readonly hHeld: number[] = [];

  /** What the explorer needs to know about a step, worked out once (no regular expression per transition). */
  private readonly infos = new Map<Step, StepInfo>();
  info(st: Step): StepInfo {
    let i = this.infos.get(st);
    if (!i) {
      const name = st.stmt.kind === 'call' ? st.stmt.call.name : '';
      const folio =
        name === 'reclaim'
          ? FL_RECLAIM
          : name === 'writeback' || name === 'fsync'
            ? FL_WRITEBACK
            : name === 'migrate'
              ? FL_FIRST
              : st.actor.name !== 'sys' && this.pr.secondaryIndex.has(st.actor.name)
                ? FL_FIRST
                : /user_pages|proc_mem_write/.test(name)
                  ? FL_GUP
                  : FL_NONE;
      i = { folio, dio: name === 'odirect_read' || name === 'odirect_write', lockMm: lockMm(st), startLock: startLock(st), walksRmap: walksRmap(st) };
      this.infos.set(st, i);
    }
    return i;
  }

  private readonly folioRefs: FolioRefs = new Ints();
  /** Thread locals holding folio numbers (flat pairs: offset, count), or null if the numbering is observable (a reclaim in flight). */
  folioLocals(s: Int32Array): FolioRefs | null {
    const refs = this.folioRefs;
    refs.clear();
    for (let slot = 0; slot < this.nslots; slot++) if (!this.slotFolioLocals(s, slot, refs)) return null;
    return refs;
  }
  /** The locals of one thread that hold folio numbers, appended to `refs`; false if it is inside a reclaim. */
  slotFolioLocals(s: Int32Array, slot: number, refs: FolioRefs): boolean {
    const base = this.slotBase(slot);
    if (s[base + 1] === 0) return true;
    const f = this.infoAt(s, slot).folio;
    const loc = base + 2;
    if (f === FL_NONE) return true;
    if (f === FL_RECLAIM) return false;
    if (f === FL_WRITEBACK) {
      refs.push(loc + 1);
      refs.push(1);
    } else if (f === FL_FIRST) {
      refs.push(loc); // migrate's P6 folio; a secondary MMU's P8 looked-up folio
      refs.push(1);
    } else {
      refs.push(loc + GC_FOLIOS);
      refs.push(s[loc + GC_I]!);
      refs.push(loc + this.slotLocals[slot]! - 5); // GUP-fast's folio snapshot (P2)
      refs.push(1);
    }
    return true;
  }
  /** The local of one thread that holds a pin handle (a suspended O_DIRECT's buffer), or -1. */
  slotPinLocal(s: Int32Array, slot: number): number {
    const base = this.slotBase(slot);
    return s[base + 1] !== 0 && this.infoAt(s, slot).dio ? base + 2 : -1;
  }

  /** Offsets of thread locals holding pin handle numbers: a suspended O_DIRECT's buffer (loc[0], direct_io.ts). */
  pinLocals(s: Int32Array, out: Ints): Ints {
    out.clear();
    for (let slot = 0; slot < this.nslots; slot++) {
      const o = this.slotPinLocal(s, slot);
      if (o >= 0) out.push(o);
    }
    return out;
  }

  /**
   * Apply the symmetry reductions to the explorer's buffer `s` (control block
   * then model state `kview`): folio numbering, then pin handles (and folios
   * again when handles moved: the folio walk visits handles in order). Returns
   * whether the result is known to be a fixed point (renumbering it again
   * changes nothing: each pass alone is idempotent, and only the second folio
   * pass can change the pin records' contents the handle order was sorted by).
   */
  canonicalize(canon: Canonicalizer, s: Int32Array, kview: Int32Array, sym: Symmetry): boolean {
    canon.moved = false;
    const refs = sym.folios ? this.folioLocals(s) : null;
    if (refs) canon.canonicalize(kview, s, refs);
    // folios again only if one was first reached through a handle: otherwise the handles' order decides no folio number
    if (sym.pins && canon.canonicalizePins(kview, s, this.pinLocals(s, this.pinRefs)) && refs && canon.viaPins) {
      canon.canonicalize(kview, s, refs);
      return false;
    }
    return true;
  }
  private readonly pinRefs = new Ints();

  /**
   * canonicalize() when only what the handle pass reads changed since a fixed point: the handles, and the
   * folios only if handles moved (the folio pass on the parent's words is the identity; after handles moved,
   * it renumbers only if a folio is first reached through a handle, as the second pass would; not when the
   * caller knows that every handle's folio is in the page cache).
   */
  canonicalizeHandles(canon: Canonicalizer, s: Int32Array, kview: Int32Array, sym: Symmetry, pinFoliosInCache: boolean): boolean {
    canon.moved = false;
    // no folio first reached through a handle (every handle's folio is in the page cache): the order of handles decides no folio number
    if (!canon.canonicalizePins(kview, s, this.pinLocals(s, this.pinRefs)) || pinFoliosInCache) return true;
    const refs = sym.folios ? this.folioLocals(s) : null;
    if (!refs) return true;
    canon.canonicalize(kview, s, refs);
    return !canon.viaPins;
  }

  /** info(stepOf(s, slot)) from tables made on first use (a Map lookup per question was 1.5% of a search) */
  private blockInfos: (StepInfo | undefined)[] = [];
  private threadInfos: (StepInfo | undefined)[][] = [];
  private bgInfos: (StepInfo | undefined)[] = [];
  infoAt(s: Int32Array, slot: number): StepInfo {
    const seg = s[0]!;
    if (slot === 0) return (this.blockInfos[seg] ??= this.info(this.stepOf(s, 0)));
    if (slot <= this.parThreads) {
      const t = (this.threadInfos[seg * this.nslots + slot] ??= []);
      return (t[s[this.slotBase(slot)]!] ??= this.info(this.stepOf(s, slot)));
    }
    return (this.bgInfos[slot] ??= this.info(this.stepOf(s, slot)));
  }

  /**
   * Renumber `s` after a transition from a parent (pbuf from pat, plen words): skipped, or cut to the handles,
   * when the parent is a fixed point (`pfixed`) and the write log shows nothing the renumbering reads changed
   * (WriteLog.renumbering), else in full. Returns RENUM_FIXED if the result is known to be a fixed point,
   * RENUM_MOVED if renumbering moved folios or handles. (The search and the parallel search's expansions share it.)
   */
  renumberAfter(canon: Canonicalizer, s: Int32Array, kview: Int32Array, sym: Symmetry, wl: WriteLog | null, pbuf: Int32Array, pat: number, plen: number, slot: number, pfixed: boolean): number {
    const need = wl && pfixed ? wl.renumbering(s, pbuf, pat, plen, slot) : -1;
    if (need >= 0 && wl!.check) wl!.checkBefore(s);
    let fixed: boolean;
    if (need === 0) {
      fixed = true; // renumbering would change nothing: skipped
      wl!.skipped++;
    } else if (need === RN_HANDLES) {
      fixed = this.canonicalizeHandles(canon, s, kview, sym, wl!.pinFoliosInCache(s));
      wl!.handlesOnly++;
    } else fixed = this.canonicalize(canon, s, kview, sym);
    const moved = need !== 0 && canon.moved; // (before the check, which renumbers a copy with the same canon)
    if (need >= 0 && wl!.check) wl!.checkRenumbering(canon, s, need, fixed);
    return (fixed ? RENUM_FIXED : 0) | (moved ? RENUM_MOVED : 0);
  }

  /** The step a slot would run next. */
  stepOf(s: Int32Array, slot: number): Step {
    if (slot === 0) return this.blocks[s[0]!] as Step;
    if (slot <= this.parThreads) {
      const par = this.blocks[s[0]!] as Par;
      return par.threads[slot - 1]![s[this.slotBase(slot)]!]!;
    }
    return this.bgSteps[slot - 1 - this.parThreads]!;
  }

  private locBuf: Int32Array | null = null;
  private locViews: Int32Array[] = [];
  /** The locals of a slot as a view of `s` (kept per buffer: no view allocated per transition). */
  private locView(s: Int32Array, slot: number): Int32Array {
    if (s !== this.locBuf) {
      this.locBuf = s;
      this.locViews = Array.from({ length: this.nslots }, (_, i) => s.subarray(this.slotBase(i) + 2, this.slotBase(i) + 2 + this.slotLocals[i]!));
    }
    return this.locViews[slot]!;
  }

  /** Advance one thread to its next preemption point. `run.k.s` must view `s`. Returns the segment it ran. */
  advance(run: Run, s: Int32Array, slot: number): number {
    const base = this.slotBase(slot);
    const st = this.stepOf(s, slot);
    const phase = s[base + 1]! - 1; // 0 = idle
    const loc = this.locView(s, slot);
    const from = phase < 0 ? 0 : phase;
    const next = execStep(run, st, from, loc);
    if (next >= 0) {
      s[base + 1] = next + 1;
      return from;
    }
    s[base + 1] = 0;
    loc.fill(0);
    if (slot === 0) s[0] = s[0]! + 1;
    else if (slot <= this.parThreads) s[base] = s[base]! + 1;
    else {
      const e = slot - 1 - this.parThreads;
      s[this.bgRemainingAt(e)] = s[this.bgRemainingAt(e)]! - 1;
    }
    this.normalize(s);
    return from;
  }
}

/** Program.renumberAfter's answer */
const RENUM_FIXED = 1;
const RENUM_MOVED = 2;

const FL_NONE = 0;
const FL_RECLAIM = 1;
const FL_WRITEBACK = 2;
const FL_FIRST = 3;
const FL_GUP = 4;
/** A step's facts for the explorer: where its locals hold folios (FL_*), whether they hold a pin handle (O_DIRECT), its mmap_lock. */
export interface StepInfo {
  folio: number;
  dio: boolean;
  lockMm: string | null;
  startLock: number;
  walksRmap: boolean;
}

/** Which symmetry reductions a search (and the replay of its witnesses) applies. */
export interface Symmetry {
  folios: boolean;
  pins: boolean;
}

/** The explorer's switches, with their defaults: every optimisation on unless the option or PINLAB_EXPLORE (comma-separated no-<name>) turns it off. */
export interface Switches {
  sym: Symmetry;
  packedFrontier: boolean;
  incrementalHash: boolean;
  writeLog: boolean;
  compactCtl: boolean;
  deltaStates: boolean;
  jobs: number;
}
export function exploreSwitches(opts: ExploreOptions): Switches {
  const env = new Set((process.env.PINLAB_EXPLORE ?? '').split(',').map((x) => x.trim()).filter(Boolean));
  const on = (v: boolean | undefined, name: string) => v ?? !env.has(`no-${name}`);
  return {
    sym: { folios: on(opts.reduce, 'reduction'), pins: on(opts.symmetryPins, 'symmetry-pins') },
    packedFrontier: on(opts.packedFrontier, 'packed-frontier'),
    compactCtl: on(opts.compactCtl, 'compact-ctl'),
    deltaStates: on(opts.deltaStates, 'delta-states'),
    jobs: Math.max(1, Math.floor(opts.jobs ?? (Number(process.env.PINLAB_EXPLORE_JOBS) || 1))),
    incrementalHash: on(opts.incrementalHash, 'incremental-hash'),
    writeLog: on(opts.writeLog, 'write-log'),
  };
}

// The fingerprint of a state: the sum, in two 32-bit lanes, of a hash of
// (index, value) over its non-zero words (zero words add nothing, so a state
// is hashed the same whatever its stored length). A transition changes a few
// words, so the explorer updates its parent's sum from the words that differ
// (incremental hashing) instead of rehashing the whole state; the
// renumberings are words that differ like any other. With z(i, v) modelled as
// a random function, two different states share both lanes with probability
// 2^-64, so the birthday bound n^2 / 2^65 (collisionBound) still holds.
let FA = 0;
let FB = 0;
function fmix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
}
function zA(i: number, v: number): number {
  return fmix(fmix(v ^ 0x2545f491) ^ Math.imul(i + 1, 0x9e3779b1));
}
function zB(i: number, v: number): number {
  return fmix(fmix(v + 0x68e31da4) + Math.imul(i + 1, 0x7feb352d)) ^ 0x5bd1e995;
}
/** What each lane gains when word i goes from `old` to `v` (a zero word contributes nothing): the incremental update, for the whole-state and the logged diff alike. */
function dA(i: number, old: number, v: number): number {
  return (v === 0 ? 0 : zA(i, v)) - (old === 0 ? 0 : zA(i, old));
}
function dB(i: number, old: number, v: number): number {
  return (v === 0 ? 0 : zB(i, v)) - (old === 0 ? 0 : zB(i, old));
}
/** The fingerprint of the first `len` words of `s`, from scratch, into FA, FB. */
function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
function growU8(a: Uint8Array): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(a.length * 2);
  b.set(a);
  return b;
}
let CHANGED = new Int32Array(256);
/** diffRange's running result: the two fingerprint lanes and the count of words in CHANGED (object fields, not module lets, so that storing a lane allocates nothing) */
const R = { a: 0, b: 0, n: 0 };
/** Words [lo, hi) of `work` that differ from the parent's (pbuf from pat, plen words): appended to CHANGED at R.n, the fingerprint lanes R.a, R.b updated. */
function diffRange(work: Int32Array, pbuf: Int32Array, pat: number, plen: number, lo: number, hi: number): void {
  let a = R.a;
  let b = R.b;
  let nch = R.n;
  for (let w = lo; w < hi; w++) {
    const v = work[w]!;
    const old = w < plen ? pbuf[pat + w]! : 0;
    if (v === old) continue;
    a = (a + dA(w, old, v)) | 0;
    b = (b + dB(w, old, v)) | 0;
    if (nch === CHANGED.length) CHANGED = grow(CHANGED);
    CHANGED[nch++] = w;
  }
  R.a = a;
  R.b = b;
  R.n = nch;
}
/** Words of the transition buffer that differ from the parent's (pbuf from pat, plen words), up to hi: into CHANGED (returned: how many), the fingerprint updated from the parent's (pa, pb) into FA, FB. The whole state compared (the write log overflowed, or is off). */
function diffState(work: Int32Array, work64: Float64Array, pbuf: Int32Array, pbuf64: Float64Array | null, pat: number, plen: number, hi: number, pa: number, pb: number): number {
  R.a = pa | 0;
  R.b = pb | 0;
  R.n = 0;
  let i = 0;
  if (pbuf64) {
    // two words at a time while both sides have them: equal non-zero doubles have equal bits (only +0/-0 differ)
    const pairs = Math.min(hi, plen) >> 1;
    const p0 = pat >> 1;
    for (let q = 0; q < pairs; q++) {
      const x = work64[q]!;
      if (x === pbuf64[p0 + q]! && (x !== 0 || work[2 * q + 1] === pbuf[pat + 2 * q + 1])) continue;
      diffRange(work, pbuf, pat, plen, 2 * q, 2 * q + 2);
    }
    i = pairs * 2;
  }
  diffRange(work, pbuf, pat, plen, i, hi);
  FA = R.a >>> 0;
  FB = R.b >>> 0;
  return R.n;
}

// The changed words from the model's write log. Every write the model makes
// goes through Kernel.set() (renumbering tells Kernel.logged()), so after a
// transition the words that may differ from the parent are the logged ones
// plus the control block (the explorer's own words and the threads' locals:
// the moving thread's slot, or all of it after a renumbering or when the
// block changed). Duplicates are skipped with a stamp per word;
// the indices are sorted (delta.ts codes ascending gaps). A log that
// overflowed falls back to comparing the whole state.
//
// Renumbering is skipped when the parent is a fixed point of it
// (Program.canonicalize) and the transition changed no word the renumbering
// reads: then it would make the same decisions as on the parent, which change
// nothing. The folio pass reads the allocators, present PTEs (their
// present/migration bits and folio), page-cache slots, pin pages' folios,
// secondary PTEs, each folio's compound size, swap slot and alive/swap-cache
// flags, and the threads' folio locals; the handle pass reads the handles and
// their pages, the results (which name handles) and the threads' handle
// locals. A folio the page cache holds decides no number where the walk meets
// it after the cache (a pin page, a thread local). When only what the handle
// pass reads changed, the folio pass runs only if handles moved
// (Program.canonicalizeHandles).
//
// PINLAB_EXPLORE_CHECK_LOG=1 checks both per transition: the logged diff
// against the whole comparison, and a skipped or partial renumbering against
// the whole one.
const CM_F = 1; // the folio pass reads it
const CM_FLAGS = 2; // the folio pass reads its PG_ALIVE and PG_SWAPCACHE
const CM_PTE = 3; // the folio pass reads its PTE_PRESENT and PTE_MIGRATION
const CM_P = 4; // the handle pass reads it
const CM_KPF = 5; // a pin page's folio: the handle pass reads it, and the folio pass unless it is in the page cache
/** what renumbering must run (WriteLog.renumbering) */
export const RN_FOLIOS = 1;
export const RN_HANDLES = 2;
let STAMP = new Uint32Array(0);
let EPOCH = 0;
export class WriteLog {
  /** per model word: whether (and which bits of) it decides the renumbering (CM_*) */
  private readonly mask: Uint8Array;
  readonly check = process.env.PINLAB_EXPLORE_CHECK_LOG === '1';
  private checkBuf: Int32Array | null = null;
  /** counts (for the benchmark's curiosity and the check mode) */
  skipped = 0;
  handlesOnly = 0;
  overflows = 0;

  constructor(
    private readonly prog: Program,
    private readonly k: Kernel,
    private readonly sym: Symmetry,
    total: number,
  ) {
    k.logWrites = true;
    if (STAMP.length < total) STAMP = new Uint32Array(total);
    const L = k.L;
    const d = L.d;
    const m = (this.mask = new Uint8Array(L.size));
    m[H_NEXT_FOLIO] = m[H_HUGE_ZERO] = CM_F;
    // the folio pass walks handles below H_NEXT_PIN; a new handle's pages are logged writes (CM_KPF)
    m[H_NEXT_PIN] = CM_P;
    for (let p = 0; p < d.procs; p++)
      for (let va = 0; va < d.vpages; va++) {
        m[L.pte(p, va) + E_FOLIO] = CM_F;
        m[L.pte(p, va) + E_PTE] = CM_PTE;
      }
    for (let f = 0; f < d.folios; f++) {
      const o = L.folio(f);
      m[o + F_FLAGS] = CM_FLAGS;
      m[o + F_COMPOUND] = m[o + F_SWAP] = CM_F;
    }
    for (let fi = 0; fi < d.files; fi++) for (let i = 0; i < d.filePages; i++) m[L.cacheSlot(fi, i)] = CM_F;
    for (let h = 0; h < d.pins; h++) {
      m.fill(CM_P, L.pin(h), L.pin(h) + K_STRIDE);
      m.fill(CM_P, L.pinPage(h, 0), L.pinPage(h, 0) + d.pinPages * KP_STRIDE);
      for (let i = 0; i < d.pinPages; i++) m[L.pinPage(h, i) + KP_FOLIO] = CM_KPF;
    }
    for (let x = 0; x < d.secondaries; x++) for (let va = 0; va < d.vpages; va++) m[L.spte(x, va) + S_FOLIO] = CM_F;
    for (let r = 0; r < d.results; r++) m[L.result(r) + R_TAG] = m[L.result(r) + R_VAL] = CM_P;
  }

  /** Before a transition: an empty log. */
  begin(): void {
    this.k.wn = 0;
  }

  /**
   * After the transition, before renumbering, if the parent was a fixed point: which passes may change
   * anything (RN_FOLIOS | RN_HANDLES, 0 for none; only those the search applies).
   */
  renumbering(work: Int32Array, pbuf: Int32Array, pat: number, plen: number, slot: number): number {
    const all = (this.sym.folios ? RN_FOLIOS : 0) | (this.sym.pins ? RN_HANDLES : 0);
    const k = this.k;
    const n = k.wn;
    // thread locals: only the moving thread's changed, unless the block did (then every par thread's pc)
    if (n > k.wlog.length || pat !== 0 || work[0] !== pbuf[0]) return all;
    const log = k.wlog;
    const mask = this.mask;
    const off = this.prog.ks;
    const nf = work[off + H_NEXT_FOLIO]!;
    let need = 0;
    for (let j = 0; j < n; j++) {
      const i = log[j]!;
      const c = mask[i]!;
      if (c === 0) continue;
      const w = off + i;
      const v = work[w]!;
      const old = w < plen ? pbuf[w]! : 0;
      if (v === old) continue;
      if (c === CM_P) need |= RN_HANDLES;
      else if (c === CM_KPF) {
        // (H_NEXT_FOLIO changed if nf is not the parent's: then the folio pass runs anyway)
        need |= RN_HANDLES;
        if (!this.inCache(work, off, nf, v - 1) || !this.inCache(pbuf, off, nf, old - 1)) need |= RN_FOLIOS;
      } else if (c === CM_F || (c === CM_FLAGS ? (v ^ old) & (PG_ALIVE | PG_SWAPCACHE) : (v ^ old) & (PTE_PRESENT | PTE_MIGRATION))) need |= RN_FOLIOS;
      if ((need & all) === all) return all;
    }
    if (this.sym.folios && !(need & RN_FOLIOS)) {
      // the walk reaches thread locals after the page cache: a local naming a folio the cache holds (in the parent,
      // and the child: no cache slot changed) decides no number, whichever thread holds it and where
      const refs = this.refs;
      const ra = refs.a;
      refs.clear();
      let f = !this.prog.slotFolioLocals(work, slot, refs);
      for (let r = 0; !f && r < refs.n; r += 2)
        for (let i = ra[r]!, e = i + ra[r + 1]!; !f && i < e; i++) if (!this.inCache(work, off, nf, work[i]!)) f = true;
      refs.clear();
      if (!f) f = !this.prog.slotFolioLocals(pbuf, slot, refs);
      for (let r = 0; !f && r < refs.n; r += 2)
        for (let i = ra[r]!, e = i + ra[r + 1]!; !f && i < e; i++) if (!this.inCache(pbuf, off, nf, i < plen ? pbuf[i]! : 0)) f = true;
      if (f) need |= RN_FOLIOS;
    }
    if (this.sym.pins && !(need & RN_HANDLES)) {
      // a handle held by a thread goes first, in thread order: the same handle must be held in the same place
      const o = this.prog.slotPinLocal(work, slot);
      if (o !== this.prog.slotPinLocal(pbuf, slot) || (o >= 0 && work[o] !== pbuf[o])) need |= RN_HANDLES;
    }
    return need & all;
  }
  private readonly refs = new Ints();

  /** Whether every handle's pages are folios the page cache holds (or none): then no folio is first reached through a handle. */
  pinFoliosInCache(work: Int32Array): boolean {
    const L = this.k.L;
    const off = this.prog.ks;
    const nf = work[off + H_NEXT_FOLIO]!;
    const pins = Math.min(L.d.pins, work[off + H_NEXT_PIN]!);
    for (let h = 0; h < pins; h++)
      for (let i = 0; i < L.d.pinPages; i++) if (!this.inCache(work, off, nf, work[off + L.pinPage(h, i) + KP_FOLIO]! - 1)) return false;
    return true;
  }

  /** Whether folio f is no folio to the walk (<= 0 or >= n) or sits in the page cache at its own index (the model state at `base` of `buf`). */
  private inCache(buf: Int32Array, base: number, n: number, f: number): boolean {
    if (f <= 0 || f >= n) return true;
    const L = this.k.L;
    const o = base + L.folio(f);
    const m = buf[o + F_MAPPING]! - 1;
    const idx = buf[o + F_INDEX]!;
    return m >= 0 && m < L.d.files && idx >= 0 && idx < L.d.filePages && buf[base + L.cacheSlot(m, idx)] === f + 1;
  }

  /** Check mode: keep the state before renumbering. */
  checkBefore(work: Int32Array): void {
    const b = this.checkBuf && this.checkBuf.length === work.length ? this.checkBuf : (this.checkBuf = new Int32Array(work.length));
    b.set(work);
  }
  /** Check mode: the whole renumbering of the state kept by checkBefore() gives `work` (and a fixed point if `fixed`). */
  checkRenumbering(canon: Canonicalizer, work: Int32Array, need: number, fixed: boolean): void {
    const b = this.checkBuf!;
    const wholeFixed = this.prog.canonicalize(canon, b, b.subarray(this.prog.ks), this.sym);
    for (let i = 0; i < work.length; i++)
      if (work[i] !== b[i]) throw new Error(`PINLAB_EXPLORE_CHECK_LOG: renumbering ${need ? `(passes ${need})` : 'skipped'} differs from the whole one at word ${i} (${work[i]}, whole: ${b[i]})`);
    if (fixed && !wholeFixed) throw new Error('PINLAB_EXPLORE_CHECK_LOG: a state taken for a fixed point of renumbering is not known to be one');
  }

  /**
   * The words of `work` that differ from the parent (pbuf from pat, plen words): the control block and the
   * logged words, into CHANGED ascending (returned: how many), the fingerprint updated from (pa, pb) into FA, FB.
   * -1 if the log overflowed (compare the whole state).
   */
  diff(work: Int32Array, pbuf: Int32Array, pat: number, plen: number, pa: number, pb: number, slot: number, renumbered: boolean): number {
    const k = this.k;
    const n = k.wn;
    if (n > k.wlog.length) {
      this.overflows++;
      return -1;
    }
    R.n = 0;
    R.a = pa | 0;
    R.b = pb | 0;
    const prog = this.prog;
    const off = prog.ks;
    // the control block: the moving thread wrote its own slot (pc, phase, locals), the current block and the
    // background counts; renumbering rewrites any thread's locals, and a new block resets the par threads' pcs
    if (renumbered || work[0] !== pbuf[pat]) diffRange(work, pbuf, pat, plen, 0, off);
    else {
      const s0 = prog.slotBase(slot);
      diffRange(work, pbuf, pat, plen, 0, 1);
      diffRange(work, pbuf, pat, plen, s0, s0 + 2 + prog.slotLocals[slot]!);
      diffRange(work, pbuf, pat, plen, prog.bgRemainingAt(0), off);
    }
    const ctl = R.n;
    if (++EPOCH === 0) {
      STAMP.fill(0);
      EPOCH = 1;
    }
    const ep = EPOCH;
    const stamp = STAMP;
    const log = k.wlog;
    let changed = CHANGED;
    let nch = ctl;
    let a = R.a;
    let b = R.b;
    for (let j = 0; j < n; j++) {
      const w = off + log[j]!;
      if (stamp[w] === ep) continue;
      stamp[w] = ep;
      const v = work[w]!;
      const old = w < plen ? pbuf[pat + w]! : 0;
      if (v === old) continue;
      a = (a + dA(w, old, v)) | 0;
      b = (b + dB(w, old, v)) | 0;
      if (nch === changed.length) changed = grow(changed);
      // insertion in order (a handful of words)
      let i = nch++;
      while (i > ctl && changed[i - 1]! > w) {
        changed[i] = changed[i - 1]!;
        i--;
      }
      changed[i] = w;
    }
    FA = a >>> 0;
    FB = b >>> 0;
    CHANGED = changed;
    return nch;
  }

  /** Check mode: the logged diff (nch words in CHANGED, FA, FB) equals the whole comparison. */
  checkDiff(nch: number, work: Int32Array, work64: Float64Array, pbuf: Int32Array, pbuf64: Float64Array | null, pat: number, plen: number, hi: number, pa: number, pb: number): void {
    const mine = CHANGED.slice(0, nch);
    const fa = FA;
    const fb = FB;
    const n2 = diffState(work, work64, pbuf, pbuf64, pat, plen, hi, pa, pb);
    const full = CHANGED.subarray(0, n2);
    const missed = [...full].filter((w) => !mine.includes(w));
    if (missed.length) {
      const off = this.prog.ks;
      throw new Error(`PINLAB_EXPLORE_CHECK_LOG: a write the log missed: model word(s) ${missed.map((w) => `${w - off} (${w < plen ? pbuf[pat + w] : 0} -> ${work[w]})`).join(', ')}`);
    }
    if (n2 !== nch || full.some((w, i) => w !== mine[i]) || fa !== FA || fb !== FB) throw new Error(`PINLAB_EXPLORE_CHECK_LOG: logged diff [${[...mine]}] != full diff [${[...full]}]`);
  }
}

/** What expandState() works with: one thread's (the search's, or a worker's) buffers and model. */
export interface ExpandCtx {
  prog: Program;
  run: Run;
  canon: Canonicalizer;
  sym: Symmetry;
  incremental: boolean;
  /** the model's write log, or null to compare states whole (--no-write-log) */
  wl: WriteLog | null;
  /** the transition buffer (control block + model), its float64 view and its model part */
  work: Int32Array;
  work64: Float64Array;
  kview: Int32Array;
  /** the state being expanded (work equals it between transitions), and its float64 view */
  cur: Int32Array;
  cur64: Float64Array;
}

/**
 * Run every enabled move `en` from the state in ctx.cur (== ctx.work, `plen`
 * words, fingerprint pa, pb): advance, renumber, find the changed words and the
 * fingerprint, hand them to `emit` (which may stop the expansion by returning
 * true), and put work back. Returns false if stopped.
 */
export function expandState(
  x: ExpandCtx,
  plen: number,
  pa: number,
  pb: number,
  pfixed: boolean,
  en: readonly number[],
  emit: (slot: number, fa: number, fb: number, changed: Int32Array, nch: number, len: number, fixed: boolean) => boolean,
): boolean {
  const { prog, run, work, cur } = x;
  const L = run.k.L;
  const off = prog.ks;
  const reduce = x.sym.folios || x.sym.pins;
  const wl = x.wl;
  const canon = x.canon;
  for (let mi = 0; mi < en.length; mi++) {
    const slot = en[mi]!;
    if (wl) wl.begin();
    prog.advance(run, work, slot);
    const raw = off + L.folios + work[off + H_NEXT_FOLIO]! * F_STRIDE; // the model allocates only below this
    // renumbering, skipped (or cut to the handles) as the single-threaded search does when the parent is a fixed point
    const rn = reduce ? prog.renumberAfter(canon, work, x.kview, x.sym, wl, cur, 0, plen, slot, pfixed) : 0;
    const fixed = (rn & RENUM_FIXED) !== 0;
    const renumbered = (rn & RENUM_MOVED) !== 0;
    const len = off + L.folios + work[off + H_NEXT_FOLIO]! * F_STRIDE;
    let nch = wl ? wl.diff(work, cur, 0, plen, pa, pb, slot, renumbered) : -1;
    if (nch >= 0 && wl!.check) wl!.checkDiff(nch, work, x.work64, cur, x.cur64, 0, plen, Math.max(raw, len, plen), pa, pb);
    if (nch < 0) nch = diffState(work, x.work64, cur, x.cur64, 0, plen, Math.max(raw, len, plen), pa, pb);
    if (!x.incremental) fpFull(work, len);
    const stop = emit(slot, FA, FB, CHANGED, nch, len, fixed);
    const c = CHANGED;
    for (let j = 0; j < nch; j++) work[c[j]!] = c[j]! < plen ? cur[c[j]!]! : 0; // back to the parent
    if (stop) return false;
  }
  return true;
}

function fpFull(s: Int32Array, len: number): void {
  let a = 0;
  let b = 0;
  for (let i = 0; i < len; i++) {
    const v = s[i]!;
    if (v === 0) continue;
    a = (a + zA(i, v)) | 0;
    b = (b + zB(i, v)) | 0;
  }
  FA = a >>> 0;
  FB = b >>> 0;
}

export function outcomeOfRun(pr: Prepared, run: Run): Outcome {
  return outcomeOf(pr, run);
}

/** A final state's clause values and its outcome's key (violations and results), from the run's model as it stands. */
export function finalOf(pr: Prepared, run: Run, clauses: readonly Clause[], resultNames: readonly string[]): { v: boolean[]; key: string } {
  const o = outcomeOf(pr, run);
  return { v: clauses.map((c) => evalPred(c.pred, o)), key: JSON.stringify([[...o.violations], resultNames.map((n) => o.result(n))]) };
}

/**
 * The locals a step needs in its thread's slot (the last two are the mmap_lock
 * words every suspended operation has): a GUP cursor for what may run
 * __get_user_pages, GUP-fast, fork or a secondary MMU fault (phasedLocals),
 * four for O_DIRECT, writeback, fsync and reclaim (phased.ts), two for
 * anything else (a CPU access or ftruncate waits with no locals; the rest is
 * atomic). A call not known here gets the cursor: too large is only slower.
 */
export function localsNeeded(pr: Prepared, st: Step, big: number): number {
  if (st.actor.name !== 'sys' && pr.secondaryIndex.has(st.actor.name)) return big;
  if (st.stmt.kind !== 'call') return 2;
  const n = st.stmt.call.name;
  if (ATOMIC_CALLS.has(n)) return 2;
  if (n === 'odirect_read' || n === 'odirect_write' || n === 'writeback' || n === 'fsync' || n === 'reclaim') return 4;
  return big;
}
/** calls whose model operation runs in one segment (phased.ts applyPhase's default), or waits without locals (ftruncate) */
const ATOMIC_CALLS = new Set([
  'mmap', 'munmap', 'mremap', 'mprotect', 'madvise', 'read', 'write', 'ftruncate', 'exit',
  'unpin_user_pages', 'unpin_user_pages_dirty_lock', 'put_pages', 'vmsplice', 'read_pipe', 'io_uring_register_buffers',
  'memfd_create', 'memfd_secret', 'memfd_restricted', 'guest_memfd', 'p2pmem', 'process_vm_writev',
  'dma_write', 'dma_read', 'drop_caches', 'compact', 'ksm_scan', 'memory_failure', 'make_secure',
]);

/** The mm (process name) whose mmap_lock a step takes, or null. */
function lockMm(st: Step): string | null {
  if (st.stmt.kind !== 'call') return st.actor.name; // CPU loads and stores fault under it
  const c = st.stmt.call;
  if (/_remote$/.test(c.name)) return c.args[0]?.kind === 'name' ? c.args[0].name : null;
  return st.actor.name;
}

/**
 * The mmap_lock mode a step needs to start: write for VMA changes and fork,
 * read for the GUP slow path, faults and zaps; none for lockless or non-mm work.
 * (A CPU access that would not fault needs no lock in the kernel; the model
 * takes it for every access, which only removes interleavings inside fork.)
 */
/** Does the step start with an rmap walk that takes other processes' PTE locks (try_to_unmap, try_to_migrate, KSM, memory failure, page_mkclean)? */
function walksRmap(st: Step): boolean {
  if (st.stmt.kind !== 'call') return false;
  const c = st.stmt.call;
  if (st.actor.name === 'sys') return /^(reclaim|migrate|ksm_scan|memory_failure|writeback|make_secure|compact)$/.test(c.name);
  if (c.name === 'madvise') {
    const a = c.args[2];
    return a?.kind === 'name' && a.name === 'MADV_PAGEOUT';
  }
  return /^(fsync|ftruncate|odirect_write)$/.test(c.name);
}

function startLock(st: Step): number {
  if (st.actor.name === 'sys') return LOCK_NONE;
  if (st.stmt.kind !== 'call') return LOCK_READ;
  const c = st.stmt.call;
  if (/^(mmap|munmap|mremap|mprotect|fork|exit)$/.test(c.name)) return LOCK_WRITE;
  if (c.name === 'madvise') {
    const a = c.args[2];
    const adv = a?.kind === 'name' ? a.name : '';
    // madvise_need_mmap_write(): advice that changes VMA flags
    return /^MADV_(DONTFORK|DOFORK|WIPEONFORK|KEEPONFORK|HUGEPAGE|NOHUGEPAGE)$/.test(adv) ? LOCK_WRITE : LOCK_READ;
  }
  if (/^(get_user_pages|pin_user_pages|get_user_pages_remote|pin_user_pages_remote|proc_mem_write|vmsplice|io_uring_register_buffers|odirect_read|odirect_write)$/.test(c.name))
    return LOCK_READ;
  return LOCK_NONE;
}

function outcomeOf(pr: Prepared, run: Run): Outcome {
  const k = run.k;
  const bits = k.s[H_VIOLATIONS]!;
  const violations = new Set<ViolationKind>(VIOLATION_KINDS.filter((v) => bits & VIOLATION_BIT[v]));
  return {
    result: (n) => run.result(n),
    violations,
    disk: (file, idx) => {
      const fi = pr.fileIndex.get(file) ?? (run.result(file).tag === T_FILE ? run.result(file).val : undefined);
      if (fi === undefined || idx < 0 || idx >= k.L.d.filePages) return undefined;
      return disk_content(k, fi, idx);
    },
  };
}

/** Explore every interleaving of a prepared scenario on one profile. */
export function explore(pr: Prepared, profile: Profile, opts: ExploreOptions = {}): ExploreResult {
  const t0 = performance.now();
  const maxStates = opts.maxStates ?? 1_000_000;
  const maxDepth = opts.maxDepth ?? 10_000;
  const run = new Run(pr, profile);
  const L = run.k.L;
  const sw = exploreSwitches(opts);
  const prog = new Program(pr, sw.compactCtl);
  const off = prog.ks;
  const total = off + L.size;
  // states are stored compact: the control block and the model up to its last allocated folio
  const work = new Int32Array(total);
  const work64 = new Float64Array(work.buffer, 0, total >> 1);
  work.set(run.k.s, off);
  prog.initCtl(work);
  const kview = work.subarray(off, total);
  run.k.s = kview;
  const used = () => off + L.usedLength(kview);
  const root = work.slice(0, used());
  run.k.sink = NULL_SINK;
  const { sym } = sw;
  const reduce = sym.folios || sym.pins;
  const canon = new Canonicalizer(L);
  const scan = sw.incrementalHash || sw.deltaStates; // find the words a transition changed
  const wl = scan && sw.writeLog ? new WriteLog(prog, run.k, sym, total) : null;
  if (wl) canon.log = run.k;
  let dirtyEnd = total; // how much of `work` may be non-zero beyond the loaded state
  /** Load state i of a layer into `work`. */
  const load = (f: Frontier, i: number) => {
    const buf = f.bufOf(i);
    const at = f.startOf(i);
    const len = f.lenOf(i);
    for (let j = 0; j < len; j++) work[j] = buf[at + j]!;
    if (dirtyEnd > len) work.fill(0, len, dirtyEnd);
    dirtyEnd = len;
  };

  const clauses = pr.sc.clauses.filter((c) => {
    const ms = matchersOf(pr.sc, c);
    return !ms || profileMatches(ms, profile);
  });
  const pos = clauses.map(() => 0);
  const neg = clauses.map(() => 0);
  const witness = clauses.map(() => -1);

  const jobs = sw.deltaStates ? sw.jobs : 1;
  // each state's parent (shared with worker threads) and the thread that moved to it (chunked.ts)
  const parent = new Chunked(Int32Array, jobs > 1);
  const move = new Chunked(Int16Array);
  const seen = new FpSet();
  fpFull(root, root.length);
  seen.add(FA, FB);
  const incremental = sw.incrementalHash;
  let changed: Int32Array = CHANGED; // the words a transition changed, to update the fingerprint and undo
  parent.set(0, -1);
  let nstates = 1;
  let transitions = 0;
  let finals = 0;
  let depth = 0;
  let bound: ExploreResult['bound'];
  const outcomeKeys = new Map<string, number>();
  const newFrontier = (): Frontier => (sw.packedFrontier ? new PackedFrontier(total) : new ArrayFrontier());
  let layer = newFrontier();
  let next = newFrontier();
  // stored as parent + delta: a layer is the id range [layerStart, layerEnd), rebuilt into `cur` (and `work`)
  const deltas = sw.deltaStates;
  const cur = new Int32Array(deltas ? total : 0);
  const cur64 = new Float64Array(cur.buffer, 0, cur.length >> 1);
  const tree = deltas ? new DeltaTree(cur, work, jobs > 1) : null;
  let layerStart = 0;
  let layerEnd = 1;
  let lfa = new Int32Array(deltas ? 1024 : 0); // the layer's fingerprints (the next layer's in nfa, nfb)
  let lfb = new Int32Array(lfa.length);
  let nfa = new Int32Array(lfa.length);
  let nfb = new Int32Array(lfa.length);
  // whether each state of the layer (and the next) is a fixed point of renumbering (Program.canonicalize; the root is not known to be)
  let lfix = new Uint8Array(lfa.length);
  let nfix = new Uint8Array(lfa.length);
  let ncount = 0;
  /** A new state of the next layer: its fingerprint and whether it is a fixed point of renumbering. */
  const pushNext = (fa: number, fb: number, fixed: boolean): void => {
    if (ncount === nfa.length) {
      nfa = grow(nfa);
      nfb = grow(nfb);
      nfix = growU8(nfix);
    }
    nfix[ncount] = fixed ? 1 : 0;
    nfa[ncount] = fa;
    nfb[ncount++] = fb;
  };
  if (tree) {
    cur.set(root);
    tree.add(0, changed, 0, work);
    lfa[0] = FA;
    lfb[0] = FB;
  } else layer.push(root, root.length, 0, FA, FB);
  const en: number[] = [];
  let lastProgress = performance.now();
  const resultNames = [...pr.resultIndex.keys()];

  const recordFinal = (id: number, vs: boolean[], key: string) => {
    finals++;
    clauses.forEach((c, i) => {
      const v = vs[i]!;
      if (v) pos[i]!++;
      else neg[i]!++;
      const bad = c.kind === 'exists' ? v : c.kind === 'never' ? v : !v;
      if (bad && witness[i] === -1) witness[i] = id;
    });
    if (!outcomeKeys.has(key)) outcomeKeys.set(key, id);
  };
  /** Record the final state in `work` (this thread's model) as state `id`. */
  const recordFinalHere = (id: number) => {
    const f = finalOf(pr, run, clauses, resultNames);
    recordFinal(id, f.v, f.key);
  };

  // with several jobs, layers smaller than this are expanded here (starting workers costs ~0.1 s)
  const PAR_MIN = opts.jobsMinLayer ?? 256;
  let stopped = false;
  search: while (tree ? layerEnd > layerStart && !(jobs > 1 && layerEnd - layerStart >= PAR_MIN) : layer.size) {
    const count = tree ? layerEnd - layerStart : layer.size;
    next.clear();
    ncount = 0;
    for (let k = 0; k < count; k++) {
      let id: number;
      let pbuf: Int32Array;
      let pbuf64: Float64Array | null;
      let pat: number;
      let plen: number;
      let pa: number;
      let pb: number;
      let pfixed = false;
      if (tree) {
        id = layerStart + k;
        tree.moveTo(id, depth, parent);
        pbuf = cur;
        pbuf64 = cur64;
        pat = 0;
        plen = off + L.folios + cur[off + H_NEXT_FOLIO]! * F_STRIDE;
        pa = lfa[k]! >>> 0;
        pb = lfb[k]! >>> 0;
        pfixed = lfix[k] === 1;
      } else {
        id = layer.idOf(k);
        load(layer, k);
        pbuf = layer.bufOf(k);
        pbuf64 = layer.buf64Of(k);
        pat = layer.startOf(k);
        plen = layer.lenOf(k);
        pa = layer.faOf(k);
        pb = layer.fbOf(k);
      }
      prog.enabled(work, en);
      if (en.length === 0) {
        recordFinalHere(id);
        continue;
      }
      if (depth >= maxDepth) {
        bound = 'max-depth';
        continue;
      }
      for (let mi = 0; mi < en.length; mi++) {
        const slot = en[mi]!;
        if (mi > 0 && !scan) load(layer, k);
        if (wl) wl.begin();
        prog.advance(run, work, slot);
        transitions++;
        const raw = used(); // the model allocates only below this
        const rn = reduce ? prog.renumberAfter(canon, work, kview, sym, wl, pbuf, pat, plen, slot, pfixed) : 0;
        const fixed = (rn & RENUM_FIXED) !== 0; // the new state is a fixed point of renumbering
        const renumbered = (rn & RENUM_MOVED) !== 0; // renumbering moved folios or handles
        const len = used();
        if (len > dirtyEnd) dirtyEnd = len;
        let nch = 0;
        if (scan) {
          // the words that differ from the parent: update its fingerprint, remember them to undo
          nch = wl ? wl.diff(work, pbuf, pat, plen, pa, pb, slot, renumbered) : -1;
          if (nch >= 0 && wl!.check) wl!.checkDiff(nch, work, work64, pbuf, pbuf64, pat, plen, Math.max(raw, len, plen), pa, pb);
          if (nch < 0) nch = diffState(work, work64, pbuf, pbuf64, pat, plen, Math.max(raw, len, plen), pa, pb);
          changed = CHANGED;
        }
        if (!incremental) fpFull(work, len);
        if (!seen.add(FA, FB)) {
          if (scan) for (let j = 0; j < nch; j++) work[changed[j]!] = changed[j]! < plen ? pbuf[pat + changed[j]!]! : 0; // back to the parent
          continue;
        }
        parent.set(nstates, id);
        move.set(nstates, slot);
        if (tree) {
          tree.add(nstates, changed, nch, work);
          pushNext(FA, FB, fixed);
        } else next.push(work, len, nstates, FA, FB);
        if (scan) for (let j = 0; j < nch; j++) work[changed[j]!] = changed[j]! < plen ? pbuf[pat + changed[j]!]! : 0; // back to the parent
        nstates++;
        if (nstates >= maxStates) {
          bound = 'max-states';
          stopped = true;
          break search;
        }
      }
      if (opts.progress && performance.now() - lastProgress > 200) {
        lastProgress = performance.now();
        opts.progress(nstates, transitions, depth);
      }
    }
    const t = layer;
    layer = next;
    next = t;
    layerStart = layerEnd;
    layerEnd = nstates;
    [lfa, nfa] = [nfa, lfa];
    [lfb, nfb] = [nfb, lfb];
    [lfix, nfix] = [nfix, lfix];
    if (tree ? layerEnd > layerStart : layer.size) depth++;
  }

  // several threads: the layers left, in chunks taken by the coordinator and the workers, merged in order (parallel.ts)
  if (tree && jobs > 1 && !stopped && layerEnd > layerStart) searchInParallel(tree);

  opts.memory?.({ fingerprints: seen.bytes(), parents: parent.bytes() + move.bytes(), deltas: tree ? tree.bytes() : 0, frontier: layer.bytes() + next.bytes() + lfa.byteLength * 4 });
  const complete = bound === undefined;
  const pathTo = (id: number): number[] => {
    const moves: number[] = [];
    for (let x = id; x > 0; x = parent.get(x)) moves.push(move.get(x));
    return moves.reverse();
  };

  const verdicts: ClauseVerdict[] = clauses.map((c, i) => {
    const p = pos[i]!;
    const n = neg[i]!;
    const observation = n === 0 && p > 0 ? 'Always' : p === 0 ? 'Never' : 'Sometimes';
    let status: 'passed' | 'failed';
    let reason: string | undefined;
    if (c.kind === 'exists') {
      status = p > 0 ? 'passed' : 'failed';
      if (!p) reason = complete ? 'no interleaving reaches it' : `no witness found before the ${bound} bound`;
    } else {
      const broken = c.kind === 'never' ? p > 0 : n > 0;
      status = broken || !complete ? 'failed' : 'passed';
      if (broken) reason = c.kind === 'never' ? 'an interleaving reaches it' : 'an interleaving violates it';
      else if (!complete) reason = `search incomplete: ${bound} bound hit`;
      if (finals === 0 && complete) {
        status = 'failed';
        reason = 'no final state';
      }
    }
    const v: ClauseVerdict = { clause: c, positive: p, negative: n, observation, status };
    if (reason) v.reason = reason;
    if (witness[i]! >= 0) v.trace = replay(pr, profile, prog, pathTo(witness[i]!), sym).steps;
    return v;
  });

  const outcomes: FinalOutcome[] = [...outcomeKeys.values()].map((id) => replay(pr, profile, prog, pathTo(id), sym).outcome);
  return {
    states: nstates,
    transitions,
    finals,
    depth,
    complete,
    ...(bound ? { bound } : {}),
    collisionProbability: collisionBound(nstates),
    outcomes,
    verdicts,
    ms: performance.now() - t0,
  };

  /**
   * The parallel search (parallel.ts), a function of its own rather than a block of explore(): TurboFan compiles
   * explore()'s search loop on-stack (the whole function's code), and with this code in it that compile's
   * working memory was ~3 MB more of the peak on O_DIRECT 4x3 (152-192 -> 132-152 B a state, four alternating runs each).
   */
  function searchInParallel(tree: DeltaTree): void {
    const pool = new ExplorePool(pr, profile, opts, jobs - 1);
    const ctx: ExpandCtx = { prog, run, canon, sym, incremental, wl, work, work64, kview, cur, cur64 };
    const kc: ChunkCtx = { x: ctx, tree, parent, pr, clauses, resultNames, en: [] };
    let curId = 0;
    const emit = (slot: number, fa: number, fb: number, ch: Int32Array, nch: number, _len: number, fixed: boolean): boolean => {
      transitions++;
      if (!seen.add(fa, fb)) return false;
      parent.set(nstates, curId);
      move.set(nstates, slot);
      tree.add(nstates, ch, nch, work);
      pushNext(fa, fb, fixed);
      nstates++;
      if (nstates < maxStates) return false;
      bound = 'max-states';
      return true;
    };
    try {
      psearch: while (layerEnd > layerStart) {
        const count = layerEnd - layerStart;
        ncount = 0;
        const shares = tree.shares();
        const chunk = Math.max(16, Math.ceil(count / (jobs * 16)));
        const nchunks = Math.ceil(count / chunk);
        const job: LayerJob = {
          layerStart,
          count,
          chunk,
          counter: new Int32Array(new SharedArrayBuffer(4)),
          depth,
          maxDepth,
          fa: lfa.slice(0, count),
          fb: lfb.slice(0, count),
          fix: lfix.slice(0, count),
          parent: parent.chunks,
          chunks: shares.chunks as Uint8Array[],
          offs: shares.offs,
        };
        pool.post(job);
        const results: (LayerResult | undefined)[] = [];
        let merged = 0;
        while (merged < nchunks) {
          pool.drain(results);
          const r = results[merged];
          if (r) {
            results[merged++] = undefined;
            const fs = r.finals;
            let fi = 0;
            if (r.depthHit) bound = 'max-depth';
            const cands = r.cands;
            let from = 0;
            for (let c = 0; c < cands.length; c += 5) {
              const pid = cands[c + 2]!;
              while (fi < fs.length && fs[fi]!.id < pid) recordFinal(fs[fi]!.id, fs[fi]!.v, fs[fi++]!.key);
              transitions++;
              const end = cands[c + 4]!;
              const fa = cands[c]! >>> 0;
              const fb = cands[c + 1]! >>> 0;
              if (!seen.add(fa, fb)) {
                from = end;
                continue;
              }
              parent.set(nstates, pid);
              const sf = cands[c + 3]!; // slot, and the fixed-point bit above it
              move.set(nstates, sf & 0xffff);
              tree.addEncoded(nstates, r.bytes, from, end);
              from = end;
              pushNext(fa, fb, (sf >>> 16) === 1);
              nstates++;
              if (nstates >= maxStates) {
                bound = 'max-states';
                break psearch;
              }
            }
            while (fi < fs.length) recordFinal(fs[fi]!.id, fs[fi]!.v, fs[fi++]!.key);
            continue;
          }
          const c = opts.jobsCoordinatorExpands === false ? nchunks : Atomics.add(job.counter, 0, 1);
          if (c >= nchunks) {
            pool.wait();
            continue;
          }
          if (c > merged) {
            // an earlier chunk is still being expanded elsewhere: this one into a list, merged in its turn
            results[c] = expandChunk(kc, job, c);
            continue;
          }
          // every earlier chunk is merged: expand this one straight into the set, as one thread does
          const end = Math.min(layerStart + count, layerStart + (c + 1) * chunk);
          for (let id = layerStart + c * chunk; id < end; id++) {
            curId = id;
            tree.moveTo(id, depth, parent);
            prog.enabled(work, en);
            if (en.length === 0) {
              recordFinalHere(id);
              continue;
            }
            if (depth >= maxDepth) {
              bound = 'max-depth';
              continue;
            }
            const plen = off + L.folios + cur[off + H_NEXT_FOLIO]! * F_STRIDE;
            if (!expandState(ctx, plen, lfa[id - layerStart]! >>> 0, lfb[id - layerStart]! >>> 0, lfix[id - layerStart] === 1, en, emit)) break psearch;
          }
          merged++;
        }
        if (opts.progress) opts.progress(nstates, transitions, depth);
        layerStart = layerEnd;
        layerEnd = nstates;
        [lfa, nfa] = [nfa, lfa];
        [lfb, nfb] = [nfb, lfb];
        [lfix, nfix] = [nfix, lfix];
        if (layerEnd > layerStart) depth++;
      }
    } finally {
      pool.close();
    }
  }
}

export function callText(st: Step): string {
  if (st.stmt.kind !== 'call') return '';
  const c = st.stmt.call;
  return `${c.name}(${c.args.map((a) => (a.kind === 'int' ? a.n : a.kind === 'char' ? `'${a.ch}'` : a.kind === 'name' ? a.name + (a.offset ? `+${a.offset.n}` : '') : a.names.map((n) => n.name).join('|'))).join(', ')})`;
}

/**
 * Re-run a path of moves from the initial state with full tracing. With
 * `reduce`, every state is canonicalized as the search did it: the search's
 * moves are only valid on its own (renumbered) states -- a renumbering changes
 * e.g. how many folios a reclaim walks -- so the trace names folios by the
 * numbers the search saw.
 */
export function replay(pr: Prepared, profile: Profile, prog: Program, moves: number[], reduce: boolean | Symmetry = false): { steps: WitnessStep[]; outcome: FinalOutcome } {
  const sym: Symmetry = typeof reduce === 'boolean' ? { folios: reduce, pins: reduce } : reduce;
  const run = new Run(pr, profile);
  const s = prog.attach(run);
  const kview = run.k.s;
  const canon = sym.folios || sym.pins ? new Canonicalizer(run.k.L) : null;
  const steps: WitnessStep[] = [];
  moves.forEach((slot, i) => {
    const st = prog.stepOf(s, slot);
    const before = run.traceLog.length;
    const seg = prog.advance(run, s, slot);
    if (canon) prog.canonicalize(canon, s, kview, sym);
    const finished = s[prog.slotBase(slot) + 1] === 0;
    const calls = run.traceLog.slice(before).map((t: TraceEntry) => ({ fn: t.fn, what: t.what, ...(t.knobs ? { knobs: t.knobs } : {}) }));
    steps.push({
      n: i + 1,
      actor: st.actor.name,
      line: st.line,
      stmt: slot > prog.parThreads && slot > 0 ? `${(pr.sc.lines[st.line - 1] ?? '').includes('background') ? 'background ' : ''}${callText(st)}` : (pr.sc.lines[st.line - 1] ?? '').replace(/#.*$/, '').replace(/^\s*[A-Za-z_][A-Za-z0-9_]*\s*:\s*/, '').trim(),
      segment: seg === 0 && finished ? '' : seg === 0 ? 'starts' : finished ? 'finishes' : 'continues',
      calls,
    });
  });
  const values: Record<string, string | number> = {};
  const contentNames: string[] = [];
  for (const name of pr.resultIndex.keys()) {
    const r = run.result(name);
    values[name] = showResult(pr, run.k, r);
    if (r.tag === 1) contentNames.push(name);
  }
  return { steps, outcome: { values, contentNames, violations: run.violations.map((v) => ({ kind: v.kind, line: v.line, detail: v.detail })) } };
}
