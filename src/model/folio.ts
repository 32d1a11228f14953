// struct folio: reference counting, pin accounting and dirtying.
// include/linux/mm.h, mm/gup.c (try_grab_folio, gup_put_folio), mm/page-writeback.c.

import { Kernel, ModelInvariantError, ZERO_FOLIO } from './kernel.js';
import {
  F_REF,
  F_MAPCOUNT,
  F_PINCOUNT,
  F_PINS,
  F_VALUE,
  F_AUTHOR,
  F_EPOCH,
  F_MAPPING,
  F_INDEX,
  PG_ALIVE,
  PG_FREED,
  PG_LARGE,
  PG_DIRTY,
  PG_ANON,
  PG_LRU,
  PG_FS_WRITABLE,
  PG_PRIVATE,
  PG_HUGETLB,
  PG_SECURE,
  FS_EXT4,
  P_FORKS,
} from './state.js';
import { check_fs_dirty } from './invariants.js';

/** GUP_PIN_COUNTING_BIAS (include/linux/mm.h, 5.7+). */
export const GUP_PIN_COUNTING_BIAS = 1024;

/** FOLL_* bits (include/linux/mm_types.h; internal ones as the versions had them). */
export const FOLL_WRITE = 0x01;
export const FOLL_GET = 0x04;
export const FOLL_DUMP = 0x08;
export const FOLL_FORCE = 0x10;
export const FOLL_NOWAIT = 0x20;
export const FOLL_NOFAULT = 0x80;
export const FOLL_HWPOISON = 0x100;
export const FOLL_ANON = 0x8000;
export const FOLL_LONGTERM = 0x10000;
export const FOLL_SPLIT_PMD = 0x20000;
export const FOLL_PIN = 0x40000;
export const FOLL_FAST_ONLY = 0x80000;
export const FOLL_PCI_P2PDMA = 0x100000;
export const FOLL_INTERRUPTIBLE = 0x200000;
export const FOLL_HONOR_NUMA_FAULT = 0x400000;
export const FOLL_TOUCH = 0x800000;
export const FOLL_REMOTE = 0x1000000;
export const FOLL_COW = 0x2000000; // 4.9 .. 5.19: set by faultin_page after a COW fault
export const FOLL_MLOCK = 0x4000000;

export const FOLL_BY_NAME: Record<string, number> = {
  FOLL_WRITE, FOLL_GET, FOLL_DUMP, FOLL_FORCE, FOLL_NOWAIT, FOLL_NOFAULT, FOLL_HWPOISON, FOLL_ANON,
  FOLL_LONGTERM, FOLL_SPLIT_PMD, FOLL_PIN, FOLL_PCI_P2PDMA, FOLL_INTERRUPTIBLE, FOLL_HONOR_NUMA_FAULT,
  FOLL_TOUCH, FOLL_REMOTE, FOLL_MLOCK,
};

/** FOLL_* names the language accepts but pinlab does not model: a scenario using one is refused, not answered wrongly. */
export const FOLL_NOT_MODELLED = FOLL_DUMP | FOLL_NOWAIT | FOLL_NOFAULT | FOLL_HWPOISON | FOLL_SPLIT_PMD | FOLL_INTERRUPTIBLE | FOLL_HONOR_NUMA_FAULT | FOLL_MLOCK;

export function follNames(flags: number): string {
  const names = Object.entries(FOLL_BY_NAME)
    .filter(([, v]) => (flags & v) !== 0)
    .map(([n]) => n);
  if (flags & FOLL_COW) names.push('FOLL_COW');
  return names.length ? names.join('|') : '0';
}

/** folio_get(): take a reference. */
export function folio_get(k: Kernel, f: number, n = 1): void {
  if (f === ZERO_FOLIO) return;
  k.fset(f, F_REF, k.fget(f, F_REF) + n);
}

/** folio_put(): drop a reference; the last one frees the folio (__folio_put). */
export function folio_put(k: Kernel, f: number, n = 1): void {
  if (f === ZERO_FOLIO) return;
  const ref = k.fget(f, F_REF) - n;
  if (ref < 0) throw new ModelInvariantError(`folio #${f} refcount went negative (${ref})`);
  k.fset(f, F_REF, ref);
  if (ref === 0) free_folio(k, f);
}

/** __folio_put -> free_unref_folio: the slot stays, marked freed, so stale users are caught. */
function free_folio(k: Kernel, f: number): void {
  if (k.fget(f, F_MAPCOUNT) !== 0) throw new ModelInvariantError(`folio #${f} freed while mapped`);
  k.fclearFlag(f, PG_ALIVE | PG_LRU | PG_DIRTY | PG_PRIVATE);
  k.fsetFlag(f, PG_FREED);
  k.tracing && k.trace('free_unref_folio', `folio #${f} freed`);
}

/** folio_mapcount() */
export function folio_mapcount(k: Kernel, f: number): number {
  return k.fget(f, F_MAPCOUNT);
}

/** folio_add_*_rmap_pte(): one more PTE maps the folio (the reference is taken by the caller). */
export function folio_add_rmap(k: Kernel, f: number): void {
  if (f === ZERO_FOLIO) return;
  k.fset(f, F_MAPCOUNT, k.fget(f, F_MAPCOUNT) + 1);
}

/** folio_remove_rmap_pte(): one PTE fewer maps it. */
export function folio_remove_rmap(k: Kernel, f: number): void {
  if (f === ZERO_FOLIO) return;
  const m = k.fget(f, F_MAPCOUNT) - 1;
  if (m < 0) throw new ModelInvariantError(`folio #${f} mapcount went negative`);
  k.fset(f, F_MAPCOUNT, m);
}

