// mm/ksm.c: ksmd merges identical anonymous pages of MADV_MERGEABLE areas into
// one write-protected KSM page. write_protect_page() refuses a page whose
// refcount shows a reference beyond its mappings (GUP, pins): "mapcount + 1 +
// swapcache != refcount" (all versions), so pinned pages are never merged.
// KSM pages are never PageAnonExclusive: a write copies them, and a R/O
// FOLL_PIN unshares them first (5.19).

import { Kernel, ZERO_FOLIO } from './kernel.js';
import { folio_add_rmap, folio_get, folio_put, folio_remove_rmap } from './folio.js';
import { F_REF, F_VALUE, PG_ANON, PG_ANON_EXCLUSIVE, PG_HUGETLB, PG_LARGE, PG_KSM, PG_SWAPCACHE, PTE_DIRTY, PTE_PRESENT, PTE_WRITE, VM_MERGEABLE } from './state.js';
import { mmu_notifier_invalidate } from './mmu_notifier.js';

/** write_protect_page() + replace_page() for one candidate: can it be merged into `into`? */
function try_to_merge_one_page(k: Kernel, p: number, va: number, f: number, into: number): boolean {
  const expected = k.folioMapcount(f) + 1 + (k.ftest(f, PG_SWAPCACHE) ? 1 : 0);
  // the "+1" is ksmd's own reference (taken by the page walk). The test runs only when the page could be written
  // behind KSM's back: a writable or dirty PTE -- or, from 5.19 (6c287605fd56), a PageAnonExclusive page. Before,
  // a read-only, clean PTE was merged whatever references the page had.
  const pte = k.pte(p, va);
  const check = (pte & (PTE_WRITE | PTE_DIRTY)) !== 0 || (k.on('page_anon_exclusive') && k.ftest(f, PG_ANON_EXCLUSIVE));
  if (check && k.fget(f, F_REF) + 1 !== expected) {
    k.tracing && k.trace('write_protect_page', `folio #${f}: refcount ${k.fget(f, F_REF)} shows extra references (GUP/pin): not merged`);
    return false;
  }
  mmu_notifier_invalidate(k, p, va, 'ksm write_protect_page');
  if (f === into) {
    k.setPteBits(p, va, k.pte(p, va) & ~PTE_WRITE);
    return true;
  }
  // replace_page(): map the KSM page here, drop the old one
  const bits = k.pte(p, va) & ~PTE_WRITE;
  folio_remove_rmap(k, f);
  k.clearPte(p, va);
  folio_put(k, f);
  folio_get(k, into);
  folio_add_rmap(k, into);
  k.setPte(p, va, into, bits | PTE_PRESENT);
  return true;
}

/** ksm_do_scan(): one pass; pages with equal content are merged into the first mergeable one. */
export function ksm_scan(k: Kernel): void {
  const groups = new Map<number, { p: number; va: number; f: number }[]>();
  for (let p = 0; p < k.L.d.procs; p++) {
    if (!k.procAlive(p)) continue;
    for (let va = 0; va < k.L.d.vpages; va++) {
      if (!(k.vmFlags(p, va) & VM_MERGEABLE) || !(k.pte(p, va) & PTE_PRESENT)) continue;
      const f = k.pteFolio(p, va);
      if (f === ZERO_FOLIO || !k.ftest(f, PG_ANON) || k.ftest(f, PG_HUGETLB) || k.ftest(f, PG_LARGE)) continue; // THPs: KSM would split them (not modelled)
      const v = k.fget(f, F_VALUE);
      const g = groups.get(v) ?? [];
      g.push({ p, va, f });
      groups.set(v, g);
    }
  }
  for (const g of groups.values()) {
    g.sort((a, b) => Number(k.ftest(b.f, PG_KSM)) - Number(k.ftest(a.f, PG_KSM))); // an existing KSM page is the target
    const distinct = new Set(g.map((x) => x.f));
    if (distinct.size < 2 && !g.some((x) => k.ftest(x.f, PG_KSM))) continue;
    // cmp_and_merge_page(): the stable tree's KSM page takes every page; without one, the first page scanned waits
    // in the unstable tree and the next equal page found becomes the KSM page (try_to_merge_two_pages: it is
    // write-protected in place, then the waiting page is replaced by it). Not modelled: break_cow() when the second
    // half of that fails, and the first pass only recording checksums.
    let into = k.ftest(g[0]!.f, PG_KSM) ? g[0]!.f : -1;
    let waiting: { p: number; va: number; f: number } | null = null;
    for (const x of g) {
      if (x.f === into) continue;
      if (into >= 0) {
        try_to_merge_one_page(k, x.p, x.va, x.f, into);
        continue;
      }
      if (!waiting) {
        waiting = x;
        continue;
      }
      if (!try_to_merge_one_page(k, x.p, x.va, x.f, x.f)) continue;
      into = x.f;
      k.fsetFlag(into, PG_KSM);
      k.fclearFlag(into, PG_ANON_EXCLUSIVE);
      try_to_merge_one_page(k, waiting.p, waiting.va, waiting.f, into);
    }
    if (into >= 0) k.tracing && k.trace('ksm_do_scan', `pages holding the same data now share KSM folio #${into}`);
  }
}
