// The model's context: one flat state (state.ts), the profile's knobs, and
// the event sink the invariant checkers report into. Every kernel path takes
// a Kernel as its first argument. The model knows nothing of the language.

import type { ViolationKind } from '../lang/ops.js';
import {
  Layout,
  type Dims,
  F_FLAGS,
  F_REF,
  F_MAPCOUNT,
  F_PINCOUNT,
  F_PINS,
  F_VALUE,
  F_MAPPING,
  F_INDEX,
  F_AUTHOR,
  F_EPOCH,
  F_SWAP,
  F_COMPOUND,
  F_STRIDE,
  PAGE_FIELDS,
  PAGE_FLAGS,
  PG_LARGE,
  PTE_PMD,
  HPAGE_PMD_NR,
  H_NEXT_FOLIO,
  H_VIOLATIONS,
  PG_ALIVE,
  PG_ZERO,
  PG_UPTODATE,
  E_VMFLAGS,
  E_FOLIO,
  E_PTE,
  E_FILE,
  E_PGOFF,
  P_ALIVE,
  FI_FS,
  FI_SIZE,
  FI_FLAGS,
  FI_VA,
} from './state.js';

/** Knob names the model asks about (src/profiles/knobs.ts documents each). */
export type KnobName =
  | 'gup_foll_cow'
  | 'madv_wipeonfork'
  | 'foll_longterm'
  | 'io_uring'
  | 'io_uring_vma_file_check'
  | 'io_uring_shmem_buffers'
  | 'io_uring_same_file_buffers'
  | 'foll_pin'
  | 'pin_counting_bias'
  | 'arch_make_page_accessible_gup'
  | 'arch_make_page_accessible_writeback'
  | 's390_pv'
  | 'x86_sev'
  | 'gup_force_cow_break'
  | 'wp_reuse_page_count'
  | 'wp_reuse_swapcache'
  | 'swapin_write_reuse_swap_page'
  | 'fork_early_cow_pinned'
  | 'hugetlb_fork_early_cow_pinned'
  | 'hugetlb_lazy_fork_copy'
  | 'fork_early_cow_anon_only'
  | 'hugetlb_fork_early_cow_anon_only'
  | 'gup_fast_write_protect_seq'
  | 'longterm_migrate_cma'
  | 'secretmem'
  | 'secretmem_enabled'
  | 'longterm_migrate_movable'
  | 'longterm_migrate_fail_error'
  | 'no_swapcache_pinned'
  | 'vmscan_skip_pinned'
  | 'ext4_bufferless_warn'
  | 'page_anon_exclusive'
  | 'gup_unshare_anon'
  | 'foll_force_anon_exclusive'
  | 'gup_unshare_cow_mapping'
  | 'foll_pci_p2pdma'
  | 'p2pdma_user_mmap'
  | 'thp_cow_split_pmd'
  | 'thp_wp_refcount'
  | 'madv_cold'
  | 'madv_pageout'
  | 'madv_dontneed_hugetlb'
  | 'mremap_hugetlb'
  | 'madv_collapse'
  | 'madv_collapse_eagain'
  | 'collapse_ro_anon'
  | 'mf_thp_split_fail_sigbus'
  | 'mf_anon_skip_refcount'
  | 'shmem_hwpoison_keep'
  | 'mf_delayed_recovered'
  | 'evict_checks_refcount'
  | 'hugetlb_force_write_refused'
  | 'hugetlb_wp_mkwrite_always'
  | 'thp_huge_zero_wp_alloc'
  | 'gup_longterm_needs_pin'
  | 'gup_internal_flags_remote'
  | 'gup_internal_flags_touch'
  | 'mprotect_try_writable'
  | 'mprotect_writable_clean_anon'
  | 'mprotect_pmd_try_writable'
  | 'thp_split_carry_dirty'
  | 'wp_no_reuse_large'
  | 'wp_reuse_large_mm_id'
  | 'p2pdma_longterm'
  | 'dio_foll_pin'
  | 'writable_file_mapping_check'
  | 'gup_fast_longterm_file_check'
  | 'guest_memfd'
  | 'upm_v10'
  | 'restricted_aops';

