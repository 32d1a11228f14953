// mm/huge_memory.c and mm/khugepaged.c: anonymous transparent huge pages.
//
// A THP is a large folio of HPAGE_PMD_NR pages (state.ts: consecutive slots,
// head first). Mapped by a PMD, every one of the aligned block's page-table
// records carries PTE_PMD and the same bits, and the folio counts one mapping
// and one reference for the whole PMD (folio_add_anon_rmap_pmd). Split, the
// same records are plain PTEs, each its own mapping and reference
// (__split_huge_pmd_locked). PageAnonExclusive of a PMD-mapped THP is read
// from the head page and handed to every page on split.
//
// Not modelled: file and shmem THP, THP swap-out as one folio (reclaim splits
// first: the same pages reach swap),
// THP migration, khugepaged's background scan (MADV_COLLAPSE is the synchronous
// form), mTHP sizes, the deferred split queue (a partially unmapped THP keeps
// all its pages until its last reference goes or something splits it).

import { anon_vma_prepare } from './rmap.js';
import { Kernel, ZERO_FOLIO } from './kernel.js';
import { folio_copy, folio_get, folio_put } from './folio.js';
import {
  E_FOLIO,
  E_PTE,
  F_COMPOUND,
  F_FLAGS,
  F_INDEX,
  F_MAPPING,
  F_PINCOUNT,
  F_PINS,
  F_REF,
  F_SWAP,
  PAGE_FLAGS,
  PG_LARGE,
  H_HUGE_ZERO,
  H_NEXT_FOLIO,
  HPAGE_PMD_NR,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DIRTY,
  PG_KSM,
  PG_LRU,
  PG_SWAPCACHE,
  PG_UPTODATE,
  PG_ZERO,
  F_MAPCOUNT,
  PTE_DIRTY,
  PTE_PMD,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_WRITE,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_NOHUGEPAGE,
  VM_SHARED,
  VM_WRITE,
  VM_ANON_VMA,
} from './state.js';
import { mmu_notifier_invalidate } from './mmu_notifier.js';
import { EAGAIN, EINVAL, ENOMEM } from './errno.js';

export const VM_FAULT_FALLBACK = -1;

/** The first page of the PMD-aligned block holding va. */
export function pmd_base(va: number): number {
  return va - (va % HPAGE_PMD_NR);
}

/** pmd_trans_huge(): is va mapped by a PMD? */
export function pmd_trans_huge(k: Kernel, p: number, va: number): boolean {
  return (k.pte(p, va) & (PTE_PRESENT | PTE_PMD)) === (PTE_PRESENT | PTE_PMD);
}

/** is_huge_zero_folio() */
export function is_huge_zero_folio(k: Kernel, f: number): boolean {
  return f > 0 && k.ftest(f, PG_ZERO);
}

/**
 * mm_get_huge_zero_folio() (all versions): the huge zero page, allocated on
 * first use and held by the kernel for good (its one reference never goes).
 */
export function get_huge_zero_folio(k: Kernel): number {
  const z = k.s[H_HUGE_ZERO]!;
  if (z > 0) return z - 1;
  const h = k.allocLargeFolio(PG_ZERO | PG_UPTODATE, HPAGE_PMD_NR, []);
  k.set(H_HUGE_ZERO, h + 1);
  k.tracing && k.trace('mm_get_huge_zero_folio', `huge zero folio #${h} allocated`);
  return h;
}

/**
 * thp_vma_allowable_order() + the alignment test of do_huge_pmd_anonymous_page():
 * a private anonymous VMA with MADV_HUGEPAGE (THP "madvise" mode, the default on
 * most distributions) covering the whole aligned block, nothing mapped in it yet.
 */
export function thp_fault_possible(k: Kernel, p: number, va: number): boolean {
  const vmf = k.vmFlags(p, va);
  if (!(vmf & VM_HUGEPAGE) || vmf & (VM_NOHUGEPAGE | VM_HUGETLB | VM_SHARED)) return false;
  if (k.vmFile(p, va) >= 0) return false;
  const base = pmd_base(va);
  if (base + HPAGE_PMD_NR > k.L.d.vpages) return false;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    if (k.vmFlags(p, base + i) !== vmf || k.vmFile(p, base + i) >= 0) return false;
    if (k.pte(p, base + i) !== 0) return false; // !pmd_none
  }
  return true;
}

