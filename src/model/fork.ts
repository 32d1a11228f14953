// kernel/fork.c dup_mmap() and mm/memory.c copy_page_range() /
// copy_present_pte(): what a child gets at fork, and the early COW of pinned
// pages (70e806e4e645, 5.9; page_try_dup_anon_rmap, 5.19).
//
// Preemption point: copy_page_range() per PTE -- GUP-fast in another thread may
// run between two PTEs (and, since 5.11, fork's write_protect_seq makes it retry).

import { Kernel, ZERO_FOLIO } from './kernel.js';
import { folio_add_rmap, folio_copy, folio_get, folio_maybe_dma_pinned, folio_put } from './folio.js';
import {
  E_FILE,
  E_FOLIO,
  E_PGOFF,
  E_VMFLAGS,
  MMF_HAS_PINNED,
  P_ALIVE,
  P_FORKS,
  P_MMFLAGS,
  P_PARENT,
  P_PARENT_FORK,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_HUGETLB,
  PG_LARGE,
  PG_LRU,
  PG_UPTODATE,
  PTE_DIRTY,
  PTE_PRESENT,
  PTE_SWAP,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  VM_DONTCOPY,
  VM_HUGETLB,
  VM_WIPEONFORK,
  VM_WRITE,
} from './state.js';
import { is_cow_mapping } from './memory.js';
import { mmu_notifier_invalidate } from './mmu_notifier.js';
import { swap_duplicate } from './swap.js';

function mm_has_pinned(k: Kernel, p: number): boolean {
  return (k.s[k.L.proc(p) + P_MMFLAGS]! & MMF_HAS_PINNED) !== 0;
}

/**
 * folio_needs_cow_for_dma() / page_needs_cow_for_dma() (5.9+): the parent has
 * pinned something and this page looks pinned -- give the child its own copy.
 */
function page_needs_cow_for_dma(k: Kernel, parent: number, f: number): boolean {
  const knob = k.ftest(f, PG_HUGETLB) ? 'hugetlb_fork_early_cow_pinned' : 'fork_early_cow_pinned';
  return k.on(knob) && mm_has_pinned(k, parent) && folio_maybe_dma_pinned(k, f);
}

/** copy_present_page(): the child's private copy (the parent keeps its PTE as it was). */
function copy_present_page(k: Kernel, child: number, va: number, f: number): void {
  const vmf = k.vmFlags(child, va);
  const huge = k.ftest(f, PG_HUGETLB) ? PG_HUGETLB | PG_LARGE : 0;
  const n = k.allocFolio(PG_ANON | PG_ANON_EXCLUSIVE | PG_UPTODATE | PG_LRU | huge, 0);
  folio_copy(k, n, f);
  folio_add_rmap(k, n);
  k.setPte(child, va, n, PTE_PRESENT | PTE_DIRTY | (vmf & VM_WRITE ? PTE_WRITE : 0));
  k.trace('copy_present_page', `maybe-pinned folio #${f}: child gets its own copy #${n}; parent keeps the original`);
}

/** copy_present_pte() (mm/memory.c): share the page with the child, write-protecting both in COW mappings. */
function copy_present_pte(k: Kernel, parent: number, child: number, va: number): void {
  const bits = k.pte(parent, va);
  const vmf = k.vmFlags(parent, va);
  const f = k.pteFolio(parent, va);
  if (f === ZERO_FOLIO) {
    k.setPte(child, va, f, bits);
    return;
  }
  if (k.ftest(f, PG_ANON)) {
    if (k.on('page_anon_exclusive')) {
      // folio_try_dup_anon_rmap_pte(): fails for an exclusive page that may be pinned
      if (k.ftest(f, PG_ANON_EXCLUSIVE) && page_needs_cow_for_dma(k, parent, f)) return copy_present_page(k, child, va, f);
      k.fclearFlag(f, PG_ANON_EXCLUSIVE);
    } else if (page_needs_cow_for_dma(k, parent, f)) {
      return copy_present_page(k, child, va, f);
    }
  }
  folio_get(k, f);
  folio_add_rmap(k, f);
  let cbits = bits;
  if (is_cow_mapping(vmf) && bits & PTE_WRITE) {
    mmu_notifier_invalidate(k, parent, va, 'fork write-protect');
    k.setPteBits(parent, va, bits & ~PTE_WRITE);
    cbits = bits & ~PTE_WRITE;
  }
  k.setPte(child, va, f, cbits);
}

/**
 * dup_mmap() -> copy_page_range() (kernel/fork.c, mm/memory.c): the child gets
 * every VMA but VM_DONTCOPY ones; VM_WIPEONFORK VMAs come empty; PTEs are copied
 * for COW and hugetlb mappings (vma_needs_copy), shared file mappings fault later.
 */
export function dup_mmap(k: Kernel, parent: number, child: number): void {
  const pp = k.L.proc(parent);
  const cp = k.L.proc(child);
  const forks = k.s[pp + P_FORKS]! + 1;
  k.s[pp + P_FORKS] = forks;
  k.s[cp + P_ALIVE] = 1;
  k.s[cp + P_PARENT] = parent + 1;
  k.s[cp + P_PARENT_FORK] = forks;
  k.s[cp + P_FORKS] = 0;
  k.s[cp + P_MMFLAGS] = 0; // MMF_HAS_PINNED is not inherited (MMF_INIT_MASK)
  for (let va = 0; va < k.L.d.vpages; va++) {
    const vmf = k.vmFlags(parent, va);
    if (vmf === 0 || vmf & VM_DONTCOPY) continue;
    const po = k.L.pte(parent, va);
    const co = k.L.pte(child, va);
    k.s[co + E_VMFLAGS] = vmf;
    k.s[co + E_FILE] = k.s[po + E_FILE]!;
    k.s[co + E_PGOFF] = k.s[po + E_PGOFF]!;
    if (vmf & VM_WIPEONFORK) continue;
    if (!is_cow_mapping(vmf) && !(vmf & VM_HUGETLB)) continue;
    const bits = k.pte(parent, va);
    if (bits & PTE_SWAP) {
      // copy_nonpresent_pte(): both share the swap entry; neither is exclusive any more
      const slot = k.s[po + E_FOLIO]! - 1;
      swap_duplicate(k, slot);
      k.setPteBits(parent, va, bits & ~PTE_SWP_EXCLUSIVE);
      k.s[co + E_FOLIO] = slot + 1;
      k.setPteBits(child, va, bits & ~PTE_SWP_EXCLUSIVE);
      continue;
    }
    if (bits & PTE_PRESENT) copy_present_pte(k, parent, child, va);
  }
  k.trace('dup_mmap', `child mm created`);
}