/**
 * folio_maybe_dma_pinned() (5.7+; page_maybe_dma_pinned): large folios read
 * the exact _pincount, small ones guess from refcount >= GUP_PIN_COUNTING_BIAS
 * (false positives with >= 1024 plain references). Before pin accounting
 * (5.6 and older) nothing can tell.
 */
export function folio_maybe_dma_pinned(k: Kernel, f: number): boolean {
  if (!k.on('pin_counting_bias') || f === ZERO_FOLIO) return false;
  if (k.ftest(f, PG_LARGE)) return k.fget(f, F_PINCOUNT) > 0;
  return k.fget(f, F_REF) >= GUP_PIN_COUNTING_BIAS;
}

/** How many references one FOLL_PIN adds to this folio on this kernel. */
function pinRefs(k: Kernel, f: number): number {
  if (!k.on('pin_counting_bias')) return 1;
  return k.ftest(f, PG_LARGE) ? 1 : GUP_PIN_COUNTING_BIAS;
}

/**
 * try_grab_folio() (mm/gup.c): FOLL_GET takes a reference, FOLL_PIN adds
 * GUP_PIN_COUNTING_BIAS (small) or 1 + _pincount (large). The zero page is
 * never pinned (no-op). Returns false if the folio cannot be grabbed.
 */
export function try_grab_folio(k: Kernel, f: number, flags: number): boolean {
  if (f === ZERO_FOLIO) return true;
  if (!k.ftest(f, PG_ALIVE)) return false;
  if (flags & FOLL_PIN) {
    k.fset(f, F_REF, k.fget(f, F_REF) + pinRefs(k, f));
    if (k.ftest(f, PG_LARGE) && k.on('pin_counting_bias')) k.fset(f, F_PINCOUNT, k.fget(f, F_PINCOUNT) + 1);
    k.fset(f, F_PINS, k.fget(f, F_PINS) + 1);
  } else if (flags & FOLL_GET) {
    folio_get(k, f);
  }
  return true;
}

/** gup_put_folio() (mm/gup.c): undo try_grab_folio(). */
export function gup_put_folio(k: Kernel, f: number, flags: number): void {
  if (f === ZERO_FOLIO) return;
  if (flags & FOLL_PIN) {
    if (k.ftest(f, PG_LARGE) && k.on('pin_counting_bias')) k.fset(f, F_PINCOUNT, k.fget(f, F_PINCOUNT) - 1);
    const pins = k.fget(f, F_PINS) - 1;
    if (pins < 0) throw new ModelInvariantError(`folio #${f} unpinned more often than pinned`);
    k.fset(f, F_PINS, pins);
    folio_put(k, f, pinRefs(k, f));
  } else if (flags & FOLL_GET) {
    folio_put(k, f);
  }
}

/** Is this a file folio of a filesystem that tracks dirtying (ext4's buffered write path)? */
export function folio_needs_fs_tracking(k: Kernel, f: number): boolean {
  const m = k.fget(f, F_MAPPING);
  return m > 0 && !k.ftest(f, PG_ANON) && k.fileFs(m - 1) === FS_EXT4;
}

/**
 * folio_mark_dirty() -> mapping->a_ops->dirty_folio: anon and shmem just set
 * the flag (noop_dirty_folio); ext4's block_dirty_folio expects the fs to have
 * been told first (page_mkwrite / write_begin) -- checked by check_fs_dirty.
 */
export function folio_mark_dirty(k: Kernel, f: number): void {
  if (f === ZERO_FOLIO || !k.ftest(f, PG_ALIVE)) return;
  if (folio_needs_fs_tracking(k, f)) check_fs_dirty(k, f);
  if (!k.ftest(f, PG_DIRTY)) k.tracing && k.trace('folio_mark_dirty', `folio #${f} dirty`);
  k.fsetFlag(f, PG_DIRTY);
}

/** The fs was told about a coming write (ext4_page_mkwrite / ext4_write_begin): buffers attached. */
export function fs_prepare_write(k: Kernel, f: number): void {
  if (!folio_needs_fs_tracking(k, f)) return;
  k.fsetFlag(f, PG_PRIVATE | PG_FS_WRITABLE);
}

/** Write a value into a folio on behalf of process `author` (-1: no process). */
export function folio_store(k: Kernel, f: number, value: number, author: number): void {
  k.fset(f, F_VALUE, value);
  if (author >= 0) {
    k.fset(f, F_AUTHOR, author + 1);
    k.fset(f, F_EPOCH, k.s[k.L.proc(author) + P_FORKS]!);
  } else {
    k.fset(f, F_AUTHOR, 0);
    k.fset(f, F_EPOCH, 0);
  }
}

/** copy_mc_user_highpage(): content and its provenance travel together. */
export function folio_copy(k: Kernel, dst: number, src: number): void {
  k.fset(dst, F_VALUE, k.fget(src, F_VALUE));
  k.fset(dst, F_AUTHOR, k.fget(src, F_AUTHOR));
  k.fset(dst, F_EPOCH, k.fget(src, F_EPOCH));
}

export function folio_describe(k: Kernel, f: number): string {
  if (f === ZERO_FOLIO) return 'the zero page';
  const parts = [`folio #${f}`];
  const m = k.fget(f, F_MAPPING);
  if (k.ftest(f, PG_ANON)) parts.push('anon');
  else if (m > 0) parts.push(`file ${m - 1} index ${k.fget(f, F_INDEX)}`);
  if (k.ftest(f, PG_HUGETLB)) parts.push('hugetlb');
  if (k.ftest(f, PG_SECURE)) parts.push('secure');
  return parts.join(' ');
}