/** set_pmd_at() + folio_add_anon_rmap_pmd(): one mapping, one reference (none for the huge zero page). */
export function map_pmd(k: Kernel, p: number, base: number, head: number, bits: number): void {
  if (!is_huge_zero_folio(k, head)) {
    folio_get(k, head);
    k.fset(head, F_MAPCOUNT, k.fget(head, F_MAPCOUNT) + 1);
  }
  for (let i = 0; i < HPAGE_PMD_NR; i++) k.setPte(p, base + i, head + i, PTE_PRESENT | PTE_PMD | bits);
}

/**
 * do_huge_pmd_anonymous_page() (all versions): a read fault maps the huge zero
 * page (transparent_hugepage/use_zero_page, default 1); a write fault gets a
 * fresh exclusive THP mapped by the PMD.
 */
export function do_huge_pmd_anonymous_page(k: Kernel, p: number, va: number, write: boolean): number {
  anon_vma_prepare(k, p, va); // before the huge zero page too
  const base = pmd_base(va);
  if (!write) {
    const z = get_huge_zero_folio(k);
    map_pmd(k, p, base, z, 0);
    k.tracing && k.trace('do_huge_pmd_anonymous_page', `huge zero folio #${z} mapped read-only at ${base}`);
    return 0;
  }
  const vmf = k.vmFlags(p, va);
  const h = k.allocLargeFolio(PG_ANON | PG_ANON_EXCLUSIVE | PG_UPTODATE | PG_LRU, HPAGE_PMD_NR, []);
  map_pmd(k, p, base, h, PTE_DIRTY | (vmf & VM_WRITE ? PTE_WRITE : 0));
  folio_put(k, h); // the allocation reference is now the PMD's
  k.tracing && k.trace('do_huge_pmd_anonymous_page', `new THP #${h} (${HPAGE_PMD_NR} pages, exclusive) mapped by a PMD at ${base}`);
  return 1;
}

/**
 * __split_huge_pmd() -> __split_huge_pmd_locked() (all versions): the PMD
 * becomes HPAGE_PMD_NR PTEs with its bits; each PTE is a mapping and a
 * reference of the folio, and PageAnonExclusive of the head goes to every
 * page. The huge zero page becomes the small zero page in every PTE
 * (__split_huge_zero_page_pmd). Secondary MMUs are invalidated for the range.
 */
export function split_huge_pmd(k: Kernel, p: number, va: number, why: string): void {
  if (!pmd_trans_huge(k, p, va)) return;
  const base = pmd_base(va);
  const bits = k.pte(p, base) & ~PTE_PMD;
  const head = k.head(k.pteFolio(p, base));
  for (let i = 0; i < HPAGE_PMD_NR; i++) mmu_notifier_invalidate(k, p, base + i, 'split_huge_pmd');
  if (is_huge_zero_folio(k, head)) {
    for (let i = 0; i < HPAGE_PMD_NR; i++) k.setPte(p, base + i, ZERO_FOLIO, (bits & ~(PTE_WRITE | PTE_DIRTY)) | PTE_SPECIAL);
    k.tracing && k.trace('__split_huge_zero_page_pmd', `huge zero PMD at ${base} split into zero-page PTEs (${why})`);
    return;
  }
  const excl = k.ftest(head, PG_ANON_EXCLUSIVE);
  let bitsOut = bits;
  if (bits & PTE_DIRTY && !k.on('thp_split_carry_dirty')) {
    // before 6.2 the PTEs stay clean ("we don't do pte_mkdirty ... sparc64") and the page is dirtied instead
    bitsOut &= ~PTE_DIRTY;
    k.fsetFlag(head, PG_DIRTY);
  }
  folio_get(k, head, HPAGE_PMD_NR - 1);
  k.fset(head, F_MAPCOUNT, k.fget(head, F_MAPCOUNT) + HPAGE_PMD_NR - 1);
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    k.setPte(p, base + i, head + i, bitsOut);
    if (excl) k.fsetFlag(head + i, PG_ANON_EXCLUSIVE);
    else k.fclearFlag(head + i, PG_ANON_EXCLUSIVE);
  }
  k.tracing && k.trace('__split_huge_pmd', `PMD of THP #${head} at ${base} split into ${HPAGE_PMD_NR} PTEs (${why})`);
}

