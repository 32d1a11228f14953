// mm/swapfile.c, mm/swap_state.c and do_swap_page() (mm/memory.c): anon pages
// written to swap slots by reclaim and faulted back in. A folio still
// referenced (by GUP) when reclaim tries to free it stays in the swap cache,
// and the next fault maps that same folio again.

import { Kernel } from './kernel.js';
import { folio_add_rmap, folio_get, folio_put } from './folio.js';
import {
  E_FOLIO,
  F_AUTHOR,
  F_EPOCH,
  F_SWAP,
  F_VALUE,
  H_NEXT_SWAP,
  PG_ALIVE,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DIRTY,
  PG_KSM,
  PG_LRU,
  PG_SWAPCACHE,
  PG_WRITEBACK,
  F_MAPCOUNT,
  F_REF,
  VM_WRITE,
  PTE_DIRTY,
  PTE_WRITE,
  PG_UPTODATE,
  PTE_PRESENT,
  PTE_SWP_EXCLUSIVE,
  W_AUTHOR,
  W_EPOCH,
  W_USED,
  W_VALUE,
} from './state.js';
import { ModelCapacityError } from './kernel.js';
import { VM_FAULT_OK, VM_FAULT_SIGBUS, VM_FAULT_WRITE } from './memory.js';

/** The folio in the swap cache for a slot, or -1 (swap_cache_get_folio). */
export function swap_cache_folio(k: Kernel, slot: number): number {
  const n = k.s[1]!; // H_NEXT_FOLIO
  for (let f = 1; f < n; f++) {
    if (k.fget(f, F_SWAP) === slot + 1 && k.ftest(f, PG_SWAPCACHE) && k.ftest(f, PG_ALIVE)) return f;
  }
  return -1;
}

/** get_swap_page() / folio_alloc_swap(): a new slot. */
export function get_swap_slot(k: Kernel): number {
  const w = k.s[H_NEXT_SWAP]!;
  if (w >= k.L.d.swapSlots) throw new ModelCapacityError('swap slots', k.L.d.swapSlots);
  k.set(H_NEXT_SWAP, w + 1);
  return w;
}

/** swap_duplicate(): one more swap PTE refers to the slot (fork). */
export function swap_duplicate(k: Kernel, slot: number): void {
  const o = k.L.swapSlot(slot) + W_USED;
  k.set(o, k.s[o]! + 1);
}

/** swp_swapcount(): how many swap PTEs still name the slot. */
export function swap_count(k: Kernel, slot: number): number {
  return k.s[k.L.swapSlot(slot) + W_USED]!;
}

/**
 * swap_free() (do_swap_page): one swap PTE fewer. The swap cache keeps its
 * folio (SWAP_HAS_CACHE): the slot and its copy stay until the folio leaves
 * the swap cache (try_to_free_swap, reclaim, a zap of the last swap PTE).
 */
export function swap_free(k: Kernel, slot: number): void {
  const o = k.L.swapSlot(slot) + W_USED;
  k.set(o, k.s[o]! - 1);
}

/** delete_from_swap_cache(): the folio leaves the swap cache (and drops the cache's reference). */
export function delete_from_swap_cache(k: Kernel, f: number): void {
  k.fclearFlag(f, PG_SWAPCACHE);
  k.fset(f, F_SWAP, 0);
  folio_put(k, f);
}

/**
 * try_to_free_swap() / folio_free_swap(): leave the swap cache if no swap PTE
 * names the slot any more and no writeback is in flight; the copy on swap is
 * then gone, so the folio is dirty again.
 */
export function try_to_free_swap(k: Kernel, f: number): boolean {
  if (!k.ftest(f, PG_SWAPCACHE) || k.ftest(f, PG_WRITEBACK)) return false;
  if (swap_count(k, k.fget(f, F_SWAP) - 1) > 0) return false; // folio_swapped()
  delete_from_swap_cache(k, f);
  k.fsetFlag(f, PG_DIRTY);
  k.tracing && k.trace('folio_free_swap', `folio #${f} left the swap cache`);
  return true;
}

/**
 * free_swap_and_cache() (zap of a swap PTE): one swap PTE fewer; after the
 * last, a swap-cache folio that nobody maps is freed with its slot
 * (__try_to_reclaim_swap(TTRS_UNMAPPED)).
 */
