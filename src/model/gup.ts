// mm/gup.c: get_user_pages() and friends -- the slow path (__get_user_pages,
// follow_page_pte, faultin_page, check_vma_flags), GUP-fast (gup_fast_pte_range,
// folio_fast_pin_allowed), and release (unpin_user_pages*, put_page).
//
// Preemption points (the explorer interleaves here; v1 runs straight through):
//   P1 __get_user_pages: after faultin_page() returns, before the retried
//      follow_page_pte() (the mmap lock may be dropped and retaken on VM_FAULT_RETRY)
//   P2 gup_fast_pte_range: between reading the PTE and try_grab_folio(), and the
//      re-check of the PTE after grabbing (a concurrent zap or fork's wrprotect)

import { Kernel, NULL_SINK, ZERO_FOLIO } from './kernel.js';
import {
  FOLL_COW,
  FOLL_FORCE,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_TOUCH,
  FOLL_WRITE,
  FOLL_ANON,
  FOLL_REMOTE,
  folio_mark_dirty,
  gup_put_folio,
  folio_put,
  try_grab_folio,
  FOLL_PCI_P2PDMA,
} from './folio.js';
import {
  F_MAPPING,
  FIF_SHMEM_ANON,
  FS_EXT4,
  FS_GUEST,
  FS_SECRETMEM,
  FS_HUGETLBFS,
  FS_TMPFS,
  K_FOLL,
  K_KIND,
  K_NPAGES,
  K_OWNER,
  K_STATE,
  K_VA,
  KP_FLAGS,
  KP_FOLIO,
  KPF_PRIVATE_MAPPING,
  MMF_HAS_PINNED,
  P_MMFLAGS,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DIRTY,
  PG_HUGETLB,
  PG_P2PDMA,
  PG_SECURE,
  PG_CMA,
  PG_ZONE_MOVABLE,
  PIN_ACTIVE,
  PIN_RELEASED,
  H_NEXT_PIN,
  PTE_DIRTY,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_WRITE,
  P_WPSEQ,
  VM_HUGETLB,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_READ,
  VM_EXEC,
  VM_SHARED,
  VM_WRITE,
  PIN_LONGTERM_USE,
  FS_P2PDMA,
} from './state.js';
import { FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, VM_FAULT_ERROR, VM_FAULT_RETRY, VM_FAULT_WRITE, handle_mm_fault, is_cow_mapping } from './memory.js';
import { EFAULT, EINVAL, EMLINK, ENOMEM, EREMOTEIO } from './errno.js';
import { ModelCapacityError } from './kernel.js';
import { migrate_folio } from './migrate.js';
import { check_longterm_pin } from './invariants.js';

/** follow_page_pte() found no usable page: fault it in. */
const NOPAGE = -1;

/** The outcome of a GUP call. */
export interface GupResult {
  /** 0, or -errno with nothing held */
  err: number;
  folios: number[];
  /** per page: was it taken through a MAP_PRIVATE (COW) mapping */
  viaPrivate: boolean[];
  /** the flags GUP ended up using (FOLL_COW, dropped FOLL_WRITE...) */
  flags: number;
  /** how many leading pages GUP-fast took (never checked for long-term pinnability afterwards) */
  fast?: number;
  /** on failure: the page that failed (the kernel returns the short count i when i > 0, the errno only for page 0) */
  failedAt?: number;
}

/**
 * is_valid_gup_args() (mm/gup.c, 6.5; is_valid_gup_flags() and the GUP-fast
 * whitelist before), the flag combinations GUP refuses with EINVAL (WARN):
 *  FOLL_GET with FOLL_PIN (5.6+);
 *  FOLL_LONGTERM without FOLL_PIN: get_user_pages*() refuse it from 447f3e45c18a (5.10);
 *  internal flags passed by a caller: FOLL_REMOTE from 6.5, FOLL_TOUCH with INTERNAL_GUP_FLAGS (gup_internal_flags_touch);
 *  FOLL_LONGTERM with FOLL_PCI_P2PDMA (never allowed in mainline; p2pdma_longterm shows the proposal);
 *  GUP-fast: anything outside FOLL_WRITE|FOLL_LONGTERM|FOLL_FORCE|FOLL_PIN|FOLL_GET (+FOLL_PCI_P2PDMA from 6.2),
 *  on every version (get_user_pages_fast's first WARN_ON_ONCE).
 */
export function is_valid_gup_args(k: Kernel, foll: number, fast = false): number {
  const r = gup_args_check(k, foll, fast);
  // d64e2dbc33a1 (6.3): pin_user_pages() and pin_user_pages_remote() "return 0" when the check fails -- no page,
  // no error -- where get_user_pages*() and pin_user_pages_fast() return -EINVAL. 1 tells the caller: an empty pin.
  if (r && foll & FOLL_PIN && !fast && k.on('gup_internal_flags_remote')) return 1;
  return r;
}