/**
 * can_split_folio() (mm/huge_memory.c, all versions; can_split_huge_page
 * before 5.16): only the folio's mappings, the swap cache and the caller
 * may hold references. A pinned or GUP-held THP cannot be split.
 */
export function can_split_folio(k: Kernel, head: number): boolean {
  const extra = k.ftest(head, PG_SWAPCACHE) ? k.nrPages(head) : 0;
  return k.fget(head, F_REF) === k.fget(head, F_MAPCOUNT) + extra;
}

/**
 * split_huge_page() / split_folio() (mm/huge_memory.c, all versions) of an
 * anonymous THP: unmap_folio() splits every PMD that maps it (secondary MMUs
 * are invalidated), __split_huge_page() makes each page its own small folio
 * with its own mappings, references and PageAnonExclusive, and the pages no
 * one maps any longer are freed. Returns 0 or -EAGAIN when can_split_folio()
 * refuses (5.x returns -EBUSY; callers only test for failure).
 */
export function split_folio(k: Kernel, f: number, why: string): number {
  const head = k.head(f);
  const nr = k.nrPages(head);
  if (nr <= 1) return 0;
  if (is_huge_zero_folio(k, head) || !can_split_folio(k, head)) {
    k.tracing && k.trace('split_folio', `THP #${head} not split (${why}): references beyond its mappings`);
    return -EAGAIN;
  }
  const { procs, vpages } = k.L.d;
  for (let p = 0; p < procs; p++)
    for (let va = 0; va < vpages; va++) {
      const g = k.s[k.L.pte(p, va) + E_FOLIO]! - 1;
      if (g >= head && g < head + nr && pmd_trans_huge(k, p, va)) split_huge_pmd(k, p, va, why);
      else if (g >= head && g < head + nr && k.pte(p, va) & PTE_PRESENT) mmu_notifier_invalidate(k, p, va, 'split_folio');
    }
  // __split_huge_page(): folio-level state goes to every page, counts become per page
  const o = k.L.folio(head);
  const flags = k.s[o + F_FLAGS]! & ~PG_LARGE;
  const fields = [F_MAPPING, F_INDEX, F_SWAP].map((x) => k.s[o + x]!);
  const maps: number[] = [];
  for (let i = 0; i < nr; i++) maps.push(page_mapcount(k, head + i));
  for (let i = 0; i < nr; i++) {
    const t = k.L.folio(head + i);
    k.set(t + F_FLAGS, (flags & ~PAGE_FLAGS) | (k.s[t + F_FLAGS]! & PAGE_FLAGS));
    k.set(t + F_COMPOUND, 0);
    k.set(t + F_MAPCOUNT, maps[i]!);
    k.set(t + F_REF, maps[i]! + (flags & PG_SWAPCACHE ? 1 : 0) + 1); // + the splitter's own, dropped below
    k.set(t + F_PINCOUNT, 0);
    k.set(t + F_PINS, 0);
    k.set(t + F_MAPPING, fields[0]!);
    k.set(t + F_INDEX, fields[1]! + i);
    k.set(t + F_SWAP, fields[2]! ? fields[2]! + i : 0);
  }
  k.tracing && k.trace('__split_huge_page', `THP #${head} split into ${nr} small folios (${why})`);
  for (let i = 0; i < nr; i++) folio_put(k, head + i); // unmapped pages are freed here
  return 0;
}

/** Split every PMD that [va, va+pages) covers only in part (split_huge_pmd_if_needed at VMA edges: munmap, mprotect, madvise). */
export function split_partial_pmds(k: Kernel, p: number, va: number, pages: number, why: string): void {
  const end = va + pages;
  for (const a of [va, end - 1]) {
    if (a < 0 || a >= k.L.d.vpages || !pmd_trans_huge(k, p, a)) continue;
    const base = pmd_base(a);
    if (base < va || base + HPAGE_PMD_NR > end) split_huge_pmd(k, p, a, why);
  }
}

