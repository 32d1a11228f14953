// kernel/fork.c dup_mmap() and mm/memory.c copy_page_range() /
// copy_present_pte(): what a child gets at fork, and the early COW of pinned
// pages (70e806e4e645, 5.9; page_try_dup_anon_rmap, 5.19).
//
// Preemption point: copy_page_range() per PTE -- GUP-fast in another thread may
// run between two PTEs (and, since 5.11, fork's write_protect_seq makes it retry).

import { Kernel, NULL_SINK, ZERO_FOLIO } from './kernel.js';
import { GUP_PIN_COUNTING_BIAS, folio_add_rmap, folio_copy, folio_get, folio_maybe_dma_pinned } from './folio.js';
import {
  E_FILE,
  F_PINCOUNT,
  F_REF,
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
  PTE_MIGRATION,
  PTE_PMD,
  HPAGE_PMD_NR,
  P_WPSEQ,
  VM_DONTCOPY,
  VM_HUGETLB,
  VM_WIPEONFORK,
  VM_ANON_VMA,
  VM_WRITE,
} from './state.js';
import { is_cow_mapping } from './memory.js';
import { mmu_notifier_invalidate } from './mmu_notifier.js';
import { swap_duplicate } from './swap.js';
import { copy_huge_pmd_share, is_huge_zero_folio, split_huge_pmd } from './huge_memory.js';

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

/** The inputs of page_needs_cow_for_dma(), for the trace: why a page does (not) look pinned at fork. */
function dmaPinInputs(k: Kernel, parent: number, f: number): string {
  if (!k.on(k.ftest(f, PG_HUGETLB) ? 'hugetlb_fork_early_cow_pinned' : 'fork_early_cow_pinned')) return 'this kernel has no fork-time copy of maybe-pinned pages';
  const hasPinned = mm_has_pinned(k, parent) ? 'mm has_pinned' : 'mm never pinned';
  if (!k.on('pin_counting_bias')) return `${hasPinned}, no pin counting on this kernel`;
  if (k.ftest(f, PG_LARGE)) return `${hasPinned}, large folio pincount ${k.fget(f, F_PINCOUNT)}`;
  const ref = k.fget(f, F_REF);
  return `${hasPinned}, page_count ${ref} ${ref >= GUP_PIN_COUNTING_BIAS ? '>=' : '<'} GUP_PIN_COUNTING_BIAS`;
}

/** copy_present_page(): the child's private copy (the parent keeps its PTE as it was). */
function copy_present_page(k: Kernel, child: number, va: number, f: number, parent: number): void {
  const vmf = k.vmFlags(child, va);
  const huge = k.ftest(f, PG_HUGETLB) ? PG_HUGETLB | PG_LARGE : 0;
  const n = k.allocFolio(PG_ANON | PG_ANON_EXCLUSIVE | PG_UPTODATE | PG_LRU | huge, 0);
  folio_copy(k, n, f);
  folio_add_rmap(k, n);
  k.setPte(child, va, n, PTE_PRESENT | PTE_DIRTY | (vmf & VM_WRITE ? PTE_WRITE : 0));
  k.tracing && k.trace('copy_present_page', `maybe-pinned folio #${f} (${k.sink === NULL_SINK ? '' : dmaPinInputs(k, parent, f)}) -> the child gets its own copy #${n}; the parent keeps the original`);
}

/**
 * copy_present_pte() (mm/memory.c), first half: decide under the PTE lock
 * whether the child gets its own copy (a maybe-pinned anon page) -- done at
 * once -- or shares the page. Returns true if the page is to be shared; the
 * second half (copy_present_pte_share) then takes the reference and
 * write-protects. GUP-fast, which takes no lock, can run between the two
 * (preemption point P7): the race 57efa1fe5957 closed with write_protect_seq.
 */
