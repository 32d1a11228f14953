// mm/memory.c: page faults, copy-on-write and zapping; CPU loads and stores.

import { Kernel, ZERO_FOLIO } from './kernel.js';
import {
  folio_add_rmap,
  folio_copy,
  folio_get,
  folio_mark_dirty,
  folio_put,
  folio_remove_rmap,
  folio_store,
  fs_prepare_write,
} from './folio.js';
import {
  E_FOLIO,
  F_REF,
  F_SWAP,
  PG_DIRTY,
  PG_WRITEBACK,
  F_VALUE,
  FS_EXT4,
  FS_GUEST,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_HUGETLB,
  PG_KSM,
  PG_LARGE,
  PG_LRU,
  PG_SECURE,
  PG_SWAPCACHE,
  PG_UPTODATE,
  PTE_DIRTY,
  PTE_PMD,
  HPAGE_PMD_NR,
  PTE_HWPOISON,
  PTE_MIGRATION,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_WRITE,
  VM_HUGETLB,
  VM_MAYWRITE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  VM_EXEC,
  PG_HWPOISON,
} from './state.js';
import { filemap_fault } from './filemap.js';
import { mmu_notifier_invalidate } from './mmu_notifier.js';
import { anon_vma_prepare } from './rmap.js';
import { do_swap_page, free_swap_and_cache, swap_count, try_to_free_swap, delete_from_swap_cache } from './swap.js';
import { SIGBUS, SIGSEGV } from './errno.js';
import {
  do_huge_pmd_anonymous_page,
  do_huge_pmd_wp_page,
  folio_mapped_only_by,
  page_mapcount,
  pmd_base,
  pmd_trans_huge,
  split_huge_pmd,
  split_partial_pmds,
  thp_fault_possible,
  VM_FAULT_FALLBACK,
  zap_huge_pmd,
} from './huge_memory.js';

export const FAULT_FLAG_WRITE = 1;
export const FAULT_FLAG_UNSHARE = 2;
export const FAULT_FLAG_REMOTE = 4;

/** fault results */
export const VM_FAULT_OK = 0;
export const VM_FAULT_WRITE = 1; // COW broken or page reused for writing (faultin_page sets FOLL_COW on it)
export const VM_FAULT_SIGSEGV = 2;
export const VM_FAULT_SIGBUS = 4;
/** the fault hit a migration entry and must wait for the migration (migration_entry_wait) */
export const VM_FAULT_RETRY = 8;
export const VM_FAULT_ERROR = VM_FAULT_SIGSEGV | VM_FAULT_SIGBUS;