/** zap_huge_pmd() (all versions): unmap a whole PMD; its one mapping and reference go. */
export function zap_huge_pmd(k: Kernel, p: number, va: number, reason: string): void {
  const base = pmd_base(va);
  const head = k.head(k.pteFolio(p, base));
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    mmu_notifier_invalidate(k, p, base + i, reason);
    k.clearPte(p, base + i);
  }
  if (is_huge_zero_folio(k, head)) return;
  k.fset(head, F_MAPCOUNT, k.fget(head, F_MAPCOUNT) - 1);
  folio_put(k, head);
  k.tracing && k.trace('zap_huge_pmd', `PMD of THP #${head} at ${base} unmapped (${reason})`);
}

/**
 * do_huge_pmd_wp_page() (mm/huge_memory.c): a write or unshare fault on a
 * read-only PMD. Returns VM_FAULT_FALLBACK after splitting when the PTE level
 * must handle it, else 0 / 1 (reused for writing).
 *  huge zero page: always split and fall back (the PTE level copies the zero page)
 *  reuse: PageAnonExclusive (5.19); refcount 1 (3bff7e3f1f16, 5.18); before,
 *         mapped once (page_trans_huge_mapcount / reuse_swap_page), whatever other references
 *  otherwise: split and COW one page (3917c80280c9, 5.8); before, copy the whole THP
 */
export function do_huge_pmd_wp_page(k: Kernel, p: number, va: number, unshare: boolean): number {
  const base = pmd_base(va);
  const head = k.head(k.pteFolio(p, base));
  if (is_huge_zero_folio(k, head)) {
    // <=5.7 (`goto alloc`, until 3917c80280c9) and 6.13+ (do_huge_zero_wp_pmd, 1ced09e0331f, write and unshare):
    // a fresh zeroed THP replaces the huge zero PMD; between, split and let the PTE level copy the small zero page
    if ((!k.on('thp_cow_split_pmd') && !unshare) || k.on('thp_huge_zero_wp_alloc')) {
      if (k.s[H_NEXT_FOLIO]! + HPAGE_PMD_NR <= k.L.d.folios) {
        anon_vma_prepare(k, p, va);
        const n = k.allocLargeFolio(PG_ANON | PG_ANON_EXCLUSIVE | PG_UPTODATE | PG_LRU, HPAGE_PMD_NR, []);
        for (let i = 0; i < HPAGE_PMD_NR; i++) mmu_notifier_invalidate(k, p, base + i, 'do_huge_zero_wp_pmd');
        for (let i = 0; i < HPAGE_PMD_NR; i++) k.clearPte(p, base + i);
        const vmf = k.vmFlags(p, va);
        map_pmd(k, p, base, n, unshare ? 0 : PTE_DIRTY | (vmf & VM_WRITE ? PTE_WRITE : 0));
        folio_put(k, n);
        k.tracing && k.trace('do_huge_pmd_wp_page', `huge zero PMD at ${base} replaced by new THP #${n}${unshare ? ' (unshare, read-only)' : ''}`);
        return unshare ? 0 : 1;
      }
    }
    split_huge_pmd(k, p, va, unshare ? 'unshare of the huge zero page' : 'write to the huge zero page');
    return VM_FAULT_FALLBACK;
  }
  let reuse: boolean;
  if (k.on('page_anon_exclusive') && k.ftest(head, PG_ANON_EXCLUSIVE)) reuse = true;
  else if (k.ftest(head, PG_KSM)) reuse = false;
  else if (k.on('thp_wp_refcount')) reuse = k.fget(head, F_REF) <= 1 + (k.ftest(head, PG_SWAPCACHE) ? 1 : 0);
  else reuse = k.fget(head, F_MAPCOUNT) === 1;
  if (reuse) {
    // folio_move_anon_rmap() + SetPageAnonExclusive(head): for a PMD-mapped THP the head's
    // bit speaks for every page (split hands it on); pinlab sets it on each page at once
    if (k.on('page_anon_exclusive')) for (let i = 0; i < HPAGE_PMD_NR; i++) k.fsetFlag(head + i, PG_ANON_EXCLUSIVE);
    if (unshare) {
      k.tracing && k.trace('do_huge_pmd_wp_page', `unshare: THP #${head} is exclusive, stays read-only`);
      return 0;
    }
    // maybe_pmd_mkwrite(pmd_mkdirty()): a FOLL_FORCE write to a read-only mapping leaves the PMD read-only
    k.setPteBits(p, base, k.pte(p, base) | PTE_DIRTY | (k.vmFlags(p, base) & VM_WRITE ? PTE_WRITE : 0));
    k.tracing && k.trace('do_huge_pmd_wp_page', `THP #${head} reused for writing`);
    return 1;
  }
  if (unshare || k.on('thp_cow_split_pmd')) {
    split_huge_pmd(k, p, va, 'COW of a shared THP');
    return VM_FAULT_FALLBACK;
  }
  // <= 5.7: do_huge_pmd_wp_page() allocates a new THP and copies all of it
  const vals: number[] = [];
  for (let i = 0; i < HPAGE_PMD_NR; i++) vals.push(0);
  const n = k.allocLargeFolio(PG_ANON | PG_ANON_EXCLUSIVE | PG_UPTODATE | PG_LRU, HPAGE_PMD_NR, vals);
  for (let i = 0; i < HPAGE_PMD_NR; i++) folio_copy(k, n + i, head + i);
  zap_huge_pmd(k, p, base, 'do_huge_pmd_wp_page');
  map_pmd(k, p, base, n, PTE_DIRTY | (k.vmFlags(p, va) & VM_WRITE ? PTE_WRITE : 0));
  folio_put(k, n);
  k.tracing && k.trace('do_huge_pmd_wp_page', `copied THP #${head} to new THP #${n}`);
  return 1;
}