/** A knob the model consulted, and whether the profile has it. */
export interface KnobUse {
  name: KnobName;
  on: boolean;
}

export interface Violation {
  kind: ViolationKind;
  detail: string;
}

/** Receives what the model reports while it runs. */
export interface EventSink {
  violation(v: Violation): void;
  /**
   * a kernel function ran and changed state or decided something (for traces and the step view); knobs are
   * the profile's knobs the model consulted since the previous trace entry, with their values: the knobs
   * this decision went through
   */
  trace(fn: string, what: string, knobs?: KnobUse[]): void;
  /** something a kernel developer should know about this run (BUG(), WARN, ignored advice) */
  note(msg: string): void;
}

export const NULL_SINK: EventSink = { violation() {}, trace() {}, note() {} };

export const VIOLATION_BIT: Record<ViolationKind, number> = {
  DMA_LOST: 1,
  DMA_STALE: 2,
  COW_LEAK: 4,
  PRIVATE_WRITE_LEAK: 8,
  UNTRACKED_DIRTY: 16,
  DATA_LOSS: 32,
  USE_AFTER_FREE: 64,
  UNMOVABLE_PIN: 128,
  SECURE_ACCESS: 256,
  DOUBLE_RELEASE: 512,
  MISMATCHED_RELEASE: 1024,
  ACCESS_AFTER_RELEASE: 2048,
};

/** allocFolio(flags | ZONE_EXPLICIT): the caller chose the zone (a migration target in ZONE_NORMAL). */
export const ZONE_EXPLICIT = 1 << 30;

/** The zero page lives in folio slot 0. */
export const ZERO_FOLIO = 0;

const PER_PAGE: boolean[] = [];
for (const f of PAGE_FIELDS) PER_PAGE[f] = true;

export class Kernel {
  readonly L: Layout;
  s: Int32Array;
  sink: EventSink;
  /** secondary MMU index -> the process whose page tables it follows (static per scenario) */
  secondaryOwner: number[] = [];
  /** zone flag (PG_ZONE_MOVABLE, PG_CMA or 0) every user page is allocated with (`memory ZONE`) */
  allocZone = 0;
  private readonly knobs: ReadonlySet<string>;

  constructor(dims: Dims, knobs: ReadonlySet<string>, sink: EventSink = NULL_SINK, state?: Int32Array) {
    this.L = new Layout(dims);
    this.knobs = knobs;
    this.sink = sink;
    if (state) {
      this.s = state;
    } else {
      this.s = new Int32Array(this.L.size);
      // the shared zero page: never freed, never counted
      const z = this.L.folio(ZERO_FOLIO);
      this.s[z + F_FLAGS] = PG_ALIVE | PG_ZERO | PG_UPTODATE;
      this.s[H_NEXT_FOLIO] = 1;
    }
  }

  /**
   * The explorer's write log: while `logWrites` is on, set() appends the index
   * of every word it writes (duplicates allowed) to `wlog`; `wn` counts them,
   * also past the log's end (then the explorer compares the whole state). Every
   * write to `s` goes through set() so that a transition's changed words are
   * known without comparing the state with its parent.
   */
  logWrites = false;
  wlog = new Int32Array(1024);
  wn = 0;

  /** s[i] = v, logged for the explorer. */
  set(i: number, v: number): void {
    this.s[i] = v;
    if (this.logWrites) this.logged(i);
  }
  /** Log a write to word i made without set() (the explorer's renumbering). */
  logged(i: number): void {
    if (this.wn < this.wlog.length) this.wlog[this.wn] = i;
    this.wn++;
  }

  /** knobs consulted since the last trace entry; kept only while a sink listens (never in the explorer's search) */
  private consulted = new Map<KnobName, boolean>();

  on(knob: KnobName): boolean {
    const v = this.knobs.has(knob);
    if (this.sink !== NULL_SINK) this.consulted.set(knob, v);
    return v;
  }

  /** Record a violation in the state (bitmask) and tell the sink. */
  violate(kind: ViolationKind, detail: string): void {
    this.set(H_VIOLATIONS, this.s[H_VIOLATIONS]! | VIOLATION_BIT[kind]);
    this.sink.violation({ kind, detail });
  }