/** is_cow_mapping() (include/linux/mm.h): private and may become writable. */
export function is_cow_mapping(vmf: number): boolean {
  return (vmf & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** vma_is_anonymous() */
export function vma_is_anonymous(k: Kernel, p: number, va: number): boolean {
  return k.vmFile(p, va) < 0;
}

/** Install a PTE for folio f, taking the mapping's reference (set_pte_range + folio_add_*_rmap). */
function map_folio(k: Kernel, p: number, va: number, f: number, bits: number): void {
  if (f === ZERO_FOLIO) bits |= PTE_SPECIAL;
  else {
    folio_get(k, f);
    folio_add_rmap(k, f);
  }
  k.setPte(p, va, f, PTE_PRESENT | bits);
}

/** Write bits a new PTE gets: maybe_mkwrite(pte_mkdirty()) -- writable only in a VM_WRITE vma. */
function write_bits(vmf: number): number {
  return PTE_DIRTY | (vmf & VM_WRITE ? PTE_WRITE : 0);
}

/**
 * The same for a write fault's PTE, hugetlb included: before 1d8d14641fd9
 * (6.0) hugetlb_cow() and the copy it makes map the page writable with no
 * VM_WRITE test (set_huge_ptep_writable, make_huge_pte(vma, new_page, 1)), so
 * a FOLL_FORCE write (ptrace, /proc/pid/mem) left a PROT_READ private
 * hugetlb mapping writable for the process itself.
 */
function fault_write_bits(k: Kernel, vmf: number): number {
  if (vmf & VM_HUGETLB && k.on('hugetlb_wp_mkwrite_always')) return PTE_DIRTY | PTE_WRITE;
  return write_bits(vmf);
}

/** folio_alloc for a new anon page in this vma (huge if hugetlb). */
function alloc_anon(k: Kernel, p: number, va: number, value: number): number {
  const vmf = k.vmFlags(p, va);
  anon_vma_prepare(k, p, va);
  const huge = vmf & VM_HUGETLB ? PG_HUGETLB | PG_LARGE : 0;
  const f = k.allocFolio(PG_ANON | PG_ANON_EXCLUSIVE | PG_UPTODATE | PG_LRU | huge, value);
  return f;
}

/** do_anonymous_page() (all versions): the zero page on read, a fresh exclusive page on write. */
function do_anonymous_page(k: Kernel, p: number, va: number, fflags: number): number {
  const vmf = k.vmFlags(p, va);
  if (!(fflags & FAULT_FLAG_WRITE) && !(vmf & VM_HUGETLB)) {
    map_folio(k, p, va, ZERO_FOLIO, 0);
    k.tracing && k.trace('do_anonymous_page', `mapped the zero page read-only`);
    return VM_FAULT_OK;
  }
  const f = alloc_anon(k, p, va, 0);
  map_folio(k, p, va, f, fflags & FAULT_FLAG_WRITE ? fault_write_bits(k, vmf) : 0);
  folio_put(k, f); // the allocation reference is now the mapping's
  k.tracing && k.trace(vmf & VM_HUGETLB ? 'hugetlb_no_page' : 'do_anonymous_page', `new anon folio #${f} (exclusive)`);
  return VM_FAULT_OK;
}

/** Does the file's vm_ops have ->page_mkwrite (ext4_page_mkwrite)? (vma_wants_writenotify for a shared mapping) */
export function has_page_mkwrite(k: Kernel, fi: number): boolean {
  return k.fileFs(fi) === FS_EXT4;
}

/** do_page_mkwrite() -> ext4_page_mkwrite(): the fs prepares blocks and buffers, the page is dirtied. */
function do_page_mkwrite(k: Kernel, f: number): void {
  fs_prepare_write(k, f);
  k.tracing && k.trace('ext4_page_mkwrite', `folio #${f}: buffers attached, fs told of the write`);
}

/** do_fault(): do_read_fault / do_cow_fault / do_shared_fault. */
function do_fault(k: Kernel, p: number, va: number, fflags: number): number {
  const vmf = k.vmFlags(p, va);
  const fi = k.vmFile(p, va);
  const idx = k.vmPgoff(p, va);
  if (idx >= k.fileSize(fi)) return VM_FAULT_SIGBUS;
  const f = filemap_fault(k, fi, idx);
  if (k.ftest(f, PG_HWPOISON)) return VM_FAULT_SIGBUS; // shmem_fault(): a poisoned page kept in the cache (VM_FAULT_HWPOISON)
  const write = (fflags & FAULT_FLAG_WRITE) !== 0;
  const unshare = (fflags & FAULT_FLAG_UNSHARE) !== 0;
  if ((write || unshare) && !(vmf & VM_SHARED)) {
    // do_cow_fault(): a private copy of the page-cache page
    const n = alloc_anon(k, p, va, 0);
    folio_copy(k, n, f);
    map_folio(k, p, va, n, unshare ? 0 : fault_write_bits(k, vmf));
    folio_put(k, n);
    k.tracing && k.trace('do_cow_fault', `private copy folio #${n} of page-cache folio #${f}`);
    return VM_FAULT_WRITE;
  }
  if (write) {
    // do_shared_fault()
    if (has_page_mkwrite(k, fi)) do_page_mkwrite(k, f);
    map_folio(k, p, va, f, write_bits(vmf));
    folio_mark_dirty(k, f); // fault_dirty_shared_page()
    k.tracing && k.trace('do_shared_fault', `folio #${f} mapped writable`);
    return VM_FAULT_WRITE;
  }
  // do_read_fault(): map read-only (write-notify mappings and private ones alike)
  map_folio(k, p, va, f, 0);
  k.tracing && k.trace('do_read_fault', `folio #${f} mapped read-only`);
  return VM_FAULT_OK;
}

/**
 * wp_page_copy() (all versions): a new exclusive anon page replaces the old
 * one in this PTE; on FAULT_FLAG_UNSHARE the copy stays read-only.
 */
function wp_page_copy(k: Kernel, p: number, va: number, old: number, unshare: boolean): number {
  const vmf = k.vmFlags(p, va);
  const n = alloc_anon(k, p, va, 0);
  folio_copy(k, n, old);
  mmu_notifier_invalidate(k, p, va, 'wp_page_copy');
  folio_remove_rmap(k, old);
  const dirty = k.pte(p, va) & PTE_DIRTY;
  k.clearPte(p, va);
  map_folio(k, p, va, n, unshare ? dirty : fault_write_bits(k, vmf));
  folio_put(k, n);
  folio_put(k, old); // the old PTE's reference
  k.tracing && k.trace('wp_page_copy', `copied ${old === ZERO_FOLIO ? 'the zero page' : `folio #${old}`} to new folio #${n}${unshare ? ' (unshare, read-only)' : ''}`);
  return VM_FAULT_WRITE;
}

/** wp_page_reuse(): keep the page, make the PTE writable (maybe_mkwrite) and dirty. */
function wp_page_reuse(k: Kernel, p: number, va: number, f: number): number {
  const vmf = k.vmFlags(p, va);
  k.setPteBits(p, va, k.pte(p, va) | fault_write_bits(k, vmf));
  k.tracing && k.trace('wp_page_reuse', `folio #${f} reused for writing`);
  return VM_FAULT_WRITE;
}

/**
 * The anon reuse decision of do_wp_page() by version:
 *  <=5.8  reuse_swap_page(): reuse iff mapcount + swap count <= 1 (references
 *         do not count); a page in the swap cache leaves it when the count is 1
 *  5.9    09854ba94c6a: reuse iff page_count() == 1 -- a page in the swap
 *         cache (its reference counts) is always copied
 *  5.18   53a05ad9f21d: a refcount of 1 + the swap cache is worth trying:
 *         try_to_free_swap() (fails while another swap PTE names the slot),
 *         then reuse iff page_count() == 1
 *  5.19+  PageAnonExclusive pages are reused outright; otherwise
 *         wp_can_reuse_anon_folio() applies the 5.18 rule and marks the page exclusive.
 */
function wp_can_reuse_anon(k: Kernel, p: number, f: number): [boolean, string] {
  if (k.ftest(f, PG_KSM)) return [false, `folio #${f} is a KSM page`];
  const swapcache = k.ftest(f, PG_SWAPCACHE) ? 1 : 0;
  const large = k.ftest(f, PG_LARGE);
  if (k.on('page_anon_exclusive')) {
    if (k.ftest(f, PG_ANON_EXCLUSIVE)) return [true, `folio #${f} is PageAnonExclusive`];
    if (large && k.on('wp_reuse_large_mm_id')) {
      // __wp_can_reuse_large_anon_folio() (6.15): only this mm maps it, no references beyond the mappings
      const h = k.head(f);
      const only = folio_mapped_only_by(k, h, p);
      const ref = k.fget(h, F_REF);
      const want = k.folioMapcount(h) + swapcache;
      return [only && ref === want, `large folio #${h}: ${only ? 'mapped by this mm only' : 'mapped by another mm'}, refcount ${ref} ${ref === want ? '==' : '!='} mapcount + swapcache ${want}`];
    }
    if (large && k.on('wp_no_reuse_large')) return [false, `folio #${f} is a page of a large folio, never reused`]; // "let's just consistently not reuse subpages" (6.9)
  }
  if (k.on('wp_reuse_swapcache')) {
    const ref0 = k.fget(f, F_REF);
    if (ref0 > 1 + swapcache) return [false, `page_count ${ref0} > 1${swapcache ? ' + swap cache' : ''}`];
    if (swapcache) try_to_free_swap(k, f);
    const ref = k.fget(f, F_REF);
    return [ref === 1, `page_count ${ref} ${ref === 1 ? '==' : '!='} 1${swapcache ? ` after try_to_free_swap (${k.ftest(f, PG_SWAPCACHE) ? 'still in the swap cache' : 'left the swap cache'})` : ''}`];
  }
  if (k.on('wp_reuse_page_count')) {
    const ref = k.fget(f, F_REF);
    return [ref === 1, `page_count ${ref} ${ref === 1 ? '==' : '!='} 1${swapcache ? ' (the swap cache holds one)' : ''}`];
  }
  // reuse_swap_page(): mapped once, plus its swap count. For a THP's page page_trans_huge_map_swapcount() takes the
  // largest mapcount over all the THP's pages: one page mapped by another process is enough to copy any of them
  const map = large ? max_page_mapcount(k, k.head(f)) : k.folioMapcount(f);
  const swp = swapcache ? swap_count(k, k.fget(f, F_SWAP) - 1) : 0;
  const why = `reuse_swap_page: ${large ? 'largest page_mapcount of the THP' : 'mapcount'} ${map}${swapcache ? ` + swap count ${swp}` : ''} ${map + swp > 1 ? '> 1' : '<= 1'} (references do not count)`;
  if (map + swp > 1) return [false, why];
  if (swapcache && !k.ftest(f, PG_WRITEBACK)) {
    delete_from_swap_cache(k, f);
    k.fsetFlag(f, PG_DIRTY);
  }
  return [true, why];
}

/** The largest page_mapcount() over the pages of a THP (page_trans_huge_map_swapcount, <=5.8). */
function max_page_mapcount(k: Kernel, head: number): number {
  let m = 0;
  for (let i = 0; i < k.nrPages(head); i++) m = Math.max(m, page_mapcount(k, head + i));
  return m;
}

/** hugetlb_wp() (mm/hugetlb.c, all versions): reuse by mapcount, whatever the refcount. */
function hugetlb_wp(k: Kernel, p: number, va: number, f: number, unshare: boolean): number {
  if (k.ftest(f, PG_ANON) && k.folioMapcount(f) === 1) {
    if (k.on('page_anon_exclusive')) k.fsetFlag(f, PG_ANON_EXCLUSIVE);
    if (unshare) return VM_FAULT_OK;
    return wp_page_reuse(k, p, va, f);
  }
  return wp_page_copy(k, p, va, f, unshare);
}

/** do_wp_page() (mm/memory.c): a write (or unshare) fault on a present, read-only PTE. */
export function do_wp_page(k: Kernel, p: number, va: number, fflags: number): number {
  const vmf = k.vmFlags(p, va);
  const f = k.pteFolio(p, va);
  const unshare = (fflags & FAULT_FLAG_UNSHARE) !== 0;
  if (unshare && !is_cow_mapping(vmf)) return VM_FAULT_OK; // 6.2: treated as a read fault outside COW mappings
  if (vmf & VM_SHARED) {
    // wp_page_shared(): page_mkwrite then reuse
    const fi = k.vmFile(p, va);
    if (f !== ZERO_FOLIO && fi >= 0 && has_page_mkwrite(k, fi)) do_page_mkwrite(k, f);
    const r = wp_page_reuse(k, p, va, f);
    if (f !== ZERO_FOLIO && fi >= 0) folio_mark_dirty(k, f);
    return r;
  }
  if (f === ZERO_FOLIO) return wp_page_copy(k, p, va, f, unshare);
  if (k.ftest(f, PG_HUGETLB)) return hugetlb_wp(k, p, va, f, unshare);
  if (k.ftest(f, PG_ANON)) {
    const [reuse, why] = wp_can_reuse_anon(k, p, f);
    if (reuse) {
      if (k.on('page_anon_exclusive')) k.fsetFlag(f, PG_ANON_EXCLUSIVE);
      if (unshare) {
        k.tracing && k.trace('do_wp_page', `unshare: ${why} -> exclusive, stays read-only`);
        return VM_FAULT_OK;
      }
      k.tracing && k.trace('do_wp_page', `${why} -> wp_page_reuse`);
      return wp_page_reuse(k, p, va, f);
    }
    k.tracing && k.trace('do_wp_page', `${why} -> wp_page_copy`);
    return wp_page_copy(k, p, va, f, unshare);
  }
  // a page-cache page in a private mapping: always copy
  return wp_page_copy(k, p, va, f, unshare);
}

/**
 * handle_mm_fault() -> __handle_mm_fault() -> handle_pte_fault() (all versions).
 * Returns VM_FAULT_* bits.
 */
export function handle_mm_fault(k: Kernel, p: number, va: number, fflags: number): number {
  const vmf = k.vmFlags(p, va);
  if (vmf === 0) return VM_FAULT_SIGSEGV;
  const fi = k.vmFile(p, va);
  if (fi >= 0 && k.fileFs(fi) === FS_GUEST) return VM_FAULT_SIGBUS;
  const bits = k.pte(p, va);
  if (bits & PTE_MIGRATION) return VM_FAULT_RETRY; // migration_entry_wait()
  if (bits & PTE_HWPOISON) return VM_FAULT_SIGBUS; // VM_FAULT_HWPOISON
  if (bits & PTE_SWAP) {
    const r = do_swap_page(k, p, va, (fflags & FAULT_FLAG_WRITE) !== 0);
    if (r & (VM_FAULT_ERROR | VM_FAULT_WRITE)) return r;
    return handle_mm_fault(k, p, va, fflags); // mapped read-only: a write or unshare fault goes to do_wp_page()
  }
  if (!(bits & PTE_PRESENT)) {
    if (fi < 0 && thp_fault_possible(k, p, va))
      return do_huge_pmd_anonymous_page(k, p, va, (fflags & FAULT_FLAG_WRITE) !== 0) ? VM_FAULT_WRITE : VM_FAULT_OK;
    if (fi < 0) return do_anonymous_page(k, p, va, fflags);
    return do_fault(k, p, va, fflags);
  }
  if (fflags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
    if (!(bits & PTE_WRITE) && bits & PTE_PMD) {
      // wp_huge_pmd() -> do_huge_pmd_wp_page()
      if (fflags & FAULT_FLAG_UNSHARE && !is_cow_mapping(vmf)) return VM_FAULT_OK;
      const r = do_huge_pmd_wp_page(k, p, va, (fflags & FAULT_FLAG_UNSHARE) !== 0);
      if (r !== VM_FAULT_FALLBACK) return r ? VM_FAULT_WRITE : VM_FAULT_OK;
      return do_wp_page(k, p, va, fflags);
    }
    if (!(bits & PTE_WRITE)) return do_wp_page(k, p, va, fflags);
    if (fflags & FAULT_FLAG_WRITE) k.setPteBits(p, va, bits | PTE_DIRTY);
  }
  return VM_FAULT_OK;
}

/** zap_pte_range() for one PTE (munmap, MADV_DONTNEED, exit, truncate, reclaim's unmap). */
export function zap_pte(k: Kernel, p: number, va: number, reason: string): void {
  const o = k.L.pte(p, va);
  const bits = k.pte(p, va);
  if (bits & (PTE_MIGRATION | PTE_HWPOISON)) {
    k.clearPte(p, va); // migration and hwpoison entries hold no reference
    return;
  }
  if (bits & PTE_SWAP) {
    free_swap_and_cache(k, k.s[o + E_FOLIO]! - 1);
    k.clearPte(p, va);
    return;
  }
  if (!(bits & PTE_PRESENT)) return;
  if (bits & PTE_PMD) {
    // zap_pmd_range() on a PMD only partly in the range: split it first
    split_huge_pmd(k, p, va, reason);
    return zap_pte(k, p, va, reason);
  }
  const f = k.pteFolio(p, va);
  mmu_notifier_invalidate(k, p, va, reason);
  k.clearPte(p, va);
  if (f === ZERO_FOLIO) return;
  if (bits & PTE_DIRTY && !k.ftest(f, PG_ANON)) folio_mark_dirty(k, f);
  folio_remove_rmap(k, f);
  folio_put(k, f);
}

/** zap_page_range() / unmap_page_range(): whole PMDs go at once, partly covered ones are split first. */
export function zap_page_range(k: Kernel, p: number, va: number, pages: number, reason: string): void {
  split_partial_pmds(k, p, va, pages, reason);
  for (let i = 0; i < pages && va + i < k.L.d.vpages; i++) {
    const a = va + i;
    if (pmd_trans_huge(k, p, a) && pmd_base(a) === a && a + HPAGE_PMD_NR <= va + pages) {
      zap_huge_pmd(k, p, a, reason);
      i += HPAGE_PMD_NR - 1;
    } else zap_pte(k, p, a, reason);
  }
}

/** A CPU load `r = x[i]` by process p (the fault path if the PTE is not there). Returns value or -signal. */
export function cpu_load(k: Kernel, p: number, va: number): { value: number; folio: number } | { signal: number } | { wait: true } {
  const vmf = k.vmFlags(p, va);
  // x86 access_error(): a read needs an accessible VMA (any of read, write, exec; PROT_NONE faults); a present PTE is readable
  if (vmf === 0 || !(vmf & (VM_READ | VM_WRITE | VM_EXEC))) return { signal: SIGSEGV };
  if (!(k.pte(p, va) & PTE_PRESENT)) {
    const r = handle_mm_fault(k, p, va, 0);
    if (r & VM_FAULT_RETRY) return { wait: true };
    if (r & VM_FAULT_SIGSEGV) return { signal: SIGSEGV };
    if (r & VM_FAULT_SIGBUS) return { signal: SIGBUS };
  }
  const f = k.pteFolio(p, va);
  arch_make_cpu_access(k, f);
  return { value: k.fget(f, F_VALUE), folio: f };
}

/** A CPU store `x[i] = v` by process p. Returns the folio written, or -signal. */
export function cpu_store(k: Kernel, p: number, va: number, value: number): { folio: number } | { signal: number } | { wait: true } {
  const vmf = k.vmFlags(p, va);
  if (vmf === 0) return { signal: SIGSEGV };
  for (let tries = 0; tries < 3; tries++) {
    const bits = k.pte(p, va);
    // the MMU checks the PTE: a writable PTE takes the store without a fault, whatever the VMA says
    // (only pre-6.0 hugetlb FOLL_FORCE writes leave one in a !VM_WRITE VMA)
    if (!(bits & PTE_PRESENT && bits & PTE_WRITE) && !(vmf & VM_WRITE)) return { signal: SIGSEGV };
    if (bits & PTE_PRESENT && bits & PTE_WRITE) {
      const f = k.pteFolio(p, va);
      arch_make_cpu_access(k, f);
      k.setPteBits(p, va, bits | PTE_DIRTY);
      folio_store(k, f, value, p);
      return { folio: f };
    }
    const r = handle_mm_fault(k, p, va, FAULT_FLAG_WRITE);
    if (r & VM_FAULT_RETRY) return { wait: true };
    if (r & VM_FAULT_SIGSEGV) return { signal: SIGSEGV };
    if (r & VM_FAULT_SIGBUS) return { signal: SIGBUS };
  }
  return { signal: SIGSEGV };
}

/**
 * s390: a host CPU access to a secure page traps and the kernel exports it
 * (arch/s390/mm/fault.c do_secure_storage_access -> arch_make_page_accessible);
 * the CPU path is always safe, so this only clears the bit.
 */
function arch_make_cpu_access(k: Kernel, f: number): void {
  if (f === ZERO_FOLIO || !k.ftest(f, PG_SECURE)) return;
  if (k.on('s390_pv')) {
    k.fclearFlag(f, PG_SECURE);
    k.tracing && k.trace('do_secure_storage_access', `folio #${f} exported for a host CPU access`);
  } else {
    // x86 SEV: the page stays encrypted; the host read gibberish (or, with SNP, faults)
    k.violate('SECURE_ACCESS', `the host CPU accessed encrypted guest folio #${f}; SEV has no way to make it accessible`);
  }
}
