// mm/mmu_notifier.c and a KVM-like secondary MMU (virt/kvm/kvm_main.c,
// arch/x86/kvm/mmu): it maps pages found through GUP, keeps no reference
// (kvm_release_pfn_clean), and on invalidate_range_start dirties what it wrote
// (kvm_set_pfn_dirty, "set_page_dirty from the mmu notifier callback", seed 003)
// and drops the SPTE. It maps writable only what the primary maps writable.
//
// Preemption point P8: the secondary's fault gets the page (GUP) in one
// segment and installs the SPTE in the next; an invalidation in between bumps
// mmu_invalidate_seq (invalidate_range_start), and the fault must then drop the
// page and retry (mmu_invalidate_retry) instead of mapping a stale page.

import { Kernel } from './kernel.js';
import { F_VALUE, FI_VA, FS_GUEST, PG_HWPOISON, PTE_HWPOISON, PTE_WRITE, S_FLAGS, S_FOLIO, SPTE_DIRTY, SPTE_WRITE } from './state.js';
import { FOLL_GET, FOLL_WRITE, folio_get, folio_mark_dirty, folio_store, gup_put_folio } from './folio.js';
import { __get_user_pages, gup_fast } from './gup.js';
import { filemap_fault } from './filemap.js';
import { check_fs_modify, check_use_after_free } from './invariants.js';
import { EFAULT, EHWPOISON } from './errno.js';

/** mmu_notifier_invalidate_range_start() for one page of process p's address space. */
export function mmu_notifier_invalidate(k: Kernel, p: number, va: number, reason: string): void {
  for (let s = 0; s < k.secondaryOwner.length; s++) {
    if (k.secondaryOwner[s] !== p) continue;
    const q = k.L.smmuSeq(s);
    k.set(q, k.s[q]! + 1); // kvm_mmu_invalidate_begin(): mmu_invalidate_seq++
    kvm_unmap_spte(k, s, va, reason);
  }
}

/** kvm_unmap_gfn_range(): drop one SPTE, dirtying the page if it was written through it. */
export function kvm_unmap_spte(k: Kernel, s: number, va: number, reason: string): void {
  const o = k.L.spte(s, va);
  const f = k.s[o + S_FOLIO]! - 1;
  if (f < 0) return;
  if (k.s[o + S_FLAGS]! & SPTE_DIRTY && k.ftest(f, 1)) folio_mark_dirty(k, f);
  k.set(o + S_FOLIO, 0);
  k.set(o + S_FLAGS, 0);
  k.tracing && k.trace('kvm_mmu_notifier_invalidate_range_start', `secondary ${s}: SPTE for folio #${f} dropped (${reason})`);
}

/** The guest-memory file whose secondary-MMU address range holds va, or -1. */
export function guest_file_at(k: Kernel, va: number): number {
  for (let fi = 0; fi < k.L.d.files; fi++) {
    if (k.fileFs(fi) !== FS_GUEST) continue;
    const base = k.s[k.L.file(fi) + FI_VA]!;
    if (va >= base && va < base + k.fileSize(fi)) return fi;
  }
  return -1;
}

/**
 * The secondary MMU's fault, first half (kvm_faultin_pfn): read
 * mmu_invalidate_seq, then hva_to_pfn() through GUP for process memory
 * (writable if the primary PTE is), restrictedmem_get_page()/kvm_gmem_get_pfn()
 * for guest-private memory. Holds a reference until kvm_install_spte().
 * Returns the folio and whether it may be mapped writable, or an errno.
 */