export function copy_present_pte_decide(k: Kernel, parent: number, child: number, va: number): boolean {
  const bits = k.pte(parent, va);
  const f = k.pteFolio(parent, va);
  if (f === ZERO_FOLIO) {
    k.setPte(child, va, f, bits);
    return false;
  }
  if (k.ftest(f, PG_ANON)) {
    if (k.on('page_anon_exclusive')) {
      // folio_try_dup_anon_rmap_pte(): fails for an exclusive page that may be pinned
      if (k.ftest(f, PG_ANON_EXCLUSIVE) && page_needs_cow_for_dma(k, parent, f)) {
        copy_present_page(k, child, va, f, parent);
        return false;
      }
    } else if (page_needs_cow_for_dma(k, parent, f)) {
      copy_present_page(k, child, va, f, parent);
      return false;
    }
  } else if (!k.on(k.ftest(f, PG_HUGETLB) ? 'hugetlb_fork_early_cow_anon_only' : 'fork_early_cow_anon_only') && is_cow_mapping(k.vmFlags(parent, va)) && page_needs_cow_for_dma(k, parent, f)) {
    // 70e806e4e645 (5.9) and 4eae4efa2c29 (hugetlb, 5.12) had no PageAnon test: a maybe-pinned
    // page-cache page of a MAP_PRIVATE mapping is copied for the child as well (until 5.19)
    copy_present_page(k, child, va, f, parent);
    return false;
  }
  if (k.sink !== NULL_SINK) {
    const why = !k.ftest(f, PG_ANON)
      ? `page-cache folio #${f}${is_cow_mapping(k.vmFlags(parent, va)) ? ` (${dmaPinInputs(k, parent, f)})` : ' in a shared mapping'}`
      : k.on('page_anon_exclusive') && !k.ftest(f, PG_ANON_EXCLUSIVE)
        ? `folio #${f} is not PageAnonExclusive (already shared)`
        : `folio #${f} (${dmaPinInputs(k, parent, f)})`;
    k.tracing && k.trace('copy_present_pte', `${why} -> shared with the child`);
  }
  return true;
}

/** copy_present_pte(), second half: share the page with the child, write-protecting both in COW mappings. */
export function copy_present_pte_share(k: Kernel, parent: number, child: number, va: number): void {
  const bits = k.pte(parent, va);
  const vmf = k.vmFlags(parent, va);
  const f = k.pteFolio(parent, va);
  if (f < 0) return; // zapped meanwhile (cannot happen under the PTE lock; defensive)
  if (k.on('page_anon_exclusive') && k.ftest(f, PG_ANON)) k.fclearFlag(f, PG_ANON_EXCLUSIVE);
  folio_get(k, f);
  folio_add_rmap(k, f);
  let cbits = bits;
  if (is_cow_mapping(vmf) && bits & PTE_WRITE) {
    mmu_notifier_invalidate(k, parent, va, 'fork write-protect');
    k.setPteBits(parent, va, bits & ~PTE_WRITE);
    cbits = bits & ~PTE_WRITE;
  }
  k.setPte(child, va, f, cbits);
  k.tracing && k.trace('copy_present_pte', `folio #${f} shared with the child${cbits !== bits ? ', both PTEs write-protected' : ''}`);
}

/**
 * dup_mmap() (kernel/fork.c), first part: the child's mm and its VMAs (all
 * but VM_DONTCOPY ones); write_protect_seq goes odd (5.11+) while PTEs are copied.
 */
export function dup_mmap_start(k: Kernel, parent: number, child: number): void {
  const pp = k.L.proc(parent);
  const cp = k.L.proc(child);
  // the parent's fork count (the epoch COW_LEAK compares write times with)
  // advances when the copy is complete: data written while fork is still
  // copying is part of the child's snapshot, not a leak
  const forks = k.s[pp + P_FORKS]! + 1;
  k.set(cp + P_ALIVE, 1);
  k.set(cp + P_PARENT, parent + 1);
  k.set(cp + P_PARENT_FORK, forks);
  k.set(cp + P_FORKS, 0);
  k.set(cp + P_MMFLAGS, 0); // MMF_HAS_PINNED is not inherited (MMF_INIT_MASK)
  for (let va = 0; va < k.L.d.vpages; va++) {
    const vmf = k.vmFlags(parent, va);
    if (vmf === 0 || vmf & VM_DONTCOPY) continue;
    const po = k.L.pte(parent, va);
    const co = k.L.pte(child, va);
    k.set(co + E_VMFLAGS, vmf & VM_WIPEONFORK ? vmf & ~VM_ANON_VMA : vmf); // a wiped VMA starts without an anon_vma
    k.set(co + E_FILE, k.s[po + E_FILE]!);
    k.set(co + E_PGOFF, k.s[po + E_PGOFF]!);
  }
  if (k.on('gup_fast_write_protect_seq')) k.set(pp + P_WPSEQ, k.s[pp + P_WPSEQ]! + 1);
}