/**
 * copy_huge_pmd() (mm/huge_memory.c), sharing half: the child maps the same
 * THP by a PMD; both are write-protected and the folio is no longer exclusive
 * (folio_try_dup_anon_rmap_pmd). The huge zero page is copied as it is.
 */
export function copy_huge_pmd_share(k: Kernel, parent: number, child: number, va: number): void {
  const base = pmd_base(va);
  const head = k.head(k.pteFolio(parent, base));
  const bits = k.pte(parent, base);
  if (is_huge_zero_folio(k, head)) {
    for (let i = 0; i < HPAGE_PMD_NR; i++) k.setPte(child, base + i, head + i, bits);
    return;
  }
  for (let i = 0; i < HPAGE_PMD_NR; i++) k.fclearFlag(head + i, PG_ANON_EXCLUSIVE);
  if (bits & PTE_WRITE) {
    for (let i = 0; i < HPAGE_PMD_NR; i++) mmu_notifier_invalidate(k, parent, base + i, 'fork write-protect');
    k.setPteBits(parent, base, bits & ~PTE_WRITE);
  }
  map_pmd(k, child, base, head, bits & ~PTE_WRITE & ~PTE_PMD & ~PTE_PRESENT);
  k.tracing && k.trace('copy_huge_pmd', `THP #${head} shared with the child by a PMD, both write-protected`);
}

/** page_mapcount(): how many page-table entries map this one page (a PMD maps each of its pages once). */
export function page_mapcount(k: Kernel, f: number): number {
  const { procs, vpages } = k.L.d;
  const want = f + 1;
  let n = 0;
  for (let p = 0; p < procs; p++)
    for (let va = 0; va < vpages; va++) {
      const o = k.L.pte(p, va);
      if (k.s[o + E_FOLIO] === want && k.s[o + E_PTE]! & PTE_PRESENT) n++;
    }
  return n;
}

/** Is every mapping of folio head in mm p? (folio_mm_id / the large-folio reuse test of 6.15) */
export function folio_mapped_only_by(k: Kernel, head: number, p: number): boolean {
  const { procs, vpages } = k.L.d;
  const nr = k.nrPages(head);
  for (let q = 0; q < procs; q++) {
    if (q === p) continue;
    for (let va = 0; va < vpages; va++) {
      const o = k.L.pte(q, va);
      const f = k.s[o + E_FOLIO]! - 1;
      if (k.s[o + E_PTE]! & PTE_PRESENT && f >= head && f < head + nr) return false;
    }
  }
  return true;
}

/**
 * madvise_collapse() (mm/khugepaged.c, 7d8faaf15545, 6.1): collapse every
 * aligned block inside [va, va+pages) into a new THP. hpage_collapse_scan_pmd()
 * and __collapse_huge_page_isolate() refuse a page whose refcount is more than
 * its mappings (+ the swap cache) -- a pinned or GUP-held page: SCAN_PAGE_COUNT,
 * EAGAIN (ae63c898f400, 6.2; EINVAL in 6.1.0-6.1.12). The old pages are copied
 * and unmapped; the new THP is mapped by a PMD, exclusive.
 */
