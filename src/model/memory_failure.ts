// mm/memory-failure.c memory_failure() (all versions; the refcount rules as of
// each version): a page is poisoned. A THP is split first. hwpoison_user_mappings()
// unmaps it: a clean page of a writeback-capable file (ext4) is "dropped without
// side effects" -- its PTEs just go and the next access reads the disk again --
// every other mapping becomes a hwpoison entry (an access gets SIGBUS); secondary
// MMUs are invalidated through the notifiers. Then the page's action:
//  anon           done (me_pagecache_clean: "the only reference left should be
//                 the one m_f() holds"); before 5.16 any other reference -- a
//                 pin, a GUP reference -- makes it -EBUSY (page_action), from
//                 dd0f230a0a80 (5.16; 5.15.y) anon pages skip the test
//  ext4           truncated from the page cache whatever holds it
//                 (truncate_error_folio); a dirty page's data is lost and the
//                 next fsync() reports EIO (me_pagecache_dirty: mapping_set_error)
//  shmem/tmpfs    truncated before 5.16; kept from a76054266661 (5.16; 5.15.y),
//                 read() then says EIO and a fault SIGBUS
//  guest memory   guest_memfd (kvm_gmem_error_folio, 6.8) and restrictedmem zap
//                 the SPTEs (a later guest access fails with EHWPOISON);
//                 guest_memfd's MF_DELAYED is taken for a failure: -EBUSY
// Extra references after the action make memory_failure() return -EBUSY (the
// page is poisoned and unmapped all the same).

import { Kernel, ZERO_FOLIO } from './kernel.js';
import { folio_put, folio_remove_rmap } from './folio.js';
import {
  F_INDEX,
  F_MAPPING,
  F_REF,
  FIF_EIO,
  FIF_WB_ERR,
  FIF_SHMEM_ANON,
  FI_FLAGS,
  FS_EXT4,
  FS_GUEST,
  FS_TMPFS,
  PG_ALIVE,
  PG_ANON,
  PG_DIRTY,
  PG_FS_WRITABLE,
  PG_HUGETLB,
  PG_HWPOISON,
  PG_LARGE,
  PG_LRU,
  PG_PRIVATE,
  PG_SWAPCACHE,
  PTE_HWPOISON,
} from './state.js';
import { rmap_walk } from './rmap.js';
import { kvm_unmap_spte, mmu_notifier_invalidate } from './mmu_notifier.js';
import { folio_mkclean } from './filemap.js';
import { split_folio } from './huge_memory.js';
import { EBUSY, EFAULT, EHWPOISON } from './errno.js';

/** truncate_error_folio() -> generic_error_remove_folio(): the page leaves the page cache, its data with it. */
function truncate_error_folio(k: Kernel, fi: number, idx: number, f: number): void {
  k.setCachedFolio(fi, idx, -1);
  k.fset(f, F_MAPPING, 0);
  k.fclearFlag(f, PG_DIRTY | PG_PRIVATE | PG_FS_WRITABLE | PG_LRU);
  k.tracing && k.trace('truncate_error_folio', `file ${fi} page ${idx}: poisoned folio #${f} truncated from the page cache`);
  folio_put(k, f);
}

/** has_extra_refcount() / page_action()'s count: references beyond what the page cache (extra_pins) holds. */
function extra_refs(k: Kernel, f: number, cacheRef: number): boolean {
  if (!k.ftest(f, PG_ALIVE)) return false;
  return k.fget(f, F_REF) - cacheRef > 0;
}

export function memory_failure(k: Kernel, f: number): number {
  if (f === ZERO_FOLIO || !k.ftest(f, PG_ALIVE)) return -EFAULT;
  if (k.ftest(f, PG_LARGE) && !k.ftest(f, PG_HUGETLB)) {
    // try_to_split_thp_page(): a THP held beyond its mappings (pinned, GUP-held) cannot be split
    if (split_folio(k, f, 'memory failure') < 0) {
      if (k.on('mf_thp_split_fail_sigbus')) {
        k.sink.note(`memory_failure: THP of folio #${f} could not be split: SIGBUS sent to the processes mapping it (kill_procs_now; pinlab lets them go on)`);
        return -EHWPOISON;
      }
      k.tracing && k.trace('memory_failure', `THP of folio #${f} could not be split: MF_MSG_UNSPLIT_THP, ignored`);
      return -EBUSY;
    }
  }
  k.fsetFlag(f, PG_HWPOISON);
  k.tracing && k.trace('memory_failure', `folio #${f} poisoned`);
  const m = k.fget(f, F_MAPPING) - 1;
  const fs = m >= 0 ? k.fileFs(m) : 0;
  const anon = k.ftest(f, PG_ANON);
  // hwpoison_user_mappings(): a clean page of a file that can be written back is dropped, not poisoned in the PTEs
  let kill = true;
  if (!anon && m >= 0 && fs === FS_EXT4 && !k.ftest(f, PG_DIRTY)) {
    if (folio_mkclean(k, f)) k.fsetFlag(f, PG_DIRTY);
    else kill = false;
  }
  rmap_walk(k, f, (p, va) => {
    mmu_notifier_invalidate(k, p, va, 'memory_failure');
    folio_remove_rmap(k, f);
    if (kill) k.setPte(p, va, -1, PTE_HWPOISON); // the entry names no folio
    else k.clearPte(p, va);
    folio_put(k, f);
  });
  if (!kill) k.tracing && k.trace('hwpoison_user_mappings', `folio #${f} was clean: dropped without side effects`);
  if (anon) {
    if (!k.on('mf_anon_skip_refcount') && extra_refs(k, f, k.ftest(f, PG_SWAPCACHE) ? 1 : 0)) {
      k.tracing && k.trace('page_action', `folio #${f} still referenced: MF_FAILED`);
      return -EBUSY;
    }
    return 0;
  }
  if (m < 0) return 0;
  const idx = k.fget(f, F_INDEX);
  if (fs === FS_GUEST) {
    // kvm_gmem_error_folio() / restricted_error_remove_page(): zap every SPTE of it
    for (let s = 0; s < k.secondaryOwner.length; s++) {
      const va = k.s[k.L.file(m) + 3]! + idx; // FI_VA
      kvm_unmap_spte(k, s, va, 'memory failure');
    }
    // guest_memfd returns MF_DELAYED, which truncate_error_folio() counts as a failure: -EBUSY (6.8 .. 7.2)
    if (k.on('guest_memfd') && !k.on('mf_delayed_recovered') && !k.on('restricted_aops')) return -EBUSY;
    return 0;
  }
  if (fs === FS_EXT4) {
    if (k.ftest(f, PG_DIRTY)) {
      // me_pagecache_dirty(): the data is gone; tell the next fsync()
      k.set(k.L.file(m) + FI_FLAGS, k.s[k.L.file(m) + FI_FLAGS]! | FIF_EIO | FIF_WB_ERR);
      k.tracing && k.trace('me_pagecache_dirty', `file ${m} page ${idx}: dirty data lost, mapping_set_error(-EIO)`);
    }
    truncate_error_folio(k, m, idx, f);
    return extra_refs(k, f, 0) ? -EBUSY : 0;
  }
  if (fs === FS_TMPFS || k.fileFlags(m) & FIF_SHMEM_ANON) {
    if (k.on('shmem_hwpoison_keep')) {
      // shmem_error_remove_folio(): kept; read() says EIO, a fault SIGBUS
      return extra_refs(k, f, 1) ? -EBUSY : 0;
    }
    truncate_error_folio(k, m, idx, f);
    return extra_refs(k, f, 0) ? -EBUSY : 0;
  }
  return 0;
}
