// Symmetry reduction over folio identity. A folio's slot number is an
// allocation artefact: two interleavings that allocate the same pages in a
// different order reach states that differ only by a permutation of slots.
// canonicalize() renumbers folios in the order a fixed walk first reaches them
// (page tables, page cache, pin handles, secondary MMUs, swap cache, thread
// locals) and drops freed folios nothing refers to. Equal canonical states have
// equal futures: every kernel path reaches folios only through those
// references, and a dropped freed folio is unreachable (nothing can observe it).
//
// canonicalizePins() does the same for pin handles.
//
// Not applied while a thread is inside reclaim: its cursor walks folios by slot
// number, so there the numbering is observable.

import type { Kernel } from '../model/kernel.js';
import type { Layout } from '../model/state.js';
import {
  E_FOLIO,
  E_PTE,
  F_STRIDE,
  F_COMPOUND,
  F_SWAP,
  F_FLAGS,
  H_NEXT_FOLIO,
  H_HUGE_ZERO,
  H_NEXT_PIN,
  K_STRIDE,
  KP_FOLIO,
  KP_STRIDE,
  R_TAG,
  R_VAL,
  T_PIN,
  T_PIPE,
  PG_ALIVE,
  PG_SWAPCACHE,
  PTE_MIGRATION,
  PTE_PRESENT,
  S_FOLIO,
} from '../model/state.js';

/** Where thread locals hold folio numbers: flat pairs (offset in the state, count). */
/**
 * A reused list of small integers, cleared by its count: `array.length = 0` makes V8 drop the array's
 * storage, so the next push allocates it again (on every transition, for the lists below).
 */
export class Ints {
  readonly a: number[] = [];
  n = 0;
  clear(): void {
    this.n = 0;
  }
  push(v: number): void {
    this.a[this.n++] = v;
  }
}
/** Thread locals holding folio numbers: flat pairs (offset, count). */
export type FolioRefs = Ints;

export class Canonicalizer {
  private map: Int32Array;
  private order: Int32Array;
  private tmp: Int32Array;
  private pmap: Int32Array;
  private porder: Int32Array;
  private pfixed: Uint8Array;
  private ptmp: Int32Array;
  private readonly pinWords: number;
  /** the kernel whose write log (Kernel.logged) hears of the words renumbering writes in the model state, when it logs; thread locals are not logged (the explorer compares the control block whole) */
  log: Kernel | null = null;
  /** set when a renumbering changed something (folios or handles); the caller clears it */
  moved = false;

  constructor(private readonly L: Layout) {
    this.map = new Int32Array(L.d.folios);
    this.order = new Int32Array(L.d.folios);
    this.tmp = new Int32Array(L.d.folios * F_STRIDE);
    this.pmap = new Int32Array(L.d.pins);
    this.porder = new Int32Array(L.d.pins);
    this.pfixed = new Uint8Array(L.d.pins);
    this.pinWords = L.d.pinPages * KP_STRIDE;
    this.ptmp = new Int32Array(L.d.pins * (K_STRIDE + this.pinWords));
  }