/** The next page at or after va whose PTE copy_page_range() must copy (vma_needs_copy), or -1. */
export function copy_page_range_next(k: Kernel, parent: number, va: number): number {
  for (; va < k.L.d.vpages; va++) {
    const vmf = k.vmFlags(parent, va);
    if (vmf === 0 || vmf & (VM_DONTCOPY | VM_WIPEONFORK)) continue;
    // vma_needs_copy(): only VMAs with an anon_vma (and, before bcd51a3c679d in 6.0, hugetlb ones);
    // the child faults everything else in from the page cache
    if (!(vmf & VM_ANON_VMA) && !(vmf & VM_HUGETLB && !k.on('hugetlb_lazy_fork_copy'))) continue;
    const bits = k.pte(parent, va);
    if (bits & PTE_PMD && va % HPAGE_PMD_NR !== 0) continue; // copied with its PMD
    if (bits & (PTE_PRESENT | PTE_SWAP | PTE_MIGRATION)) return va;
  }
  return -1;
}

/** copy_page_range() for one page; returns true if the PTE is to be shared (copy_present_pte_share follows). */
export function copy_page_range_one(k: Kernel, parent: number, child: number, va: number): boolean {
  const po = k.L.pte(parent, va);
  const co = k.L.pte(child, va);
  const bits = k.pte(parent, va);
  if (bits & PTE_MIGRATION) {
    // copy_nonpresent_pte(): the child gets the migration entry too; in a COW mapping both become readable,
    // not exclusive ("a previously exclusive entry is now shared", make_readable_migration_entry)
    const ro = is_cow_mapping(k.vmFlags(parent, va)) ? bits & ~(PTE_WRITE | PTE_SWP_EXCLUSIVE) : bits;
    k.setPteBits(parent, va, ro);
    k.set(co + E_FOLIO, k.s[po + E_FOLIO]!);
    k.setPteBits(child, va, ro);
    return false;
  }
  if (bits & PTE_SWAP) {
    // copy_nonpresent_pte(): both share the swap entry; neither is exclusive any more
    const slot = k.s[po + E_FOLIO]! - 1;
    swap_duplicate(k, slot);
    k.setPteBits(parent, va, bits & ~PTE_SWP_EXCLUSIVE);
    k.set(co + E_FOLIO, slot + 1);
    k.setPteBits(child, va, bits & ~PTE_SWP_EXCLUSIVE);
    return false;
  }
  if (bits & PTE_PMD && copy_huge_pmd(k, parent, child, va)) return false;
  return copy_present_pte_decide(k, parent, child, va);
}

/**
 * copy_huge_pmd() (mm/huge_memory.c): share the THP by a PMD, unless it may be
 * pinned -- then split the PMD and let copy_present_pte() copy each page
 * (d042035eaf5f, 5.9; from 5.19 when folio_try_dup_anon_rmap_pmd() fails on an
 * exclusive, maybe-pinned folio). Returns true if the PMD was copied whole.
 */
function copy_huge_pmd(k: Kernel, parent: number, child: number, va: number): boolean {
  const head = k.head(k.pteFolio(parent, va));
  if (!is_huge_zero_folio(k, head)) {
    const pinned = page_needs_cow_for_dma(k, parent, head);
    const split = k.on('page_anon_exclusive') ? pinned && k.ftest(head, PG_ANON_EXCLUSIVE) : pinned;
    if (split) {
      split_huge_pmd(k, parent, va, 'fork of a maybe-pinned THP');
      return false;
    }
  }
  copy_huge_pmd_share(k, parent, child, va);
  return true;
}

/** dup_mmap() end: write_protect_seq even again. */
export function dup_mmap_finish(k: Kernel, parent: number): void {
  const pp = k.L.proc(parent);
  k.set(pp + P_FORKS, k.s[pp + P_FORKS]! + 1);
  if (k.on('gup_fast_write_protect_seq')) k.set(pp + P_WPSEQ, k.s[pp + P_WPSEQ]! + 1);
  k.tracing && k.trace('dup_mmap', `child mm created`);
}

/**
 * dup_mmap() -> copy_page_range() (kernel/fork.c, mm/memory.c): the child gets
 * every VMA but VM_DONTCOPY ones; VM_WIPEONFORK VMAs come empty; PTEs are copied
 * for COW and hugetlb mappings (vma_needs_copy), shared file mappings fault later.
 */
export function dup_mmap(k: Kernel, parent: number, child: number): void {
  dup_mmap_start(k, parent, child);
  for (let va = copy_page_range_next(k, parent, 0); va >= 0; va = copy_page_range_next(k, parent, va + 1)) {
    if (copy_page_range_one(k, parent, child, va)) copy_present_pte_share(k, parent, child, va);
  }
  dup_mmap_finish(k, parent);
}
