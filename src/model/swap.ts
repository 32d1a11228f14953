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
  PG_LRU,
  PG_SWAPCACHE,
  PG_UPTODATE,
  PTE_PRESENT,
  PTE_SWP_EXCLUSIVE,
  W_AUTHOR,
  W_EPOCH,
  W_USED,
  W_VALUE,
} from './state.js';
import { ModelCapacityError } from './kernel.js';
import { VM_FAULT_OK, VM_FAULT_SIGBUS } from './memory.js';

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
  k.s[H_NEXT_SWAP] = w + 1;
  return w;
}

/** swap_duplicate(): one more swap PTE refers to the slot (fork). */
export function swap_duplicate(k: Kernel, slot: number): void {
  const o = k.L.swapSlot(slot) + W_USED;
  k.s[o] = k.s[o]! + 1;
}

/** swap_free(): one swap PTE fewer; the last one frees the slot and the swap cache's folio reference. */
export function swap_free(k: Kernel, slot: number): void {
  const o = k.L.swapSlot(slot) + W_USED;
  const n = k.s[o]! - 1;
  k.s[o] = n;
  if (n > 0) return;
  const f = swap_cache_folio(k, slot);
  if (f >= 0) {
    k.fclearFlag(f, PG_SWAPCACHE);
    k.fset(f, F_SWAP, 0);
    folio_put(k, f);
  }
}

/** swap_writepage(): the swap device's I/O reads the folio. */
export function swap_write_slot(k: Kernel, slot: number, f: number): void {
  const o = k.L.swapSlot(slot);
  k.s[o + W_VALUE] = k.fget(f, F_VALUE);
  k.s[o + W_AUTHOR] = k.fget(f, F_AUTHOR);
  k.s[o + W_EPOCH] = k.fget(f, F_EPOCH);
}

/**
 * do_swap_page() (mm/memory.c): bring the page back, from the swap cache if it
 * is still there. 5.19+: the swap PTE remembers exclusivity (PTE_SWP_EXCLUSIVE).
 * Maps read-only; a write then goes through do_wp_page().
 */
export function do_swap_page(k: Kernel, p: number, va: number): number {
  const slot = k.s[k.L.pte(p, va) + E_FOLIO]! - 1;
  if (slot < 0) return VM_FAULT_SIGBUS;
  const excl = (k.pte(p, va) & PTE_SWP_EXCLUSIVE) !== 0;
  let f = swap_cache_folio(k, slot);
  if (f < 0) {
    f = k.allocFolio(PG_ANON | PG_UPTODATE | PG_LRU | PG_SWAPCACHE, 0);
    const o = k.L.swapSlot(slot);
    k.fset(f, F_VALUE, k.s[o + W_VALUE]!);
    k.fset(f, F_AUTHOR, k.s[o + W_AUTHOR]!);
    k.fset(f, F_EPOCH, k.s[o + W_EPOCH]!);
    k.fset(f, F_SWAP, slot + 1);
    k.trace('swapin_readahead', `slot ${slot} read into folio #${f}`);
  } else {
    k.trace('do_swap_page', `folio #${f} found in the swap cache`);
  }
  folio_get(k, f);
  folio_add_rmap(k, f);
  if (excl && k.on('page_anon_exclusive')) k.fsetFlag(f, PG_ANON_EXCLUSIVE);
  k.setPte(p, va, f, PTE_PRESENT);
  swap_free(k, slot);
  return VM_FAULT_OK;
}