  /**
   * Renumber pin handles in place. A handle's number is an allocation artefact
   * too: N O_DIRECT reads that finish in different orders leave the same
   * released handles in different slots. Nothing in the model walks handles by
   * number or compares two numbers; they are reached only through results
   * (T_PIN, T_PIPE) and the locals of a suspended O_DIRECT (`localRefs`:
   * offsets in `ctl`), and a new handle takes H_NEXT_PIN, which a permutation
   * keeps. So any permutation of the handles, applied to every reference, is a
   * symmetry. Handles a result names keep their numbers (reports print them as
   * pin#N, and outcomes are told apart by them); the others take the remaining
   * slots in ascending order: first those held by suspended threads, in thread
   * order, then the rest (released or leaked: unreachable) by their records'
   * contents. Returns whether anything moved.
   */
  canonicalizePins(s: Int32Array, ctl: Int32Array, localRefs: Ints): boolean {
    const L = this.L;
    const n = s[H_NEXT_PIN]!;
    if (n < 2) return false;
    const fixed = this.pfixed;
    const map = this.pmap;
    const order = this.porder;
    for (let h = 0; h < n; h++) {
      fixed[h] = 0; // (loops, not fill(): a builtin call costs more than a handful of handles)
      map[h] = -1;
    }
    for (let r = 0; r < L.d.results; r++) {
      const o = L.result(r);
      const tag = s[o + R_TAG];
      if (tag === T_PIN || tag === T_PIPE) {
        const h = s[o + R_VAL]!;
        if (h >= 0 && h < n) fixed[h] = 1;
      }
    }
    let m = 0;
    for (let i = 0; i < localRefs.n; i++) {
      const h = ctl[localRefs.a[i]!]!;
      if (h >= 0 && h < n && !fixed[h] && map[h]! < 0) {
        map[h] = 0;
        order[m++] = h;
      }
    }
    const held = m;
    for (let h = 0; h < n; h++) if (!fixed[h] && map[h]! < 0) order[m++] = h;
    // the rest by contents: insertion sort in place (a handful of handles; no allocation per transition)
    for (let i = held + 1; i < m; i++) {
      const h = order[i]!;
      let j = i - 1;
      while (j >= held && this.comparePins(s, order[j]!, h) > 0) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = h;
    }
    // order[j] takes the j-th slot no result names
    let identity = true;
    for (let t = 0, j = 0; t < n; t++) {
      if (fixed[t]) {
        map[t] = t;
        continue;
      }
      const h = order[j++]!;
      map[h] = t;
      if (h !== t) identity = false;
    }
    if (identity) return false;
    this.moved = true;
    const pw = this.pinWords;
    const tmp = this.ptmp;
    const kb = L.pins;
    const pb = L.pinpg;
    const pg = n * K_STRIDE;
    for (let i = 0; i < pg; i++) tmp[i] = s[kb + i]!;
    for (let i = 0; i < n * pw; i++) tmp[pg + i] = s[pb + i]!;
    const log = this.log?.logWrites ? this.log : null;
    for (let h = 0; h < n; h++) {
      const t = map[h]!;
      if (t === h) continue;
      for (let i = 0; i < K_STRIDE; i++) s[kb + t * K_STRIDE + i] = tmp[h * K_STRIDE + i]!;
      for (let i = 0; i < pw; i++) s[pb + t * pw + i] = tmp[pg + h * pw + i]!;
      if (log) {
        for (let i = 0; i < K_STRIDE; i++) log.logged(kb + t * K_STRIDE + i);
        for (let i = 0; i < pw; i++) log.logged(pb + t * pw + i);
      }
    }
    for (let i = 0; i < localRefs.n; i++) {
      const off = localRefs.a[i]!;
      const h = ctl[off]!;
      if (h >= 0 && h < n) ctl[off] = map[h]!;
    }
    return true;
  }

  private comparePins(s: Int32Array, a: number, b: number): number {
    const L = this.L;
    const oa = L.pin(a);
    const ob = L.pin(b);
    for (let i = 0; i < K_STRIDE; i++) {
      const d = s[oa + i]! - s[ob + i]!;
      if (d) return d;
    }
    const qa = L.pinPage(a, 0);
    const qb = L.pinPage(b, 0);
    for (let i = 0; i < this.pinWords; i++) {
      const d = s[qa + i]! - s[qb + i]!;
      if (d) return d;
    }
    return 0;
  }

  /** A +1-encoded folio reference at s[o], renumbered by `map` (and logged, changed or not). */
  private renumberRef(s: Int32Array, o: number, log: Kernel | null): void {
    const v = s[o]!;
    s[o] = v > 0 ? this.map[v - 1]! + 1 : 0;
    if (log) log.logged(o);
  }

  private m = 0;
  private n = 0;
  /** Number folio f (with its large folio's pages, head first) next, if it has no number yet. */
  private visit(s: Int32Array, f: number): void {
    if (f <= 0 || f >= this.n || this.map[f]! >= 0) return;
    const L = this.L;
    const c = s[L.folio(f) + F_COMPOUND]!;
    const h = c < 0 ? f + c : f;
    const nr = c < 0 ? s[L.folio(h) + F_COMPOUND]! : c > 1 ? c : 1;
    for (let i = 0; i < nr; i++) {
      this.map[h + i] = this.m;
      this.order[this.m] = h + i;
      this.m++;
    }
  }
  private orphans: number[] = [];
  /** whether the last canonicalize() numbered a folio first reached through a pin handle (then the handles' order decides folio numbers) */
  viaPins = false;