export function kvm_get_pfn(k: Kernel, s: number, va: number, write: boolean): { f: number; writable: boolean; seq: number } | { err: number } {
  const seq = k.s[k.L.smmuSeq(s)]!;
  const gf = guest_file_at(k, va);
  if (gf >= 0) {
    const idx = va - k.s[k.L.file(gf) + FI_VA]!;
    const f = filemap_fault(k, gf, idx);
    if (k.ftest(f, PG_HWPOISON)) return { err: -EHWPOISON }; // kvm_gmem_get_pfn(): the folio is poisoned
    folio_get(k, f);
    k.tracing && k.trace(k.on('guest_memfd') ? 'kvm_gmem_get_pfn' : 'restrictedmem_get_page', `guest page ${idx} is folio #${f}`);
    return { f, writable: true, seq };
  }
  const p = k.secondaryOwner[s]!;
  // hva_to_pfn_fast(): try a writable lookup first, like KVM does for any fault
  const fast = gup_fast(k, p, va, 1, FOLL_GET | FOLL_WRITE);
  if (fast.length === 1) return { f: fast[0]!, writable: true, seq };
  // hva_to_pfn_slow(): FOLL_HWPOISON turns a hwpoison entry into -EHWPOISON (KVM_PFN_ERR_HWPOISON, SIGBUS to the vCPU)
  if (k.pte(p, va) & PTE_HWPOISON) return { err: -EHWPOISON };
  const r = __get_user_pages(k, p, va, 1, FOLL_GET | (write ? FOLL_WRITE : 0));
  if (r.err) return { err: -EFAULT };
  return { f: r.folios[0]!, writable: write || (k.pte(p, va) & PTE_WRITE) !== 0, seq };
}

/**
 * Second half, under kvm->mmu_lock: if an invalidation ran since the page was
 * looked up (mmu_invalidate_retry), drop it and report a retry; otherwise
 * install the SPTE. Either way the reference goes (kvm_release_pfn_clean).
 */
export function kvm_install_spte(k: Kernel, s: number, va: number, f: number, writable: boolean, seq: number): boolean {
  if (k.s[k.L.smmuSeq(s)] !== seq) {
    gup_put_folio(k, f, FOLL_GET);
    k.tracing && k.trace('mmu_invalidate_retry', `secondary ${s}: an invalidation ran since the lookup of folio #${f}: retry`);
    return false;
  }
  const o = k.L.spte(s, va);
  k.set(o + S_FOLIO, f + 1);
  k.set(o + S_FLAGS, writable ? SPTE_WRITE : 0);
  gup_put_folio(k, f, FOLL_GET); // kvm_release_pfn_clean(): the SPTE holds no reference
  k.tracing && k.trace('kvm_mmu_map', `secondary ${s}: SPTE -> folio #${f}${writable ? ' writable' : ''}`);
  return true;
}

/** The whole fault, run to completion (the atomic path). */
export function kvm_faultin_pfn(k: Kernel, s: number, va: number, write: boolean): number {
  for (;;) {
    const r = kvm_get_pfn(k, s, va, write);
    if ('err' in r) return r.err;
    if (kvm_install_spte(k, s, va, r.f, r.writable, r.seq)) return r.f;
  }
}

/** Does a guest access need a secondary fault first? */
export function kvm_needs_fault(k: Kernel, s: number, va: number, write: boolean): boolean {
  const o = k.L.spte(s, va);
  return k.s[o + S_FOLIO]! === 0 || (write && !(k.s[o + S_FLAGS]! & SPTE_WRITE));
}

/** A guest access through the secondary MMU: read. */
export function kvm_read(k: Kernel, s: number, va: number): number | { err: number } {
  const o = k.L.spte(s, va);
  let f = k.s[o + S_FOLIO]! - 1;
  if (f < 0) {
    f = kvm_faultin_pfn(k, s, va, false);
    if (f < 0) return { err: f };
  }
  check_use_after_free(k, f, 'secondary MMU read');
  return k.fget(f, F_VALUE);
}

/** A guest access through the secondary MMU: write (faulting for write if the SPTE is read-only). */
export function kvm_write(k: Kernel, s: number, va: number, value: number): number {
  const o = k.L.spte(s, va);
  let f = k.s[o + S_FOLIO]! - 1;
  if (f < 0 || !(k.s[o + S_FLAGS]! & SPTE_WRITE)) {
    if (f >= 0) kvm_unmap_spte(k, s, va, 'write fault on a read-only SPTE');
    f = kvm_faultin_pfn(k, s, va, true);
    if (f < 0) return f;
  }
  if (check_use_after_free(k, f, 'secondary MMU write')) return 0;
  check_fs_modify(k, f, 'a secondary MMU write');
  const owner = guest_file_at(k, va) >= 0 ? -1 : k.secondaryOwner[s]!;
  folio_store(k, f, value, owner);
  k.set(o + S_FLAGS, k.s[o + S_FLAGS]! | SPTE_DIRTY);
  return 0;
}
