// mm/mmap.c, mm/munmap (vma.c), mm/mprotect.c, mm/madvise.c, kernel/exit.c:
// creating, changing and tearing down VMAs. VMAs are stored per page
// (state.ts), so splitting a VMA never needs a new record.

import { Kernel } from './kernel.js';
import {
  E_FILE,
  E_PGOFF,
  E_VMFLAGS,
  FI_FLAGS,
  FI_FS,
  FI_SIZE,
  FIF_SHMEM_ANON,
  FS_GUEST,
  FS_SECRETMEM,
  FS_P2PDMA,
  FS_HUGETLBFS,
  FS_TMPFS,
  H_NEXT_FILE,
  H_NEXT_VA,
  P_ALIVE,
  PTE_PRESENT,
  PTE_WRITE,
  VM_DONTCOPY,
  VM_EXEC,
  VM_HUGETLB,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_MERGEABLE,
  VM_PRESENT,
  VM_READ,
  VM_SHARED,
  VM_WIPEONFORK,
  VM_WRITE,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  HPAGE_PMD_NR,
  PTE_DIRTY,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PTE_PMD,
} from './state.js';
import { FAULT_FLAG_WRITE, handle_mm_fault, has_page_mkwrite, zap_page_range } from './memory.js';
import { madvise_collapse, split_huge_pmd, split_partial_pmds } from './huge_memory.js';
import { mmu_notifier_invalidate } from './mmu_notifier.js';
import { madvise_pageout } from './vmscan.js';
import { ModelCapacityError } from './kernel.js';
import { EACCES, EFAULT, EINVAL, ENODEV, ENOMEM } from './errno.js';

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;
export const MAP_HUGETLB = 0x40000;
export const MAP_ANONYMOUS = 0x20;
export const MAP_POPULATE = 0x8000;
/** the values by name (include/uapi/asm-generic/mman*.h), for callers that translate names */
export const PROT_BY_NAME: Record<string, number> = { PROT_NONE: 0, PROT_READ, PROT_WRITE, PROT_EXEC };
export const MAP_BY_NAME: Record<string, number> = { MAP_SHARED, MAP_PRIVATE, MAP_HUGETLB, MAP_POPULATE };

/** calc_vm_prot_bits() */
function calc_vm_prot_bits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** Allocate a file slot at run time (shmem behind MAP_SHARED|anon, memfds). */
export function alloc_file(k: Kernel, fs: number, pages: number, flags: number): number {
  const fi = k.s[H_NEXT_FILE]!;
  if (fi >= k.L.d.files) throw new ModelCapacityError('files', k.L.d.files);
  k.set(H_NEXT_FILE, fi + 1);
  const o = k.L.file(fi);
  k.set(o + FI_FS, fs);
  k.set(o + FI_SIZE, pages);
  k.set(o + FI_FLAGS, flags);
  return fi;
}

/** Reserve a range of virtual pages (get_unmapped_area). Addresses are global so a forked child sees the same names. */
export function get_unmapped_area(k: Kernel, pages: number): number {
  let va = k.s[H_NEXT_VA]!;
  // thp_get_unmapped_area(): a range of at least a PMD starts PMD-aligned
  // (anonymous memory since efd4f3df2c1b, 6.7; before, by the luck of the address space)
  if (pages >= HPAGE_PMD_NR) va += (HPAGE_PMD_NR - (va % HPAGE_PMD_NR)) % HPAGE_PMD_NR;
  if (va + pages > k.L.d.vpages) throw new ModelCapacityError('virtual pages', k.L.d.vpages);
  k.set(H_NEXT_VA, va + pages);
  return va;
}