  /**
   * Whether a sink listens (witness replay, straight runs); the explorer's search runs without one. Trace calls
   * are written `k.tracing && k.trace(fn, `...`)` so that the search does not build messages nobody reads.
   */
  get tracing(): boolean {
    return this.sink !== NULL_SINK;
  }

  trace(fn: string, what: string): void {
    if (this.consulted.size) {
      const knobs = [...this.consulted].map(([name, on]) => ({ name, on }));
      this.consulted.clear();
      this.sink.trace(fn, what, knobs);
    } else this.sink.trace(fn, what);
  }

  // ---- folio accessors (a tail page's folio-level fields and flags live in its head)
  /** offset of the record holding `field` of page f */
  private fo(f: number, field: number): number {
    const o = this.L.folio(f);
    if (PER_PAGE[field]) return o;
    const c = this.s[o + F_COMPOUND]!;
    return c < 0 ? o + c * F_STRIDE : o;
  }
  /** offset of the record holding `flag` of page f */
  private fl(f: number, flag: number): number {
    const o = this.L.folio(f);
    if (flag & PAGE_FLAGS) return o;
    const c = this.s[o + F_COMPOUND]!;
    return c < 0 ? o + c * F_STRIDE : o;
  }
  fget(f: number, field: number): number {
    return this.s[this.fo(f, field) + field]!;
  }
  fset(f: number, field: number, v: number): void {
    this.set(this.fo(f, field) + field, v);
  }
  ftest(f: number, flag: number): boolean {
    return (this.s[this.fl(f, flag) + F_FLAGS]! & flag) !== 0;
  }
  fsetFlag(f: number, flag: number): void {
    const o = this.fl(f, flag) + F_FLAGS;
    this.set(o, this.s[o]! | flag);
  }
  fclearFlag(f: number, flag: number): void {
    const o = this.fl(f, flag) + F_FLAGS;
    this.set(o, this.s[o]! & ~flag);
  }
  folioRef(f: number): number {
    return this.fget(f, F_REF);
  }
  folioMapcount(f: number): number {
    return this.fget(f, F_MAPCOUNT);
  }
  /** page_folio(): the head page of f's folio */
  head(f: number): number {
    const c = this.s[this.L.folio(f) + F_COMPOUND]!;
    return c < 0 ? f + c : f;
  }
  /** folio_nr_pages() */
  nrPages(f: number): number {
    const c = this.s[this.L.folio(this.head(f)) + F_COMPOUND]!;
    return c > 1 ? c : 1;
  }

  /** Allocate a fresh folio slot (folio_alloc). Slots are never reused. */
  allocFolio(flags: number, value: number): number {
    const f = this.s[H_NEXT_FOLIO]!;
    if (f >= this.L.d.folios) throw new ModelCapacityError('folios', this.L.d.folios);
    this.set(H_NEXT_FOLIO, f + 1);
    const o = this.L.folio(f);
    this.set(o + F_FLAGS, (flags & ~ZONE_EXPLICIT) | PG_ALIVE | (flags & ZONE_EXPLICIT ? 0 : this.allocZone));
    this.set(o + F_REF, 1);
    this.set(o + F_MAPCOUNT, 0);
    this.set(o + F_PINCOUNT, 0);
    this.set(o + F_PINS, 0);
    this.set(o + F_VALUE, value);
    this.set(o + F_MAPPING, 0);
    this.set(o + F_INDEX, 0);
    this.set(o + F_AUTHOR, 0);
    this.set(o + F_EPOCH, 0);
    this.set(o + F_SWAP, 0);
    this.set(o + F_COMPOUND, 0);
    return f;
  }

