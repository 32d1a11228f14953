// Invariant checkers. Each inspects model state at the event the model reports
// (a device access, a process observing a page, a folio being dirtied, a
// writeback finishing) and raises the spec's violation kinds. None of them
// knows anything about scenarios: only folios, page tables and pins.

import { swap_cache_folio } from './swap.js';
import { Kernel, ZERO_FOLIO } from './kernel.js';
import {
  E_FOLIO,
  E_PTE,
  F_AUTHOR,
  F_EPOCH,
  F_INDEX,
  F_MAPPING,
  F_PINS,
  F_REF,
  F_MAPCOUNT,
  F_VALUE,
  FS_EXT4,
  K_OWNER,
  K_VA,
  P_PARENT,
  P_PARENT_FORK,
  PG_ANON,
  PG_DIRTY,
  PG_FREED,
  PG_FS_WRITABLE,
  PG_SECURE,
  PG_CMA,
  PG_ZONE_MOVABLE,
  PG_WRITEBACK,
  PTE_HWPOISON,
  PTE_MIGRATION,
  PTE_PRESENT,
  PTE_SWAP,
  VM_HUGETLB,
  W_VALUE,
  showValue,
} from './state.js';

/** What a process would see at an address on its next access, without faulting. */
export interface Seen {
  /** the folio it maps or would map; -1 when it would get a page that does not exist yet */
  folio: number;
  value: number;
}

/** The folio (or fresh page) process p reaches at va on its next access; null if the access faults with SIGSEGV. */
export function would_see(k: Kernel, p: number, va: number): Seen | null {
  if (!k.procAlive(p)) return null;
  const vmf = k.vmFlags(p, va);
  if (vmf === 0) return null;
  const o = k.L.pte(p, va);
  const bits = k.s[o + E_PTE]!;
  if (bits & PTE_PRESENT) {
    const f = k.s[o + E_FOLIO]! - 1;
    return { folio: f, value: k.fget(f, F_VALUE) };
  }
  if (bits & PTE_HWPOISON) return null; // the access gets SIGBUS
  if (bits & PTE_MIGRATION) {
    const f = k.s[o + E_FOLIO]! - 1; // the folio being migrated: the fault waits, then maps its successor
    return { folio: f, value: k.fget(f, F_VALUE) };
  }
  if (bits & PTE_SWAP) {
    // do_swap_page(): the swap cache's folio if the slot still has one (a pinned or referenced page stays there),
    // else the slot's data read into a new page -- the same lookup the fault does
    const slot = k.s[o + E_FOLIO]! - 1;
    const sc = swap_cache_folio(k, slot);
    if (sc >= 0) return { folio: sc, value: k.fget(sc, F_VALUE) };
    return { folio: -1, value: k.s[k.L.swapSlot(slot) + W_VALUE]! };
  }
  const fi = k.vmFile(p, va);
  if (fi < 0) {
    // do_anonymous_page: the zero page on read (a fresh zeroed huge page for hugetlb)
    return vmf & VM_HUGETLB ? { folio: -1, value: 0 } : { folio: ZERO_FOLIO, value: 0 };
  }
  const idx = k.vmPgoff(p, va);
  if (idx >= k.fileSize(fi)) return null; // beyond EOF: the access gets SIGBUS
  const cf = k.cachedFolio(fi, idx);
  if (cf >= 0) return { folio: cf, value: k.fget(cf, F_VALUE) };
  return { folio: -1, value: k.disk(fi, idx) };
}

function describeAt(k: Kernel, p: number, va: number, seen: Seen): string {
  return seen.folio >= 0 ? `folio #${seen.folio}` : `a page it would fault in (${showValue(seen.value)})`;
}

/** Device write through pin handle h, page i, into folio f. */
export function check_device_write(k: Kernel, h: number, i: number, f: number, procName: (p: number) => string): void {
  if (check_use_after_free(k, f, 'device write')) return;
  if (k.ftest(f, PG_SECURE)) k.violate('SECURE_ACCESS', `device wrote folio #${f}, which belongs to a protected guest`);
  const owner = k.s[k.L.pin(h) + K_OWNER]! - 1;
  const va = k.s[k.L.pin(h) + K_VA]! + i;
  if (owner >= 0) {
    const seen = would_see(k, owner, va);
    if (seen && seen.folio !== f) {
      k.violate(
        'DMA_LOST',
        `the device wrote folio #${f} but ${procName(owner)} maps ${describeAt(k, owner, va, seen)} at that address`,
      );
    }
  }
  check_fs_modify(k, f, 'a device write through a pin');
}

/** Device read through pin handle h, page i, of folio f. */
export function check_device_read(k: Kernel, h: number, i: number, f: number, procName: (p: number) => string): void {
  if (check_use_after_free(k, f, 'device read')) return;
  if (k.ftest(f, PG_SECURE)) k.violate('SECURE_ACCESS', `device read folio #${f}, which belongs to a protected guest`);
  const owner = k.s[k.L.pin(h) + K_OWNER]! - 1;
  const va = k.s[k.L.pin(h) + K_VA]! + i;
  if (owner < 0) return;
  const seen = would_see(k, owner, va);
  const v = k.fget(f, F_VALUE);
  if (seen && seen.folio !== f && seen.value !== v) {
    k.violate(
      'DMA_STALE',
      `the device read ${showValue(v)} from folio #${f} but ${procName(owner)} has ${showValue(seen.value)} at that address (${describeAt(k, owner, va, seen)})`,
    );
  }
}

