// mm/memory-failure.c memory_failure(): a page is poisoned. Mapped pages are
// unmapped into hwpoison entries (an access then gets SIGBUS), secondary MMUs
// are invalidated through the notifiers, and a clean page-cache page leaves the
// cache (me_pagecache_clean) -- except shmem/guest memory, which keeps it. For
// guest memory the filesystem's error_remove_page tells KVM: guest_memfd
// (kvm_gmem_error_folio, 6.8) and restrictedmem (its bindings' ->error) zap
// the SPTEs, and a later guest access fails with EHWPOISON.

import { Kernel, ZERO_FOLIO } from './kernel.js';
import { folio_put, folio_remove_rmap } from './folio.js';
import { F_INDEX, F_MAPPING, FS_EXT4, FS_GUEST, PG_ALIVE, PG_DIRTY, PG_HWPOISON, PTE_HWPOISON, PG_LARGE, PG_HUGETLB } from './state.js';
import { rmap_walk } from './rmap.js';
import { kvm_unmap_spte, mmu_notifier_invalidate } from './mmu_notifier.js';
import { filemap_remove_folio } from './filemap.js';
import { EBUSY, EFAULT } from './errno.js';

export function memory_failure(k: Kernel, f: number): number {
  if (f === ZERO_FOLIO || !k.ftest(f, PG_ALIVE)) return -EFAULT;
  if (k.ftest(f, PG_LARGE) && !k.ftest(f, PG_HUGETLB)) {
    // try_to_split_thp_page(): splitting a large folio is not modelled; a pinned THP cannot be split either
    k.trace('memory_failure', `folio #${f} is part of a THP: not handled (pinlab does not split large folios)`);
    return -EBUSY;
  }
  k.fsetFlag(f, PG_HWPOISON);
  k.trace('memory_failure', `folio #${f} poisoned`);
  // hwpoison_user_mappings() -> try_to_unmap(TTU_HWPOISON)
  rmap_walk(k, f, (p, va) => {
    mmu_notifier_invalidate(k, p, va, 'memory_failure');
    folio_remove_rmap(k, f);
    k.setPte(p, va, -1, PTE_HWPOISON); // the entry names no folio
    folio_put(k, f);
  });
  const m = k.fget(f, F_MAPPING) - 1;
  if (m < 0) return 0;
  const idx = k.fget(f, F_INDEX);
  if (k.fileFs(m) === FS_GUEST) {
    // kvm_gmem_error_folio() / restricted_error_remove_page(): zap every SPTE of it
    for (let s = 0; s < k.secondaryOwner.length; s++) {
      const va = k.s[k.L.file(m) + 3]! + idx; // FI_VA
      kvm_unmap_spte(k, s, va, 'memory failure');
    }
    return 0;
  }
  if (k.fileFs(m) === FS_EXT4 && !k.ftest(f, PG_DIRTY)) filemap_remove_folio(k, m, idx, f); // me_pagecache_clean()
  return 0;
}