  /**
   * Renumber folios in place in the model state `s`. `localRefs` lists thread
   * locals in `ctl` (the explorer's whole buffer) that hold folio numbers (not +1 encoded).
   */
  canonicalize(s: Int32Array, ctl: Int32Array, localRefs: FolioRefs): void {
    const L = this.L;
    const d = L.d;
    const n = s[H_NEXT_FOLIO]!;
    const map = this.map;
    const order = this.order;
    map.fill(-1, 0, n);
    map[0] = 0;
    this.m = 1;
    this.n = n;
    if (s[H_HUGE_ZERO]! > 0) this.visit(s, s[H_HUGE_ZERO]! - 1); // the kernel's, first
    for (let p = 0; p < d.procs; p++)
      for (let va = 0; va < d.vpages; va++) {
        const o = L.pte(p, va);
        if (s[o + E_PTE]! & (PTE_PRESENT | PTE_MIGRATION)) {
          const f = s[o + E_FOLIO]! - 1;
          if (f > 0 && f < n && map[f]! < 0) this.visit(s, f);
        }
      }
    for (let fi = 0; fi < d.files; fi++)
      for (let i = 0; i < d.filePages; i++) {
        const f = s[L.cacheSlot(fi, i)]! - 1;
        if (f > 0 && f < n && map[f]! < 0) this.visit(s, f);
      }
    // handles past H_NEXT_PIN were never allocated: all zero
    const pins = Math.min(d.pins, s[H_NEXT_PIN]!);
    const before = this.m;
    for (let h = 0; h < pins; h++)
      for (let i = 0; i < d.pinPages; i++) {
        const f = s[L.pinPage(h, i) + KP_FOLIO]! - 1;
        if (f > 0 && f < n && map[f]! < 0) this.visit(s, f);
      }
    this.viaPins = this.m !== before;
    for (let x = 0; x < d.secondaries; x++) for (let va = 0; va < d.vpages; va++) this.visit(s, s[L.spte(x, va) + S_FOLIO]! - 1);
    for (let r = 0; r < localRefs.n; r += 2) {
      const off = localRefs.a[r]!;
      const cnt = localRefs.a[r + 1]!;
      for (let i = 0; i < cnt; i++) this.visit(s, ctl[off + i]!);
    }
    // swap-cache folios nothing maps: order by their swap slot (canonical)
    const orphans = this.orphans;
    if (orphans.length) orphans.length = 0;
    for (let f = 1; f < n; f++) {
      const o = L.folio(f);
      if (map[f]! < 0 && s[o + F_FLAGS]! & PG_SWAPCACHE && s[o + F_FLAGS]! & PG_ALIVE) orphans.push(f);
    }
    if (orphans.length) {
      orphans.sort((a, b) => s[L.folio(a) + F_SWAP]! - s[L.folio(b) + F_SWAP]!);
      for (const f of orphans) this.visit(s, f);
    }
    // any other live folio (should not exist) keeps relative order, so nothing is lost
    for (let f = 1; f < n; f++) if (map[f]! < 0 && s[L.folio(f) + F_FLAGS]! & PG_ALIVE) this.visit(s, f);
    const m = this.m;
    // identity already? (the common case)
    let identity = m === n;
    for (let f = 1; identity && f < n; f++) if (map[f] !== f) identity = false;
    if (identity) return;
    this.moved = true;

    // permute the folio table
    const base = L.folios;
    // (word loops, no subarray views or closures: this runs on every transition that moves a folio)
    const tmp = this.tmp;
    const end = base + n * F_STRIDE;
    for (let i = base + F_STRIDE; i < end; i++) {
      tmp[i - base - F_STRIDE] = s[i]!;
      s[i] = 0;
    }
    for (let j = 1; j < m; j++) {
      const from = (order[j]! - 1) * F_STRIDE;
      const to = base + j * F_STRIDE;
      for (let w = 0; w < F_STRIDE; w++) s[to + w] = tmp[from + w]!;
    }
    const log = this.log?.logWrites ? this.log : null;
    if (log) for (let i = base + F_STRIDE; i < end; i++) log.logged(i);
    // the references, +1-encoded (every word rewritten is logged, changed or not)
    s[H_NEXT_FOLIO] = m;
    if (log) log.logged(H_NEXT_FOLIO);
    for (let p = 0; p < d.procs; p++)
      for (let va = 0; va < d.vpages; va++) {
        const o = L.pte(p, va);
        if (s[o + E_PTE]! & (PTE_PRESENT | PTE_MIGRATION)) this.renumberRef(s, o + E_FOLIO, log);
      }
    this.renumberRef(s, H_HUGE_ZERO, log);
    for (let fi = 0; fi < d.files; fi++) for (let i = 0; i < d.filePages; i++) this.renumberRef(s, L.cacheSlot(fi, i), log);
    for (let h = 0; h < pins; h++) for (let i = 0; i < d.pinPages; i++) this.renumberRef(s, L.pinPage(h, i) + KP_FOLIO, log);
    for (let x = 0; x < d.secondaries; x++) for (let va = 0; va < d.vpages; va++) this.renumberRef(s, L.spte(x, va) + S_FOLIO, log);
    for (let r = 0; r < localRefs.n; r += 2) {
      const off = localRefs.a[r]!;
      const cnt = localRefs.a[r + 1]!;
      for (let i = 0; i < cnt; i++) {
        const v = ctl[off + i]!;
        if (v > 0) ctl[off + i] = map[v]!;
      }
    }
  }
}