export function free_swap_and_cache(k: Kernel, slot: number): void {
  swap_free(k, slot);
  if (swap_count(k, slot) > 0) return;
  const f = swap_cache_folio(k, slot);
  if (f >= 0 && k.fget(f, F_MAPCOUNT) === 0) try_to_free_swap(k, f);
}

/** swap_writepage(): the swap device's I/O reads the folio. */
export function swap_write_slot(k: Kernel, slot: number, f: number): void {
  const o = k.L.swapSlot(slot);
  k.set(o + W_VALUE, k.fget(f, F_VALUE));
  k.set(o + W_AUTHOR, k.fget(f, F_AUTHOR));
  k.set(o + W_EPOCH, k.fget(f, F_EPOCH));
}

/**
 * do_swap_page() (mm/memory.c): bring the page back, from the swap cache if it
 * is still there; the folio stays in the swap cache. Whether a write fault maps
 * it writable at once:
 *  <=5.17 reuse_swap_page() before swap_free(): mapcount + swap count <= 1, so
 *         a page still referenced (vmsplice, FOLL_GET) is reused -- the swap
 *         flavour of CVE-2020-29374 (5.10.y and 5.15.y keep it) -- and, with a
 *         count of 1, deleted from the swap cache;
 *  5.18+  c145e0b47c77: try_to_free_swap() when the swap cache holds the only
 *         other reference, then reuse only if the refcount is 1 (or, 5.19+,
 *         the swap PTE says the page was exclusive).
 * Otherwise the page is mapped read-only and a write goes through do_wp_page().
 * Returns VM_FAULT_WRITE when it mapped the page writable.
 */
export function do_swap_page(k: Kernel, p: number, va: number, write: boolean): number {
  const slot = k.s[k.L.pte(p, va) + E_FOLIO]! - 1;
  if (slot < 0) return VM_FAULT_SIGBUS;
  const excl = (k.pte(p, va) & PTE_SWP_EXCLUSIVE) !== 0;
  let f = swap_cache_folio(k, slot);
  if (f < 0) {
    // swapin_readahead() -> add_to_swap_cache(): the swap cache's reference
    f = k.allocFolio(PG_ANON | PG_UPTODATE | PG_LRU | PG_SWAPCACHE, 0);
    const o = k.L.swapSlot(slot);
    k.fset(f, F_VALUE, k.s[o + W_VALUE]!);
    k.fset(f, F_AUTHOR, k.s[o + W_AUTHOR]!);
    k.fset(f, F_EPOCH, k.s[o + W_EPOCH]!);
    k.fset(f, F_SWAP, slot + 1);
    k.tracing && k.trace('swapin_readahead', `slot ${slot} read into folio #${f}`);
  } else {
    k.tracing && k.trace('do_swap_page', `folio #${f} found in the swap cache`);
  }
  folio_get(k, f); // the reference the PTE will hold
  const vmf = k.vmFlags(p, va);
  const ksm = k.ftest(f, PG_KSM);
  let reuse = false;
  if (k.on('swapin_write_reuse_swap_page')) {
    // reuse_swap_page(): counted before page_add_anon_rmap() and swap_free()
    const count = k.folioMapcount(f) + swap_count(k, slot);
    reuse = write && !ksm && count <= 1;
    if (reuse && count === 1 && !k.ftest(f, PG_WRITEBACK)) {
      delete_from_swap_cache(k, f);
      k.fsetFlag(f, PG_DIRTY);
    }
    swap_free(k, slot);
  } else {
    const exclusive = !ksm && excl && k.on('page_anon_exclusive');
    swap_free(k, slot);
    // should_try_to_free_swap(): a write fault where the swap cache holds the only other reference
    if (write && !ksm && k.ftest(f, PG_SWAPCACHE) && k.fget(f, F_REF) === 2) try_to_free_swap(k, f);
    reuse = !ksm && (exclusive || k.fget(f, F_REF) === 1);
    if (reuse && k.on('page_anon_exclusive')) k.fsetFlag(f, PG_ANON_EXCLUSIVE);
    reuse = reuse && write;
  }
  folio_add_rmap(k, f);
  const wbits = PTE_DIRTY | (vmf & VM_WRITE ? PTE_WRITE : 0);
  k.setPte(p, va, f, PTE_PRESENT | (reuse ? wbits : 0));
  if (reuse) k.tracing && k.trace('do_swap_page', `folio #${f} reused for the write`);
  return reuse ? VM_FAULT_WRITE : VM_FAULT_OK;
}