/** do_mmap() -> mmap_region() (all versions). Returns the start page or -errno. file -1: anonymous. */
export function do_mmap(k: Kernel, p: number, file: number, pages: number, prot: number, flags: number): number {
  const shared = (flags & MAP_SHARED) !== 0;
  if (shared === ((flags & MAP_PRIVATE) !== 0) || pages <= 0) return -EINVAL;
  let fi = file;
  let vmf = calc_vm_prot_bits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_PRESENT;
  if (shared) vmf |= VM_SHARED | VM_MAYSHARE;
  if (fi >= 0) {
    const fs = k.fileFs(fi);
    if (fs === FS_GUEST) return -ENODEV; // guest-private memory has no user mapping
    if (fs === FS_SECRETMEM && !shared) return -EINVAL; // secretmem_mmap(): MAP_SHARED only
    if (fs === FS_P2PDMA) {
      if (!k.on('p2pdma_user_mmap')) return -ENODEV; // no p2pmem/allocate file before 6.2 (7e9c7ef83d78)
      if (!shared) return -EINVAL; // p2pmem_alloc_mmap(): VM_MAYSHARE only
    }
    if (fs === FS_HUGETLBFS) vmf |= VM_HUGETLB;
    if (flags & MAP_HUGETLB && fs !== FS_HUGETLBFS) return -EINVAL;
  } else if (shared) {
    // shmem_zero_setup(): MAP_SHARED|MAP_ANONYMOUS is a tmpfs (or hugetlbfs) file
    fi = alloc_file(k, flags & MAP_HUGETLB ? FS_HUGETLBFS : FS_TMPFS, pages, FIF_SHMEM_ANON);
    if (flags & MAP_HUGETLB) vmf |= VM_HUGETLB;
  } else if (flags & MAP_HUGETLB) {
    vmf |= VM_HUGETLB;
  }
  const va = get_unmapped_area(k, pages);
  for (let i = 0; i < pages; i++) {
    const o = k.L.pte(p, va + i);
    k.set(o + E_VMFLAGS, vmf);
    k.set(o + E_FILE, fi + 1);
    k.set(o + E_PGOFF, i);
  }
  k.tracing && k.trace('mmap_region', `${pages} page(s) at ${va} ${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}${fi >= 0 ? ` file ${fi}` : ' anon'}`);
  if (flags & MAP_POPULATE) mm_populate(k, p, va, pages);
  return va;
}

/**
 * mm_populate() -> populate_vma_page_range() (mm/gup.c, all versions): GUP
 * without taking pages. "We want to touch writable mappings with a write
 * fault in order to break COW": a private writable mapping is write-faulted
 * (anonymous memory gets real pages, a private file mapping its private
 * copies); anything else accessible is read-faulted (FOLL_FORCE); PROT_NONE
 * is left alone. Failures are ignored (mmap still succeeds).
 */
function mm_populate(k: Kernel, p: number, va: number, pages: number): void {
  for (let i = 0; i < pages; i++) {
    const vmf = k.vmFlags(p, va + i);
    if (!(vmf & (VM_READ | VM_WRITE | VM_EXEC))) continue;
    const write = (vmf & (VM_WRITE | VM_SHARED)) === VM_WRITE;
    if (k.pte(p, va + i) & PTE_PRESENT && (!write || k.pte(p, va + i) & PTE_WRITE)) continue;
    handle_mm_fault(k, p, va + i, write ? FAULT_FLAG_WRITE : 0);
  }
  k.tracing && k.trace('populate_vma_page_range', `${pages} page(s) faulted in (${pages > 0 && (k.vmFlags(p, va) & (VM_WRITE | VM_SHARED)) === VM_WRITE ? 'write' : 'read'})`);
}

function range_mapped(k: Kernel, p: number, va: number, pages: number): boolean {
  if (pages <= 0 || va + pages > k.L.d.vpages) return false;
  for (let i = 0; i < pages; i++) if (k.vmFlags(p, va + i) === 0) return false;
  return true;
}

/** do_vmi_munmap() (munmap): zap the pages and drop the VMAs. */
export function do_munmap(k: Kernel, p: number, va: number, pages: number): number {
  if (pages <= 0) return -EINVAL;
  zap_page_range(k, p, va, pages, 'munmap');
  for (let i = 0; i < pages && va + i < k.L.d.vpages; i++) {
    const o = k.L.pte(p, va + i);
    k.set(o + E_VMFLAGS, 0);
    k.set(o + E_FILE, 0);
    k.set(o + E_PGOFF, 0);
  }
  return 0;
}