/** A device or secondary MMU touched a folio: was it freed? */
export function check_use_after_free(k: Kernel, f: number, who: string): boolean {
  if (f !== ZERO_FOLIO && k.ftest(f, PG_FREED)) {
    k.violate('USE_AFTER_FREE', `${who} on folio #${f} after it was freed`);
    return true;
  }
  return false;
}

/**
 * Process `reader` observes the content of folio f (a CPU load, a pipe read).
 * Anonymous memory is private after fork: data written by another process is
 * legitimately visible only if that process is an ancestor and wrote before the
 * fork that separated them.
 */
export function check_observe(k: Kernel, reader: number, f: number, procName: (p: number) => string): void {
  if (f === ZERO_FOLIO || !k.ftest(f, PG_ANON)) return;
  const author = k.fget(f, F_AUTHOR) - 1;
  if (author < 0 || author === reader) return;
  const epoch = k.fget(f, F_EPOCH);
  let cur = reader;
  for (;;) {
    const parent = k.s[k.L.proc(cur) + P_PARENT]! - 1;
    if (parent < 0) break;
    const forkIdx = k.s[k.L.proc(cur) + P_PARENT_FORK]!;
    if (parent === author) {
      if (epoch < forkIdx) return; // inherited at fork
      break;
    }
    cur = parent;
  }
  k.violate(
    'COW_LEAK',
    `${procName(reader)} observed ${showValue(k.fget(f, F_VALUE))} in folio #${f}, written by ${procName(author)} after their memory stopped being shared`,
  );
}

/** A write reached folio f through a GUP reference taken via a mapping; was that mapping private or read-only? */
export function check_private_write(k: Kernel, f: number, viaPrivateMapping: boolean, who: string): void {
  if (!viaPrivateMapping || f === ZERO_FOLIO) return;
  if (k.fget(f, F_MAPPING) > 0 && !k.ftest(f, PG_ANON)) {
    k.violate(
      'PRIVATE_WRITE_LEAK',
      `${who} through a private mapping wrote page-cache folio #${f} (file ${k.fget(f, F_MAPPING) - 1} index ${k.fget(f, F_INDEX)})`,
    );
  }
}

/** Content of a file folio changed outside the fs's knowledge (no page_mkwrite since writeback cleaned it). */
export function check_fs_modify(k: Kernel, f: number, how: string): void {
  const m = k.fget(f, F_MAPPING);
  if (m <= 0 || k.ftest(f, PG_ANON) || k.fileFs(m - 1) !== FS_EXT4) return;
  if (!k.ftest(f, PG_FS_WRITABLE)) {
    k.violate('UNTRACKED_DIRTY', `${how} modified ext4 folio #${f} with no page_mkwrite since writeback cleaned it`);
  }
}

/** folio_mark_dirty() on an ext4 folio the fs was not told about. */
export function check_fs_dirty(k: Kernel, f: number): void {
  if (!k.ftest(f, PG_FS_WRITABLE)) {
    k.violate('UNTRACKED_DIRTY', `folio #${f} dirtied without page_mkwrite (ext4 was not told; buffers may be gone)`);
  }
}

/** After writeback/fsync of file fi: data in a clean, released page that never reached the disk is lost. */
export function check_writeback_done(k: Kernel, fi: number): void {
  const fs = k.fileFs(fi);
  if (fs !== FS_EXT4) return;
  for (let idx = 0; idx < k.fileSize(fi); idx++) {
    const f = k.cachedFolio(fi, idx);
    if (f < 0) continue;
    if (k.ftest(f, PG_DIRTY) || k.ftest(f, PG_WRITEBACK)) continue;
    if (k.fget(f, F_PINS) > 0 || k.fget(f, F_REF) > 1 + k.fget(f, F_MAPCOUNT)) continue; // still held: may be dirtied at release
    if (k.fget(f, F_VALUE) !== k.disk(fi, idx)) {
      k.violate(
        'DATA_LOSS',
        `file ${fi} page ${idx} holds ${showValue(k.fget(f, F_VALUE))} in a clean page but ${showValue(k.disk(fi, idx))} on disk after sync`,
      );
    }
  }
}

/** A page-cache folio leaves the cache: is its content on disk? */
export function check_evict(k: Kernel, fi: number, idx: number, f: number): void {
  if (k.fileFs(fi) === FS_EXT4 && k.fget(f, F_VALUE) !== k.disk(fi, idx)) {
    k.violate('DATA_LOSS', `file ${fi} page ${idx} evicted holding ${showValue(k.fget(f, F_VALUE))}, disk has ${showValue(k.disk(fi, idx))}`);
  }
}

export function check_secure_io(k: Kernel, f: number, what: string): void {
  if (k.ftest(f, PG_SECURE)) k.violate('SECURE_ACCESS', `${what} accessed folio #${f}, which belongs to a protected guest`);
}

/** A long-term pin was taken on folio f: it must not sit in ZONE_MOVABLE or CMA (memory hot-unplug and CMA allocations need those pages to move). */
export function check_longterm_pin(k: Kernel, f: number): void {
  if (f === ZERO_FOLIO) return;
  if (k.ftest(f, PG_ZONE_MOVABLE) || k.ftest(f, PG_CMA)) {
    k.violate('UNMOVABLE_PIN', `a long-term pin holds folio #${f} in ${k.ftest(f, PG_CMA) ? 'CMA' : 'ZONE_MOVABLE'}`);
  }
}
