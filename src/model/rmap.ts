// mm/rmap.c: find the PTEs that map a folio (rmap_walk), for page_mkclean,
// try_to_unmap and truncation. The model walks every mm's page table; the
// tables are small (scenario-sized).

import type { Kernel } from './kernel.js';
import { E_FOLIO, E_PTE, PTE_PRESENT, P_STRIDE, VM_ANON_VMA } from './state.js';

/** Call fn(p, va) for every present PTE that maps folio f (rmap_walk). */
export function rmap_walk(k: Kernel, f: number, fn: (p: number, va: number) => void): void {
  const { procs, vpages } = k.L.d;
  const want = f + 1;
  for (let p = 0; p < procs; p++) {
    if (k.s[k.L.procs + p * P_STRIDE] !== 1) continue;
    for (let va = 0; va < vpages; va++) {
      const o = k.L.pte(p, va);
      if (k.s[o + E_FOLIO] === want && k.s[o + E_PTE]! & PTE_PRESENT) fn(p, va);
    }
  }
}

/** Call fn(p, va) for every page of every mm whose VMA maps file fi at page index idx. */
export function mapping_walk(k: Kernel, fi: number, idx: number, fn: (p: number, va: number) => void): void {
  const { procs, vpages } = k.L.d;
  for (let p = 0; p < procs; p++) {
    if (k.s[k.L.procs + p * P_STRIDE] !== 1) continue;
    for (let va = 0; va < vpages; va++) {
      if (k.vmFlags(p, va) !== 0 && k.vmFile(p, va) === fi && k.vmPgoff(p, va) === idx) fn(p, va);
    }
  }
}

/**
 * anon_vma_prepare() (mm/rmap.c): the first anonymous page of a VMA gives it
 * an anon_vma. pinlab keeps VMAs per page, so the flag goes on every page of
 * the VMA -- the run of pages around va with the same flags, file and pgoff.
 * fork copies the page tables only of VMAs that have one (vma_needs_copy).
 */
export function anon_vma_prepare(k: Kernel, p: number, va: number): void {
  const vmf = k.vmFlags(p, va);
  if (vmf === 0 || vmf & VM_ANON_VMA) return;
  const fi = k.vmFile(p, va);
  const base = k.vmPgoff(p, va) - va;
  const same = (a: number) => a >= 0 && a < k.L.d.vpages && (k.vmFlags(p, a) & ~VM_ANON_VMA) === vmf && k.vmFile(p, a) === fi && (fi < 0 || k.vmPgoff(p, a) - a === base);
  let lo = va;
  while (same(lo - 1)) lo--;
  for (let a = lo; same(a); a++) k.setVmFlags(p, a, k.vmFlags(p, a) | VM_ANON_VMA);
}