/**
 * Does change_protection() map this present, read-only PTE writable when the
 * VMA becomes writable? A shared mapping without write-notify (tmpfs, shmem,
 * hugetlbfs: no page_mkwrite, no dirty accounting) has a writable
 * vm_page_prot, so every PTE becomes writable (all versions). Otherwise only
 * with MM_CP_TRY_CHANGE_WRITABLE (6.0) and can_change_pte_writable(): a
 * private mapping's exclusive anonymous page -- with a dirty PTE until 6.2,
 * clean too from then -- or a shared write-notify mapping's dirty PTE (the fs
 * was told already). A PMD is upgraded from 6.2 (can_change_pmd_writable).
 */
function change_pte_writable(k: Kernel, p: number, a: number, bits: number): boolean {
  const vmf = k.vmFlags(p, a);
  if (vmf & VM_SHARED) {
    const fi = k.vmFile(p, a);
    if (fi < 0 || !has_page_mkwrite(k, fi)) return true;
    return k.on('mprotect_try_writable') && (bits & PTE_DIRTY) !== 0;
  }
  if (vmf & VM_HUGETLB) return false; // hugetlb_change_protection() has no write upgrade
  if (!k.on(bits & PTE_PMD ? 'mprotect_pmd_try_writable' : 'mprotect_try_writable')) return false;
  const f = k.pteFolio(p, a);
  if (f <= 0 || !k.ftest(f, PG_ANON) || !k.ftest(f, PG_ANON_EXCLUSIVE)) return false;
  return (bits & PTE_DIRTY) !== 0 || k.on('mprotect_writable_clean_anon');
}

/** do_mprotect_pkey() -> change_protection(): new VM_READ/WRITE/EXEC; PTEs lose write when the VMA does. */
export function do_mprotect(k: Kernel, p: number, va: number, pages: number, prot: number): number {
  if (!range_mapped(k, p, va, pages)) return -ENOMEM;
  const want = calc_vm_prot_bits(prot);
  for (let i = 0; i < pages; i++) {
    const vmf = k.vmFlags(p, va + i);
    if (want & VM_WRITE && !(vmf & VM_MAYWRITE)) return -EACCES;
  }
  split_partial_pmds(k, p, va, pages, 'mprotect of part of a THP');
  for (let i = 0; i < pages; i++) {
    const a = va + i;
    const vmf = k.vmFlags(p, a);
    k.setVmFlags(p, a, (vmf & ~(VM_READ | VM_WRITE | VM_EXEC)) | want);
    const bits = k.pte(p, a);
    if (!(want & VM_WRITE) && bits & PTE_PRESENT && bits & PTE_WRITE) {
      mmu_notifier_invalidate(k, p, a, 'change_protection');
      k.setPteBits(p, a, bits & ~PTE_WRITE);
    } else if (want & VM_WRITE && bits & PTE_PRESENT && !(bits & PTE_WRITE) && change_pte_writable(k, p, a, bits)) {
      k.setPteBits(p, a, bits | PTE_WRITE);
    }
  }
  k.tracing && k.trace('change_protection', `${pages} page(s) now ${prot & PROT_WRITE ? 'writable' : 'read-only'}`);
  return 0;
}

export const MADV = {
  MADV_DONTNEED: 4,
  MADV_FREE: 8,
  MADV_DONTFORK: 10,
  MADV_DOFORK: 11,
  MADV_MERGEABLE: 12,
  MADV_UNMERGEABLE: 13,
  MADV_HUGEPAGE: 14,
  MADV_NOHUGEPAGE: 15,
  MADV_WIPEONFORK: 18,
  MADV_KEEPONFORK: 19,
  MADV_COLD: 20,
  MADV_PAGEOUT: 21,
  MADV_COLLAPSE: 25,
} as const;