function gup_args_check(k: Kernel, foll: number, fast: boolean): number {
  if ((foll & (FOLL_GET | FOLL_PIN)) === (FOLL_GET | FOLL_PIN)) return -EINVAL;
  if (foll & FOLL_LONGTERM && !(foll & FOLL_PIN) && k.on('gup_longterm_needs_pin')) return -EINVAL;
  if (foll & FOLL_REMOTE && k.on('gup_internal_flags_remote')) return -EINVAL;
  if (foll & FOLL_TOUCH && k.on('gup_internal_flags_touch')) return -EINVAL;
  if (foll & FOLL_LONGTERM && foll & FOLL_PCI_P2PDMA && !k.on('p2pdma_longterm')) return -EINVAL;
  if (fast) {
    const allowed = FOLL_WRITE | FOLL_LONGTERM | FOLL_FORCE | FOLL_PIN | FOLL_GET | (k.on('foll_pci_p2pdma') ? FOLL_PCI_P2PDMA : 0);
    if (foll & ~allowed) return -EINVAL;
  }
  return 0;
}

/** mm_set_has_pinned_flag() (5.9+: mm->has_pinned, later MMF_HAS_PINNED): sticky for the mm's life. */
export function mm_set_has_pinned_flag(k: Kernel, p: number): void {
  const o = k.L.proc(p) + P_MMFLAGS;
  k.set(o, k.s[o]! | MMF_HAS_PINNED);
}

/** vma_needs_dirty_tracking() (mm/mmap.c, 6.5): shared+writable and the fs tracks dirtying (page_mkwrite / writeback). */
export function vma_needs_dirty_tracking(k: Kernel, p: number, va: number): boolean {
  const vmf = k.vmFlags(p, va);
  if ((vmf & (VM_WRITE | VM_SHARED)) !== (VM_WRITE | VM_SHARED)) return false;
  const fi = k.vmFile(p, va);
  // vm_ops_needs_writenotify() (page_mkwrite) or a file that can be written back: ext4; and a P2PDMA BAR mapped
  // through sysfs, whose kernfs_vm_ops have .page_mkwrite (6.12 fs/kernfs/file.c:450-455)
  return fi >= 0 && (k.fileFs(fi) === FS_EXT4 || k.fileFs(fi) === FS_P2PDMA);
}

/** writable_file_mapping_allowed() (mm/gup.c, 6.5): only long-term pins are refused, and only where dirty tracking is needed. */
function writable_file_mapping_allowed(k: Kernel, p: number, va: number, foll: number): boolean {
  if ((foll & (FOLL_PIN | FOLL_LONGTERM)) !== (FOLL_PIN | FOLL_LONGTERM)) return true;
  return !vma_needs_dirty_tracking(k, p, va);
}

/**
 * check_vma_flags() (mm/gup.c): may this GUP touch this VMA at all?
 * FOLL_FORCE never COWs in a shared mapping (cda540ace6a1, 4.8); hugetlb
 * refuses FOLL_FORCE writes (6.0); long-term write pins of dirty-tracked
 * file mappings are refused (6.5, writable_file_mapping_check).
 */
export function check_vma_flags(k: Kernel, p: number, va: number, foll: number): number {
  const vmf = k.vmFlags(p, va);
  const fi = k.vmFile(p, va);
  if (fi >= 0 && k.fileFs(fi) === FS_GUEST) return -EFAULT;
  if (fi >= 0 && k.fileFs(fi) === FS_SECRETMEM) return -EFAULT; // vma_is_secretmem() (5.14)
  // FOLL_ANON (all versions): only a vma_is_anonymous() VMA -- no vm_ops: not a file, shmem or hugetlb mapping
  if (foll & FOLL_ANON && (fi >= 0 || vmf & VM_HUGETLB)) return -EFAULT;
  const write = (foll & FOLL_WRITE) !== 0;
  if (write) {
    if (fi >= 0 && k.on('writable_file_mapping_check') && !writable_file_mapping_allowed(k, p, va, foll)) return -EFAULT;
    if (!(vmf & VM_WRITE)) {
      if (!(foll & FOLL_FORCE)) return -EFAULT;
      // f347454d0341 (6.2; 6.1.2): "hugetlb does not support FOLL_FORCE|FOLL_WRITE" until 052ccfbcc6cd (6.14)
      if (k.on('hugetlb_force_write_refused') && vmf & VM_HUGETLB) return -EFAULT;
      if (!is_cow_mapping(vmf)) return -EFAULT;
    }
  } else if (!(vmf & VM_READ)) {
    if (!(foll & FOLL_FORCE)) return -EFAULT;
    if (!(vmf & VM_MAYREAD)) return -EFAULT;
  }
  return 0;
}