export function madvise_collapse(k: Kernel, p: number, va: number, pages: number): number {
  const vmf = k.vmFlags(p, va);
  if (vmf & (VM_SHARED | VM_HUGETLB | VM_NOHUGEPAGE) || k.vmFile(p, va) >= 0) return -EINVAL;
  // hugepage_vma_check() / thp_vma_allowable_orders(): `if (!vma->anon_vma)` -- no anonymous page was ever faulted in
  if (!(vmf & VM_ANON_VMA)) return -EINVAL;
  let result = 0;
  for (let base = va + ((HPAGE_PMD_NR - (va % HPAGE_PMD_NR)) % HPAGE_PMD_NR); base + HPAGE_PMD_NR <= va + pages; base += HPAGE_PMD_NR) {
    if (pmd_trans_huge(k, p, base)) continue; // find_pmd_or_thp_or_none(): SCAN_PMD_MAPPED, the huge zero PMD included
    const r = collapse_one(k, p, base);
    if (r < 0) result = r;
  }
  return result;
}

function collapse_one(k: Kernel, p: number, base: number): number {
  const vmf = k.vmFlags(p, base);
  let writable = false;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    if (k.vmFlags(p, base + i) !== vmf) return -EINVAL; // SCAN_VMA_CHECK
    const bits = k.pte(p, base + i);
    if (bits & PTE_PRESENT && bits & PTE_WRITE) writable = true;
    if (bits === 0 || bits & PTE_SPECIAL || (bits & PTE_PMD && is_huge_zero_folio(k, k.head(k.pteFolio(p, base + i))))) continue; // none or zero: filled with zeroes
    if (!(bits & PTE_PRESENT)) return -EAGAIN; // swap, migration entries: not swapped in here
    const f = k.pteFolio(p, base + i);
    if (!k.ftest(f, PG_ANON) || k.ftest(f, PG_KSM)) return -EINVAL; // SCAN_PAGE_ANON
    const h = k.head(f);
    const expected = k.fget(h, F_MAPCOUNT) + (k.ftest(h, PG_SWAPCACHE) ? 1 : 0);
    if (k.fget(h, F_REF) !== expected) {
      // is_refcount_suitable(): false -> SCAN_PAGE_COUNT
      k.tracing && k.trace('hpage_collapse_scan_pmd', `folio #${h} has ${k.fget(h, F_REF)} references for ${expected} mappings: SCAN_PAGE_COUNT`);
      return k.on('madv_collapse_eagain') ? -EAGAIN : -EINVAL;
    }
  }
  if (!writable && !k.on('collapse_ro_anon')) {
    // hpage_collapse_scan_pmd(): no writable PTE in the block (all none, or write-protected by fork) -> SCAN_PAGE_RO
    k.tracing && k.trace('hpage_collapse_scan_pmd', `no writable PTE at ${base}: SCAN_PAGE_RO`);
    return -EINVAL;
  }
  if (k.s[H_NEXT_FOLIO]! + HPAGE_PMD_NR > k.L.d.folios) return -ENOMEM; // SCAN_ALLOC_HUGE_PAGE_FAIL
  const n = k.allocLargeFolio(PG_ANON | PG_ANON_EXCLUSIVE | PG_UPTODATE | PG_LRU, HPAGE_PMD_NR, []);
  let dirty = 0;
  split_huge_pmd(k, p, base, 'collapse of a huge zero PMD');
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const a = base + i;
    const bits = k.pte(p, a);
    mmu_notifier_invalidate(k, p, a, 'collapse_huge_page');
    if (!(bits & PTE_PRESENT) || bits & PTE_SPECIAL) {
      k.clearPte(p, a);
      continue;
    }
    const f = k.pteFolio(p, a);
    folio_copy(k, n + i, f);
    dirty |= bits & PTE_DIRTY;
    k.clearPte(p, a);
    const h = k.head(f);
    k.fset(h, F_MAPCOUNT, k.fget(h, F_MAPCOUNT) - 1);
    folio_put(k, h);
  }
  map_pmd(k, p, base, n, PTE_DIRTY | (vmf & VM_WRITE ? PTE_WRITE : 0) | dirty);
  folio_put(k, n);
  k.tracing && k.trace('collapse_huge_page', `pages at ${base} collapsed into THP #${n}`);
  return 0;
}