/** The VMA flags advice asks for (madvise_vma_behavior / madvise_behavior), or an errno; null when advice does not change flags. */
function madvise_new_flags(k: Kernel, p: number, va: number, advice: string): number | null {
  const vmf = k.vmFlags(p, va);
  switch (advice) {
    case 'MADV_HUGEPAGE':
    case 'MADV_NOHUGEPAGE':
      // hugepage_madvise(): VM_NO_KHUGEPAGED (hugetlb, special) areas are left as they are
      if (vmf & VM_HUGETLB) return vmf;
      return advice === 'MADV_HUGEPAGE' ? (vmf | VM_HUGEPAGE) & ~VM_NOHUGEPAGE : (vmf | VM_NOHUGEPAGE) & ~VM_HUGEPAGE;
    case 'MADV_DONTFORK':
      return vmf | VM_DONTCOPY;
    case 'MADV_DOFORK':
      return vmf & ~VM_DONTCOPY;
    case 'MADV_WIPEONFORK':
      // private anonymous only: `vma->vm_file || vma->vm_flags & VM_SHARED` is EINVAL -- a MAP_HUGETLB
      // mapping has a hugetlbfs vm_file in the kernel (pinlab gives it none)
      if (vmf & (VM_SHARED | VM_HUGETLB) || k.vmFile(p, va) >= 0) return -EINVAL;
      return vmf | VM_WIPEONFORK;
    case 'MADV_KEEPONFORK':
      return vmf & ~VM_WIPEONFORK; // no anonymity test
    case 'MADV_MERGEABLE':
      // ksm_madvise(): shared, hugetlb (and special) areas "just ignore the advice"; a private file
      // mapping becomes mergeable (its COWed anonymous pages can be merged)
      if (vmf & (VM_MERGEABLE | VM_SHARED | VM_MAYSHARE | VM_HUGETLB)) return vmf;
      return vmf | VM_MERGEABLE;
    case 'MADV_UNMERGEABLE':
      return vmf & ~VM_MERGEABLE;
  }
  return null;
}

/**
 * do_madvise() -> madvise_walk_vmas() (mm/madvise.c) for the advice the model
 * knows. Unknown advice is EINVAL before anything is done. Each VMA of the
 * range is advised in turn; an error stops the walk (earlier VMAs keep what
 * was done), and a hole makes the call return ENOMEM after the mapped parts
 * were advised. Advice that changes VMA flags splits the VMA at the range's
 * edges (madvise_update_vma -> split_vma), and with it a PMD it cuts.
 */
export function do_madvise(k: Kernel, p: number, va: number, pages: number, advice: string): number {
  if (advice === 'MADV_COLLAPSE' && !k.on('madv_collapse')) return -EINVAL; // unknown advice before 6.1
  if (advice === 'MADV_COLD' && !k.on('madv_cold')) return -EINVAL; // unknown before 5.4
  if (advice === 'MADV_PAGEOUT' && !k.on('madv_pageout')) return -EINVAL;
  if ((advice === 'MADV_WIPEONFORK' || advice === 'MADV_KEEPONFORK') && !k.on('madv_wipeonfork')) return -EINVAL;
  if (pages <= 0 || va < 0) return -EINVAL;
  if (advice === 'MADV_COLLAPSE') {
    if (!range_mapped(k, p, va, pages)) return -ENOMEM;
    const r = madvise_collapse(k, p, va, pages);
    k.tracing && k.trace('madvise', `MADV_COLLAPSE on ${pages} page(s): ${r < 0 ? 'failed' : 'done'}`);
    return r;
  }
  if (!(advice in MADV)) {
    k.sink.note(`${advice} is accepted but not modelled (no effect)`);
    return 0;
  }
  let unmapped = 0;
  const end = Math.min(va + pages, k.L.d.vpages);
  if (va + pages > k.L.d.vpages) unmapped = -ENOMEM;
  for (let a = va; a < end; ) {
    if (k.vmFlags(p, a) === 0) {
      unmapped = -ENOMEM;
      a++;
      continue;
    }
    // one VMA: the run of pages with the same flags, file and offset
    const vmf = k.vmFlags(p, a);
    const fi = k.vmFile(p, a);
    const off = k.vmPgoff(p, a) - a;
    let b = a + 1;
    while (b < end && k.vmFlags(p, b) === vmf && k.vmFile(p, b) === fi && (fi < 0 || k.vmPgoff(p, b) - b === off)) b++;
    const r = madvise_vma(k, p, a, b - a, advice);
    if (r < 0) return r;
    a = b;
  }
  k.tracing && k.trace('madvise', `${advice} on ${pages} page(s)${unmapped ? ' (a hole: ENOMEM)' : ''}`);
  return unmapped;
}