/**
 * can_follow_write_pte(): may a FOLL_WRITE lookup use this read-only PTE?
 *  <=4.8  never (faultin_page drops FOLL_WRITE instead: Dirty COW)
 *  4.9+   FOLL_FORCE && FOLL_COW && pte_dirty (19be0eaffa3a); 5.8 without FOLL_FORCE (17839856fd58)
 *  6.0+   FOLL_FORCE in a private, VM_MAYWRITE, !VM_WRITE vma on an exclusive anon page
 */
function can_follow_write_pte(k: Kernel, p: number, va: number, bits: number, f: number, foll: number): boolean {
  if (bits & PTE_WRITE) return true;
  if (k.on('foll_force_anon_exclusive')) {
    if (!(foll & FOLL_FORCE)) return false;
    const vmf = k.vmFlags(p, va);
    if (vmf & (VM_MAYSHARE | VM_SHARED)) return false;
    if (!(vmf & VM_MAYWRITE)) return false;
    if (vmf & VM_WRITE) return false;
    return f !== ZERO_FOLIO && k.ftest(f, PG_ANON) && k.ftest(f, PG_ANON_EXCLUSIVE);
  }
  if (k.on('gup_foll_cow')) {
    const cow = (foll & FOLL_COW) !== 0 && (bits & PTE_DIRTY) !== 0;
    return k.on('gup_force_cow_break') ? cow : cow && (foll & FOLL_FORCE) !== 0;
  }
  return false;
}

/**
 * gup_must_unshare() (mm/internal.h): a R/O FOLL_PIN must not pin an anon page
 * that may be shared (5.19), nor -- for FOLL_LONGTERM in a COW mapping -- any
 * non-anon page (6.2). vmf null: GUP-fast, which cannot see the VMA.
 */
