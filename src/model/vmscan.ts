// mm/vmscan.c shrink_folio_list() as one aggressive pass over every folio on
// the LRU (the model has no aging: every page is cold), plus the pieces it
// calls: try_to_unmap (mm/rmap.c), add_to_swap, pageout, __remove_mapping.
//
// Preemption points: between try_to_unmap(), filemap_release_folio() (ext4
// try_to_free_buffers) and __remove_mapping()'s page_ref_freeze -- a GUP user
// may take a reference in between (seed 003's "transient pin" window).

import { Kernel } from './kernel.js';
import {
  F_MAPPING,
  F_MAPCOUNT,
  F_REF,
  F_SWAP,
  H_NEXT_FOLIO,
  FS_EXT4,
  PG_ALIVE,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DIRTY,
  PG_HUGETLB,
  PG_LRU,
  PG_SECURE,
  PG_SWAPCACHE,
  PG_WRITEBACK,
  PTE_SWAP,
  PTE_DIRTY,
  PTE_SWP_EXCLUSIVE,
  PG_LARGE,
  PTE_PRESENT,
} from './state.js';
import { is_huge_zero_folio, page_mapcount, split_folio } from './huge_memory.js';
import { folio_get, folio_maybe_dma_pinned, folio_put, folio_remove_rmap } from './folio.js';
import { rmap_walk } from './rmap.js';
import { zap_pte } from './memory.js';
import { mmu_notifier_invalidate } from './mmu_notifier.js';
import { filemap_release_folio, remove_mapping } from './filemap.js';
import { delete_from_swap_cache, get_swap_slot, swap_duplicate, swap_write_slot } from './swap.js';
import { check_secure_io } from './invariants.js';

/**
 * shrink_folio_list() after try_to_unmap(), from d824ec2a1546 (6.4; 6.1.28):
 * "Folio is unmapped now so it cannot be newly pinned anymore. No point in
 * trying to reclaim folio if it is pinned" -- and its buffers (fs metadata)
 * stay, since the pinning device may write the page at any time.
 */
function pinned_after_unmap(k: Kernel, f: number): boolean {
  if (!k.on('vmscan_skip_pinned') || !folio_maybe_dma_pinned(k, f)) return false;
  k.tracing && k.trace('shrink_folio_list', `folio #${f} is unmapped but may be pinned: activated, its private data kept`);
  return true;
}

/** Reclaim one page-cache folio (ext4): unmap, release buffers if clean, then try to free it. */
function shrink_file_folio(k: Kernel, f: number): void {
  const fi = k.fget(f, F_MAPPING) - 1;
  if (k.fileFs(fi) !== FS_EXT4 || k.ftest(f, PG_WRITEBACK)) return;
  rmap_walk(k, f, (p, va) => zap_pte(k, p, va, 'try_to_unmap'));
  if (pinned_after_unmap(k, f)) return;
  if (k.ftest(f, PG_DIRTY)) return; // reclaim does not write ext4 pages; the flusher will
  if (!filemap_release_folio(k, f)) return;
  const idx = k.s[k.L.folio(f) + 7]!; // F_INDEX
  if (!remove_mapping(k, fi, idx, f)) k.tracing && k.trace('__remove_mapping', `folio #${f} still referenced (ref ${k.fget(f, F_REF)}): kept`);
}

/**
 * Reclaim one anon folio: add_to_swap (unless it is in the swap cache already,
 * e.g. swapped in and not written since), try_to_unmap (PTEs become swap
 * entries), pageout, then free it unless someone still holds a reference.
 * 5.11+ (feb889fb40fa; 5.10.9): a maybe-pinned page is not put in the swap cache.
 */