/** madvise_vma_behavior(): one VMA's part [va, va+pages) of the range. */
function madvise_vma(k: Kernel, p: number, va: number, pages: number, advice: string): number {
  const vmf = k.vmFlags(p, va);
  switch (advice) {
    case 'MADV_DONTNEED':
      // madvise_dontneed_free_valid_vma(): hugetlb is EINVAL until 90e7e7f5ef3f (5.18); VM_LOCKED/VM_PFNMAP are not modelled
      if (vmf & VM_HUGETLB && !k.on('madv_dontneed_hugetlb')) return -EINVAL;
      zap_page_range(k, p, va, pages, 'MADV_DONTNEED');
      return 0;
    case 'MADV_COLD':
    case 'MADV_PAGEOUT':
      // can_madv_lru_vma(): not on hugetlb (every version)
      if (vmf & VM_HUGETLB) return -EINVAL;
      // MADV_COLD only deactivates (deactivate_page): pinlab has no LRU ages, so nothing changes
      if (advice === 'MADV_PAGEOUT') madvise_pageout(k, p, va, pages);
      return 0;
    case 'MADV_FREE':
      k.sink.note('MADV_FREE is accepted but not modelled (no effect)');
      return 0;
  }
  const nf = madvise_new_flags(k, p, va, advice);
  if (nf === null) return 0;
  if (nf < 0) return nf;
  if (nf === vmf) return 0;
  split_partial_pmds(k, p, va, pages, `madvise ${advice} splits the VMA`);
  for (let i = 0; i < pages; i++) k.setVmFlags(p, va + i, nf);
  return 0;
}

/** do_exit() -> exit_mmap(): the whole address space is zapped. Pins held by drivers stay. */
export function exit_mmap(k: Kernel, p: number): void {
  zap_page_range(k, p, 0, k.L.d.vpages, 'exit_mmap');
  for (let va = 0; va < k.L.d.vpages; va++) {
    if (k.vmFlags(p, va) === 0) continue;
    const o = k.L.pte(p, va);
    k.set(o + E_VMFLAGS, 0);
    k.set(o + E_FILE, 0);
    k.set(o + E_PGOFF, 0);
  }
  k.set(k.L.proc(p) + P_ALIVE, 0);
  k.tracing && k.trace('exit_mmap', 'address space torn down');
}

/**
 * mremap(x, pages, pages, MREMAP_MAYMOVE) to a fresh address (mm/mremap.c
 * move_vma -> move_page_tables): the VMA and its PTEs move; pages and their
 * pins stay the same, secondary MMUs are told the old addresses are gone.
 * Returns the new start page or -errno.
 */
export function do_mremap(k: Kernel, p: number, va: number, pages: number): number {
  if (!range_mapped(k, p, va, pages)) return -EFAULT;
  // vma_to_resize(): hugetlb VMAs cannot move before 550a7d60bd5e (5.16)
  if (k.vmFlags(p, va) & VM_HUGETLB && !k.on('mremap_hugetlb')) return -EINVAL;
  // move_page_tables() moves a whole PMD only to an aligned destination; pinlab splits instead
  for (let i = 0; i < pages; i++) split_huge_pmd(k, p, va + i, 'mremap');
  const to = get_unmapped_area(k, pages);
  for (let i = 0; i < pages; i++) {
    const from = k.L.pte(p, va + i);
    const dst = k.L.pte(p, to + i);
    if (k.s[from + 4]! & 1) mmu_notifier_invalidate(k, p, va + i, 'mremap');
    for (let w = 0; w < 5; w++) {
      k.set(dst + w, k.s[from + w]!);
      k.set(from + w, 0);
    }
  }
  k.tracing && k.trace('move_page_tables', `${pages} page(s) moved from ${va} to ${to}`);
  return to;
}