export function gup_must_unshare(k: Kernel, vmf: number | null, foll: number, f: number): boolean {
  if (!k.on('gup_unshare_anon')) return false;
  if ((foll & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  const anon = f !== ZERO_FOLIO && k.ftest(f, PG_ANON);
  if (!anon) {
    if (!k.on('gup_unshare_cow_mapping')) return false;
    if (!(foll & FOLL_LONGTERM)) return false;
    if (vmf === null) return true;
    return is_cow_mapping(vmf);
  }
  return !k.ftest(f, PG_ANON_EXCLUSIVE);
}

/**
 * arch_make_page_accessible() on FOLL_PIN (f28d43636d6f, 5.7; s390 protected
 * guests): export a secure page before anyone does I/O on it. FOLL_GET does not.
 */
function gup_make_accessible(k: Kernel, f: number, foll: number): void {
  if (!(foll & FOLL_PIN) || !k.on('arch_make_page_accessible_gup') || !k.on('s390_pv')) return;
  if (f !== ZERO_FOLIO && k.ftest(f, PG_SECURE)) {
    k.fclearFlag(f, PG_SECURE);
    k.tracing && k.trace('arch_make_page_accessible', `folio #${f} exported for FOLL_PIN`);
  }
}

/** follow_page_pte() (mm/gup.c): the folio a PTE maps, or NOPAGE / -EMLINK. */
function follow_page_pte(k: Kernel, p: number, va: number, foll: number): number {
  const bits = k.pte(p, va);
  if (!(bits & PTE_PRESENT)) return NOPAGE;
  const f = k.pteFolio(p, va);
  if (foll & FOLL_WRITE && !can_follow_write_pte(k, p, va, bits, f, foll)) return NOPAGE;
  if (gup_must_unshare(k, k.vmFlags(p, va), foll, f)) {
    if (k.sink !== NULL_SINK)
      k.tracing && k.trace('follow_page_pte', `gup_must_unshare: R/O FOLL_PIN of ${f !== ZERO_FOLIO && k.ftest(f, PG_ANON) ? `anon folio #${f}, not PageAnonExclusive (may be shared)` : `page-cache folio #${f} in a COW mapping, FOLL_LONGTERM`} -> -EMLINK, unshare fault`);
    return -EMLINK;
  }
  if (foll & FOLL_TOUCH && foll & FOLL_WRITE && f !== ZERO_FOLIO && !(bits & PTE_DIRTY) && !k.ftest(f, PG_DIRTY)) {
    folio_mark_dirty(k, f);
  }
  return f;
}

/** faultin_page() (mm/gup.c): handle_mm_fault() with FAULT_FLAG_WRITE / FAULT_FLAG_UNSHARE. */
function faultin_page(k: Kernel, p: number, va: number, foll: number, unshare: boolean): number {
  let fflags = 0;
  if (foll & FOLL_WRITE) fflags |= FAULT_FLAG_WRITE;
  if (unshare) fflags |= FAULT_FLAG_UNSHARE;
  k.tracing && k.trace('faultin_page', `${unshare ? 'unshare' : foll & FOLL_WRITE ? 'write' : 'read'} fault at page ${va}`);
  return handle_mm_fault(k, p, va, fflags);
}

// GUP cursor: the locals of one __get_user_pages() call, kept in an Int32Array
// so the explorer can suspend it at P1 as part of the hashed state.
export const GC_I = 0; // the page being looked up
export const GC_FOLL = 1; // flags for this page (FOLL_COW may be added, FOLL_WRITE dropped)
export const GC_TRIES = 2;
export const GC_USED = 3; // flags to release with, plus FOLL_COW if any page needed it
export const GC_ERR = 4; // -errno once failed
export const GC_STAGE = 5; // 0: new page (check the VMA), 1: retry follow_page after a fault
export const GC_NFAST = 6; // how many leading pages GUP-fast took (the slow path did the rest)
export const GC_FAILED_AT = 7; // the page a failed GUP stopped at
export const GC_FOLIOS = 8;
/** locals needed for an n-page cursor */
export function gup_cursor_size(n: number): number {
  return GC_FOLIOS + 2 * n;
}

/** Start a cursor (the part of __get_user_pages_locked() before the loop). */
export function gup_cursor_init(k: Kernel, p: number, flags: number, loc: Int32Array, first = 0): void {
  loc.fill(0);
  loc[GC_I] = first;
  loc[GC_USED] = flags;
  if (flags & FOLL_PIN) mm_set_has_pinned_flag(k, p);
}

/**
 * One slice of __get_user_pages() (mm/gup.c): for each page check the VMA,
 * then loop follow_page_pte() / faultin_page() until the page can be grabbed.
 * Returns true when finished (loc[GC_ERR] tells how); false when it stopped
 * right after a fault, at preemption point P1 (the mmap lock may be dropped
 * and retaken there; a concurrent zap or COW can change the PTE).
 * All-or-nothing: on failure every page taken so far is released (callers in
 * the model treat a short count as failure, as io_uring and most drivers do).
 */
export function gup_cursor_step(k: Kernel, p: number, start: number, n: number, flags: number, loc: Int32Array): boolean {
  const fail = (e: number): boolean => {
    for (let j = 0; j < loc[GC_I]!; j++) gup_put_folio(k, loc[GC_FOLIOS + j]!, loc[GC_USED]!);
    loc[GC_ERR] = e;
    loc[GC_FAILED_AT] = loc[GC_I]!;
    loc[GC_I] = 0;
    return true;
  };
  while (loc[GC_I]! < n) {
    const i = loc[GC_I]!;
    const va = start + i;
    if (va >= k.L.d.vpages || k.vmFlags(p, va) === 0) return fail(-EFAULT);
    const vmf = k.vmFlags(p, va);
    if (loc[GC_STAGE] === 0) {
      let foll = flags | FOLL_TOUCH;
      const e = check_vma_flags(k, p, va, foll);
      if (e) return fail(e);
      // 5.8 only: should_force_cow_break() -- every read GUP on a COW mapping breaks COW now
      if (k.on('gup_force_cow_break') && is_cow_mapping(vmf) && foll & (FOLL_GET | FOLL_PIN)) foll |= FOLL_WRITE;
      loc[GC_FOLL] = foll;
      loc[GC_TRIES] = 0;
      loc[GC_STAGE] = 1;
    }
    let foll = loc[GC_FOLL]!;
    const r = follow_page_pte(k, p, va, foll);
    if (r >= 0) {
      // try_grab_folio(): P2PDMA pages only for callers that asked (4003f107fa2e, 6.2)
      if (r !== ZERO_FOLIO && k.ftest(r, PG_P2PDMA) && !(foll & FOLL_PCI_P2PDMA)) return fail(-EREMOTEIO);
      if (!try_grab_folio(k, r, foll)) return fail(-ENOMEM);
      gup_make_accessible(k, r, foll);
      loc[GC_FOLIOS + i] = r;
      loc[GC_FOLIOS + n + i] = is_cow_mapping(vmf) || !(vmf & VM_SHARED) ? 1 : 0;
      if (foll & FOLL_COW) loc[GC_USED] = loc[GC_USED]! | FOLL_COW;
      loc[GC_I] = i + 1;
      loc[GC_STAGE] = 0;
      continue;
    }
    if (loc[GC_TRIES]! >= 5) return fail(-EFAULT);
    const ret = faultin_page(k, p, va, foll, r === -EMLINK);
    if (ret & VM_FAULT_RETRY) return false; // waiting for a migration: retry from P1, not counted
    loc[GC_TRIES] = loc[GC_TRIES]! + 1;
    if (ret & VM_FAULT_ERROR) return fail(-EFAULT);
    if (ret & VM_FAULT_WRITE && !(vmf & VM_WRITE)) {
      if (k.on('gup_foll_cow')) foll |= FOLL_COW;
      else if (!k.on('foll_force_anon_exclusive')) {
        // <=4.8: "we can safely do subsequent page lookups as if they were reads" (Dirty COW)
        foll &= ~FOLL_WRITE;
        k.tracing && k.trace('faultin_page', 'COW done on a !VM_WRITE vma: FOLL_WRITE dropped for the retry');
      }
    }
    loc[GC_FOLL] = foll;
    return false; // -- preemption point P1: before the retried follow_page_pte()
  }
  return true;
}

/** The cursor's outcome as a GupResult. */
export function gup_cursor_result(loc: Int32Array, n: number): GupResult {
  if (loc[GC_ERR]) return { err: loc[GC_ERR]!, folios: [], viaPrivate: [], flags: loc[GC_USED]!, failedAt: loc[GC_FAILED_AT]! };
  // (sized up front: push onto [] gives each array room for 17)
  const folios = new Array<number>(n);
  const viaPrivate = new Array<boolean>(n);
  for (let j = 0; j < n; j++) {
    folios[j] = loc[GC_FOLIOS + j]!;
    viaPrivate[j] = loc[GC_FOLIOS + n + j] === 1;
  }
  return { err: 0, folios, viaPrivate, flags: loc[GC_USED]!, fast: loc[GC_NFAST]! };
}

/** __get_user_pages() run to completion (the v1 path, and the explorer's atomic steps). */
export function __get_user_pages(k: Kernel, p: number, start: number, n: number, flags: number): GupResult {
  const loc = new Int32Array(gup_cursor_size(n));
  gup_cursor_init(k, p, flags, loc);
  while (!gup_cursor_step(k, p, start, n, flags, loc));
  const r = gup_cursor_result(loc, n);
  if (!r.err) k.tracing && k.trace('__get_user_pages', `${n} page(s) ${flags & FOLL_PIN ? 'pinned' : 'referenced'}`);
  return r;
}

/** GUP-fast for the leading pages, recorded into a cursor so the slow path can continue it. */
export function gup_fast_into_cursor(k: Kernel, p: number, start: number, n: number, flags: number, loc: Int32Array): void {
  gup_cursor_init(k, p, flags, loc);
  const fast = gup_fast(k, p, start, n, flags);
  fast.forEach((f, j) => {
    loc[GC_FOLIOS + j] = f;
    loc[GC_FOLIOS + n + j] = k.vmFlags(p, start + j) & VM_SHARED ? 0 : 1;
  });
  loc[GC_I] = fast.length;
  loc[GC_NFAST] = fast.length;
}


/** folio_fast_pin_allowed() (a6e79df92e4a, 6.5; later gup_fast_folio_allowed): anon, shmem and hugetlb only for FOLL_LONGTERM writes. */
export function folio_fast_pin_allowed(k: Kernel, f: number, foll: number): boolean {
  if ((foll & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) !== (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) return true;
  if (k.ftest(f, PG_HUGETLB)) return true;
  if (k.ftest(f, PG_ANON)) return true;
  const m = k.fget(f, F_MAPPING);
  if (m <= 0) return false;
  const fs = k.fileFs(m - 1);
  // anon, shmem, hugetlb (u6.5 mm/gup.c:2454-2505); guest_memfd has no user mapping before 6.12, so it never gets here
  return fs === FS_TMPFS || fs === FS_HUGETLBFS || (k.fileFlags(m - 1) & FIF_SHMEM_ANON) !== 0;
}

/**
 * gup_fast_pte_range(), first half for one page: read the PTE locklessly and
 * decide whether GUP-fast can take it. Returns the folio, or -1 to fall back
 * to the slow path (not present, not writable for a write, special, or must unshare).
 */
export function gup_fast_read_pte(k: Kernel, p: number, va: number, foll: number): number {
  if (va >= k.L.d.vpages) return -1;
  const bits = k.pte(p, va);
  if (!(bits & PTE_PRESENT) || bits & PTE_SPECIAL) return -1;
  // pte_protnone(): a PROT_NONE mapping's PTEs are not user-accessible; GUP-fast falls back (all versions) and the
  // slow path's check_vma_flags() decides (EFAULT without FOLL_FORCE). pinlab keeps the PTE and reads the VMA.
  if (!(k.vmFlags(p, va) & (VM_READ | VM_WRITE | VM_EXEC))) return -1;
  // 5.8 (17839856fd58): GUP-fast only succeeds for write lookups
  const needWrite = (foll & FOLL_WRITE) !== 0 || (k.on('gup_force_cow_break') && (foll & (FOLL_GET | FOLL_PIN)) !== 0);
  if (needWrite && !(bits & PTE_WRITE)) return -1;
  const f = k.pteFolio(p, va);
  if (gup_must_unshare(k, null, foll, f)) return -1;
  return f;
}

/**
 * folio_is_longterm_pinnable() (include/linux/mm.h): not in CMA (5.1) nor in
 * ZONE_MOVABLE (5.13); the zero page always is. Before those kernels nothing
 * was refused and long-term pins landed wherever the page was.
 */
export function folio_is_longterm_pinnable(k: Kernel, f: number): boolean {
  if (f === ZERO_FOLIO) return true;
  if (k.ftest(f, PG_CMA) && k.on('longterm_migrate_cma')) return false;
  if (k.ftest(f, PG_ZONE_MOVABLE) && k.on('longterm_migrate_movable')) return false;
  return true;
}

/**
 * check_and_migrate_movable_pages() / migrate_longterm_unpinnable_folios()
 * (mm/gup.c, __gup_longterm_locked): after a FOLL_LONGTERM GUP, if any folio
 * may not be pinned long-term, release everything, migrate those folios to
 * ZONE_NORMAL and take the pages again. A folio that cannot migrate (someone
 * else holds it) fails the whole GUP with -ENOMEM, nothing left pinned.
 */
export function check_and_migrate_movable_pages(k: Kernel, r: GupResult, redo: () => GupResult): GupResult {
  if (r.err || !(r.flags & FOLL_LONGTERM)) return r;
  for (let round = 0; round < 4; round++) {
    // internal_get_user_pages_fast() sends only what GUP-fast left to __gup_longterm_locked(): pages GUP-fast
    // took are never checked. GUP-fast refuses unpinnable pages for FOLL_PIN|FOLL_LONGTERM, so this matters
    // for FOLL_GET|FOLL_LONGTERM (5.7-5.9; refused from 5.10, 447f3e45c18a), which keeps a CMA page in place.
    // the folios that may not be pinned long-term, each once, in order (none: nothing allocated)
    let bad: number[] | null = null;
    for (let j = r.fast ?? 0; j < r.folios.length; j++) {
      const f = r.folios[j]!;
      if (!folio_is_longterm_pinnable(k, f) && !bad?.includes(f)) (bad ??= []).push(f);
    }
    if (!bad) return r;
    for (const f of r.folios) gup_put_folio(k, f, r.flags);
    for (const f of bad) {
      k.tracing && k.trace('migrate_longterm_unpinnable_folios', `folio #${f} is in ${k.ftest(f, PG_CMA) ? 'CMA' : 'ZONE_MOVABLE'}: migrate it before pinning`);
      if (migrate_folio(k, f, true)) {
        // f0f4463837da (5.13; 5.10.38): a folio that will not move fails the GUP
        if (k.on('longterm_migrate_fail_error')) return { err: -ENOMEM, folios: [], viaPrivate: [], flags: r.flags };
        // before: "some of the pages failed migration. Do get_user_pages without migration" (5.4 check_and_migrate_cma_pages)
        k.tracing && k.trace('check_and_migrate_cma_pages', `folio #${f} failed to migrate: GUP again without migration, pinned where it is`);
        return redo();
      }
    }
    r = redo();
    if (r.err) return r;
  }
  return r;
}

/**
 * gup_fast_pte_range(), second half: try_grab_folio_fast(), the 6.5 file check
 * (folio_fast_pin_allowed), then the re-check that the PTE still maps what was
 * read (a concurrent zap, COW or fork's write-protect changes it): else undo.
 */
export function gup_fast_grab(k: Kernel, p: number, va: number, foll: number, f: number, bits: number): boolean {
  // secretmem folios are never taken (page_is_secretmem / secretmem_mapping, 5.14)
  const m = k.fget(f, F_MAPPING);
  if (m > 0 && k.fileFs(m - 1) === FS_SECRETMEM) return false;
  // long-term pins of unpinnable (movable/CMA) folios go the slow way, which migrates them
  // (try_grab_folio_fast(): only for FOLL_PIN -- FOLL_LONGTERM implies it from 5.10 on)
  if (foll & FOLL_PIN && foll & FOLL_LONGTERM && !folio_is_longterm_pinnable(k, f)) return false;
  // try_grab_folio_fast(): a P2PDMA page without FOLL_PCI_P2PDMA is not taken (4003f107fa2e, 6.2)
  if (k.ftest(f, PG_P2PDMA) && !(foll & FOLL_PCI_P2PDMA)) return false;
  if (!try_grab_folio(k, f, foll)) return false;
  if (k.on('gup_fast_longterm_file_check') && !folio_fast_pin_allowed(k, f, foll)) {
    gup_put_folio(k, f, foll);
    k.tracing && k.trace('folio_fast_pin_allowed', `folio #${f} needs dirty tracking: fall back to the slow path`);
    return false;
  }
  if (k.pte(p, va) !== bits || k.pteFolio(p, va) !== f) {
    gup_put_folio(k, f, foll);
    k.tracing && k.trace('gup_fast_pte_range', `PTE changed under GUP-fast: reference dropped, fall back`);
    return false;
  }
  gup_make_accessible(k, f, foll);
  return true;
}

/**
 * mm->write_protect_seq as GUP-fast reads it (5.11+): odd while fork
 * write-protects. lockless_pages_from_mm() reads and re-checks it only for
 * FOLL_PIN (5.10.262 mm/gup.c:2685-2730, 6.12.117 :3400-3434): a FOLL_GET walk
 * ignores forks. 0 when it is not consulted.
 */
export function mm_write_protect_seq(k: Kernel, p: number, foll: number): number {
  return k.on('gup_fast_write_protect_seq') && foll & FOLL_PIN ? k.s[k.L.proc(p) + P_WPSEQ]! : 0;
}

/**
 * gup_fast() (mm/gup.c): the lockless walk, run to completion. Stops at the
 * first page it cannot take and returns the pages taken so far; the caller
 * falls back to the slow path for the rest. 5.11+: bails out if fork is
 * write-protecting (write_protect_seq odd) and gives everything back if a fork
 * ran meanwhile (57efa1fe5957).
 */
export function gup_fast(k: Kernel, p: number, start: number, n: number, foll: number): number[] {
  const got: number[] = [];
  if (foll & FOLL_PIN) mm_set_has_pinned_flag(k, p);
  const seq = mm_write_protect_seq(k, p, foll);
  if (seq & 1) return got;
  for (let i = 0; i < n; i++) {
    const va = start + i;
    const f = gup_fast_read_pte(k, p, va, foll);
    if (f < 0) break;
    // -- preemption point P2 (phased.ts splits here): a zap or fork may run before the grab
    if (!gup_fast_grab(k, p, va, foll, f, k.pte(p, va))) break;
    got.push(f);
  }
  if (mm_write_protect_seq(k, p, foll) !== seq) {
    for (const f of got) gup_put_folio(k, f, foll);
    k.tracing && k.trace('gup_fast', 'write_protect_seq changed (a fork ran): everything given back');
    return [];
  }
  if (got.length) k.tracing && k.trace('gup_fast', `${got.length} page(s) taken locklessly`);
  return got;
}

/** get_user_pages_fast() / pin_user_pages_fast(): GUP-fast, then the slow path for the rest. */
export function gup_fast_fallback(k: Kernel, p: number, start: number, n: number, foll: number): GupResult {
  // the cursor is scratch (zeroed, reused: the explorer runs this once per O_DIRECT read it expands)
  const size = gup_cursor_size(n);
  const loc = CURSORS[size]?.pop()?.fill(0) ?? new Int32Array(size);
  try {
    gup_fast_into_cursor(k, p, start, n, foll, loc);
    while (!gup_cursor_step(k, p, start, n, foll, loc));
    return gup_cursor_result(loc, n);
  } finally {
    (CURSORS[size] ??= []).push(loc);
  }
}
const CURSORS: Int32Array[][] = [];

/** Record a set of grabbed pages as a handle (the driver's page array). Returns the handle index. */
export function pin_handle_create(k: Kernel, kind: number, owner: number, start: number, r: GupResult): number {
  const h = k.s[H_NEXT_PIN]!;
  if (h >= k.L.d.pins) throw new ModelCapacityError('pins', k.L.d.pins);
  if (r.folios.length > k.L.d.pinPages) throw new ModelCapacityError('pin pages', k.L.d.pinPages);
  k.set(H_NEXT_PIN, h + 1);
  const o = k.L.pin(h);
  k.set(o + K_KIND, kind);
  k.set(o + K_OWNER, owner + 1);
  k.set(o + K_VA, start);
  k.set(o + K_NPAGES, r.folios.length);
  k.set(o + K_FOLL, r.flags);
  k.set(o + K_STATE, PIN_ACTIVE);
  if (r.flags & FOLL_LONGTERM || kind & PIN_LONGTERM_USE) for (const f of r.folios) check_longterm_pin(k, f);
  for (let i = 0; i < r.folios.length; i++) {
    const q = k.L.pinPage(h, i);
    k.set(q + KP_FOLIO, r.folios[i]! + 1);
    k.set(q + KP_FLAGS, r.viaPrivate[i] ? KPF_PRIVATE_MAPPING : 0);
  }
  return h;
}

export function pin_handle_folio(k: Kernel, h: number, i: number): number {
  return k.s[k.L.pinPage(h, i) + KP_FOLIO]! - 1;
}
export function pin_handle_npages(k: Kernel, h: number): number {
  return k.s[k.L.pin(h) + K_NPAGES]!;
}
export function pin_handle_active(k: Kernel, h: number): boolean {
  return k.s[k.L.pin(h) + K_STATE] === PIN_ACTIVE;
}

/**
 * unpin_user_pages() / unpin_user_pages_dirty_lock() / put_page() on every
 * page of a handle. make_dirty: folio_lock + folio_mark_dirty first
 * (the set_page_dirty_lock() of older kernels).
 */
export function unpin_user_pages_dirty_lock(k: Kernel, h: number, makeDirty: boolean): number {
  const o = k.L.pin(h);
  if (k.s[o + K_STATE] !== PIN_ACTIVE) return -EINVAL;
  const foll = k.s[o + K_FOLL]!;
  const n = k.s[o + K_NPAGES]!;
  for (let i = 0; i < n; i++) {
    const f = pin_handle_folio(k, h, i);
    if (f < 0) continue;
    if (makeDirty && f !== ZERO_FOLIO && !k.ftest(f, PG_DIRTY)) folio_mark_dirty(k, f);
    gup_put_folio(k, f, foll);
  }
  k.set(o + K_STATE, PIN_RELEASED);
  k.tracing && k.trace(foll & FOLL_PIN ? 'unpin_user_pages' : 'put_page', `${n} page(s) released${makeDirty ? ' dirty' : ''}`);
  return 0;
}

/**
 * A driver gives a handle's pages back: unpin_user_pages() / unpin_user_pages_dirty_lock()
 * (`put` false) or put_page() on each page (`put` true), as a driver calls them, all versions.
 * The kernel keeps no record of what a driver holds, so a wrong call is not refused: it drops
 * references the driver does not hold. pinlab names that misuse (api misuse violations) and
 * models what the kernel's arithmetic does where it stays meaningful:
 *  - a second release of the same pages (DOUBLE_RELEASE): the kernel drops the references again,
 *    an underflow or a page freed under its users; the model leaves the counts alone;
 *  - put_page() on FOLL_PIN pages (MISMATCHED_RELEASE): one reference of the pin's
 *    GUP_PIN_COUNTING_BIAS (or the large folio's extra one) is dropped and the pin count stays,
 *    so the page looks DMA-pinned for good -- modelled;
 *  - unpin_user_pages() on FOLL_GET pages once FOLL_PIN exists (MISMATCHED_RELEASE):
 *    gup_put_folio(FOLL_PIN) subtracts GUP_PIN_COUNTING_BIAS for a reference of one; the model
 *    keeps the reference (it has no negative counts). Before 5.6 unpin is put_page (the
 *    interpreter's translation), so nothing is mismatched there.
 */
export function release_pin_handle(k: Kernel, h: number, makeDirty: boolean, put: boolean): number {
  const o = k.L.pin(h);
  const foll = k.s[o + K_FOLL]!;
  const call = put ? 'put_page' : makeDirty ? 'unpin_user_pages_dirty_lock' : 'unpin_user_pages';
  if (k.s[o + K_STATE] !== PIN_ACTIVE) {
    k.violate('DOUBLE_RELEASE', `${call}() on pages already released: the kernel would drop references no one holds (refcount underflow, or a page freed under its users)`);
    k.tracing && k.trace(call, 'pages already released: the kernel drops references no one holds');
    return 0;
  }
  if (put && foll & FOLL_PIN) {
    k.violate('MISMATCHED_RELEASE', 'put_page() on pages pinned with FOLL_PIN: one reference is dropped, the pin stays counted, and the page looks DMA-pinned for good');
    const n = k.s[o + K_NPAGES]!;
    for (let i = 0; i < n; i++) {
      const f = pin_handle_folio(k, h, i);
      if (f >= 0 && f !== ZERO_FOLIO) folio_put(k, f);
    }
    k.set(o + K_STATE, PIN_RELEASED);
    k.tracing && k.trace('put_page', `${n} FOLL_PIN page(s) put: one reference each, pins still counted`);
    return 0;
  }
  if (!put && foll & FOLL_GET && k.on('foll_pin')) {
    k.violate('MISMATCHED_RELEASE', `${call}() on pages taken with FOLL_GET: gup_put_folio(FOLL_PIN) drops GUP_PIN_COUNTING_BIAS references (a large folio: a pin count it never had) where one was taken (refcount underflow); pinlab keeps the reference`);
    k.set(o + K_STATE, PIN_RELEASED);
    k.tracing && k.trace(call, 'FOLL_GET pages unpinned: the kernel would underflow their reference counts');
    return 0;
  }
  return unpin_user_pages_dirty_lock(k, h, makeDirty);
}

/** Release one page of a handle (a pipe buffer consumed by read). */
export function pin_handle_release_page(k: Kernel, h: number, i: number): void {
  const f = pin_handle_folio(k, h, i);
  if (f < 0) return;
  gup_put_folio(k, f, k.s[k.L.pin(h) + K_FOLL]!);
  k.set(k.L.pinPage(h, i) + KP_FOLIO, 0);
}

export { FOLL_GET, FOLL_PIN, FOLL_WRITE, FOLL_LONGTERM, FOLL_FORCE };