  /** folio_alloc(order > 0): nr consecutive slots, the head first; per-page flags are set on every page. */
  allocLargeFolio(flags: number, nr: number, values: readonly number[]): number {
    if (this.s[H_NEXT_FOLIO]! + nr > this.L.d.folios) throw new ModelCapacityError('folios', this.L.d.folios);
    const h = this.allocFolio(flags | PG_LARGE, values[0] ?? 0);
    this.set(this.L.folio(h) + F_COMPOUND, nr);
    for (let i = 1; i < nr; i++) {
      const t = this.s[H_NEXT_FOLIO]!;
      this.set(H_NEXT_FOLIO, t + 1);
      const o = this.L.folio(t);
      for (let w = o; w < o + F_STRIDE; w++) this.set(w, 0);
      this.set(o + F_FLAGS, flags & PAGE_FLAGS);
      this.set(o + F_VALUE, values[i] ?? 0);
      this.set(o + F_COMPOUND, -i);
    }
    return h;
  }

  // ---- page table accessors
  vmFlags(p: number, va: number): number {
    return this.s[this.L.pte(p, va) + E_VMFLAGS]!;
  }
  setVmFlags(p: number, va: number, v: number): void {
    this.set(this.L.pte(p, va) + E_VMFLAGS, v);
  }
  vmFile(p: number, va: number): number {
    return this.s[this.L.pte(p, va) + E_FILE]! - 1;
  }
  vmPgoff(p: number, va: number): number {
    return this.s[this.L.pte(p, va) + E_PGOFF]!;
  }
  pte(p: number, va: number): number {
    return this.s[this.L.pte(p, va) + E_PTE]!;
  }
  /** folio index mapped by a present pte, or -1 */
  pteFolio(p: number, va: number): number {
    const o = this.L.pte(p, va);
    return this.s[o + E_PTE]! & 1 ? this.s[o + E_FOLIO]! - 1 : -1;
  }
  setPte(p: number, va: number, folio: number, bits: number): void {
    const o = this.L.pte(p, va);
    this.set(o + E_FOLIO, folio + 1);
    this.set(o + E_PTE, bits);
  }
  clearPte(p: number, va: number): void {
    const o = this.L.pte(p, va);
    this.set(o + E_FOLIO, 0);
    this.set(o + E_PTE, 0);
  }
  /** Change a PTE's bits; on a PMD mapping, the whole PMD's (all its records stay alike). */
  setPteBits(p: number, va: number, bits: number): void {
    if (!(bits & PTE_PMD)) {
      this.set(this.L.pte(p, va) + E_PTE, bits);
      return;
    }
    const base = va - (va % HPAGE_PMD_NR);
    for (let i = 0; i < HPAGE_PMD_NR; i++) this.set(this.L.pte(p, base + i) + E_PTE, bits);
  }

  procAlive(p: number): boolean {
    return this.s[this.L.proc(p) + P_ALIVE] === 1;
  }

  // ---- files
  fileFs(fi: number): number {
    return this.s[this.L.file(fi) + FI_FS]!;
  }
  fileSize(fi: number): number {
    return this.s[this.L.file(fi) + FI_SIZE]!;
  }
  fileFlags(fi: number): number {
    return this.s[this.L.file(fi) + FI_FLAGS]!;
  }
  fileVa(fi: number): number {
    return this.s[this.L.file(fi) + FI_VA]!;
  }
  cachedFolio(fi: number, idx: number): number {
    return this.s[this.L.cacheSlot(fi, idx)]! - 1;
  }
  setCachedFolio(fi: number, idx: number, f: number): void {
    this.set(this.L.cacheSlot(fi, idx), f + 1);
  }
  disk(fi: number, idx: number): number {
    return this.s[this.L.diskSlot(fi, idx)]!;
  }
  setDisk(fi: number, idx: number, v: number): void {
    this.set(this.L.diskSlot(fi, idx), v);
  }

  /** A copy of this kernel with a copied state (the explorer's branch). */
  clone(sink: EventSink = this.sink): Kernel {
    const c = new Kernel(this.L.d, this.knobs, sink, this.s.slice());
    c.secondaryOwner = this.secondaryOwner;
    c.allocZone = this.allocZone;
    return c;
  }
}

/** The scenario needs more slots than the interpreter sized for (a pinlab bug, reported plainly). */
export class ModelCapacityError extends Error {
  constructor(table: string, size: number) {
    super(`model table '${table}' is full (${size} slots); this is a pinlab sizing bug`);
  }
}

/** An internal consistency check failed: the model reached a state the kernel forbids. */
export class ModelInvariantError extends Error {}