export function shrink_anon_folio(k: Kernel, f: number): void {
  if (k.ftest(f, PG_HUGETLB)) return;
  if (k.ftest(f, PG_LARGE)) return; // shrink_one() splits THPs first
  let slot: number;
  if (k.ftest(f, PG_SWAPCACHE)) {
    slot = k.fget(f, F_SWAP) - 1;
  } else {
    if (k.on('no_swapcache_pinned') && folio_maybe_dma_pinned(k, f)) {
      k.tracing && k.trace('shrink_folio_list', `folio #${f} may be pinned: not added to the swap cache`);
      return;
    }
    // add_to_swap(): a slot, and the swap cache's reference
    slot = get_swap_slot(k);
    k.fsetFlag(f, PG_SWAPCACHE);
    k.fset(f, F_SWAP, slot + 1);
    folio_get(k, f);
    k.fsetFlag(f, PG_DIRTY);
  }
  const excl = k.ftest(f, PG_ANON_EXCLUSIVE);
  rmap_walk(k, f, (p, va) => {
    mmu_notifier_invalidate(k, p, va, 'try_to_unmap');
    if (k.pte(p, va) & PTE_DIRTY) k.fsetFlag(f, PG_DIRTY); // try_to_unmap_one(): the PTE's dirty bit moves to the folio
    folio_remove_rmap(k, f);
    k.setPte(p, va, slot, PTE_SWAP | (excl && k.on('page_anon_exclusive') ? PTE_SWP_EXCLUSIVE : 0));
    swap_duplicate(k, slot);
    folio_put(k, f);
  });
  k.fclearFlag(f, PG_ANON_EXCLUSIVE);
  if (pinned_after_unmap(k, f)) return; // stays in the swap cache, unwritten
  // pageout() -> swap_writepage(): writeback start makes a secure page accessible (5.7, s390)
  if (k.ftest(f, PG_SECURE) && k.on('arch_make_page_accessible_writeback') && k.on('s390_pv')) {
    k.fclearFlag(f, PG_SECURE);
    k.tracing && k.trace('arch_make_page_accessible', `folio #${f} exported before swap writeback`);
  }
  if (k.ftest(f, PG_DIRTY)) {
    check_secure_io(k, f, 'swap writeback I/O');
    swap_write_slot(k, slot, f);
    k.fclearFlag(f, PG_DIRTY);
    k.tracing && k.trace('pageout', `folio #${f} written to swap slot ${slot}`);
  }
  if (k.fget(f, F_REF) === 1) {
    // __remove_mapping(): only the swap cache holds it
    delete_from_swap_cache(k, f);
  } else {
    k.tracing && k.trace('__remove_mapping', `folio #${f} still referenced: stays in the swap cache`);
  }
}

/**
 * shrink_folio_list() for one folio of the LRU. A THP is split first
 * (split_folio_to_list; with THP_SWAP it may reach swap whole, which leaves
 * the same pages swapped out): one held beyond its mappings -- pinned or
 * GUP-referenced -- cannot be split and stays (can_split_folio, all versions).
 */
export function shrink_one(k: Kernel, f: number): void {
  if (!k.ftest(f, PG_ALIVE) || !k.ftest(f, PG_LRU)) return;
  if (k.ftest(f, PG_LARGE)) {
    if (!k.ftest(f, PG_ANON) || k.ftest(f, PG_HUGETLB)) return;
    if (split_folio(k, f, 'reclaim') < 0) return;
    if (!k.ftest(f, PG_ALIVE)) return;
  }
  if (k.ftest(f, PG_ANON)) shrink_anon_folio(k, f);
  else if (k.fget(f, F_MAPPING) > 0) shrink_file_folio(k, f);
}

/** sys reclaim(): shrink_folio_list() over every LRU folio, oldest first (the pages of a split THP follow its head). */
export function shrink_all(k: Kernel): void {
  for (let f = 1; f < k.s[H_NEXT_FOLIO]!; f++) shrink_one(k, f);
}

/**
 * madvise_cold_or_pageout_pte_range() with pageout (mm/madvise.c, 5.4+,
 * 1a4e58cce84e): reclaim_pages() of the pages in [va, va+pages) that this
 * mapping alone maps -- "do not interfere with other mappings": a page mapped
 * more than once (after fork) is left alone. A THP mapped once is split first
 * (split_huge_page / split_folio); if that fails -- references beyond its
 * mappings -- the rest of it is skipped. 6.10+ leaves a THP the range covers
 * whole unsplit for reclaim, which splits it there: the same pages are reclaimed.
 */
export function madvise_pageout(k: Kernel, p: number, va: number, pages: number): void {
  for (let a = va; a < va + pages; a++) {
    if (!(k.pte(p, a) & PTE_PRESENT)) continue;
    const f = k.pteFolio(p, a);
    if (f <= 0 || !k.ftest(f, PG_ALIVE) || is_huge_zero_folio(k, k.head(f))) continue;
    if (k.ftest(f, PG_LARGE)) {
      const head = k.head(f);
      if (page_mapcount(k, f) !== 1 || split_folio(k, head, 'MADV_PAGEOUT') < 0) {
        a = Math.min(va + pages, a + (head + k.nrPages(head) - f)) - 1; // the rest of this folio
        continue;
      }
    }
    if (!k.ftest(f, PG_LRU) || k.fget(f, F_MAPCOUNT) !== 1) continue;
    if (k.ftest(f, PG_ANON)) shrink_anon_folio(k, f);
    else if (k.fget(f, F_MAPPING) > 0) shrink_file_folio(k, f);
  }
}
