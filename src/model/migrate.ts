// mm/migrate.c migrate_pages() for one folio: unmap to migration entries,
// check folio_expected_refs() (any GUP reference or pin makes it fail with
// -EAGAIN), copy, remap, free the old folio. Guest memory: AS_UNMOVABLE
// (guest_memfd, 6.8) refuses; restricted_aops (seed 004) returns -EBUSY;
// plain restrictedmem (upm_v10) migrates like shmem and nobody tells KVM.
//
// Preemption point: between unmapping (migration entries) and remapping.

import { Kernel, ZERO_FOLIO } from './kernel.js';
import { folio_add_rmap, folio_copy, folio_get, folio_put, folio_remove_rmap } from './folio.js';
import {
  F_FLAGS,
  F_INDEX,
  F_MAPCOUNT,
  F_MAPPING,
  F_REF,
  FIF_RESTRICTED_AOPS,
  FIF_UNMOVABLE,
  FS_GUEST,
  PG_ALIVE,
  PG_FREED,
  PG_HUGETLB,
  PG_SWAPCACHE,
} from './state.js';
import { rmap_walk } from './rmap.js';
import { mmu_notifier_invalidate } from './mmu_notifier.js';
import { EAGAIN, EBUSY, EINVAL, EFAULT } from './errno.js';

export function migrate_folio(k: Kernel, f: number): number {
  if (f === ZERO_FOLIO || !k.ftest(f, PG_ALIVE)) return -EFAULT;
  if (k.ftest(f, PG_HUGETLB)) return -EBUSY; // hugetlb migration not modelled
  const m = k.fget(f, F_MAPPING) - 1;
  if (m >= 0 && k.fileFs(m) === FS_GUEST) {
    if (k.fileFlags(m) & FIF_UNMOVABLE) {
      k.trace('kvm_gmem_migrate_folio', `folio #${f}: guest_memfd is unmovable`);
      return -EINVAL;
    }
    if (k.fileFlags(m) & FIF_RESTRICTED_AOPS) {
      k.trace('restricted_folio', `folio #${f}: restrictedmem refuses migration`);
      return -EBUSY;
    }
  }
  const expected = k.fget(f, F_MAPCOUNT) + (m >= 0 ? 1 : 0) + (k.ftest(f, PG_SWAPCACHE) ? 1 : 0);
  if (k.fget(f, F_REF) !== expected) {
    k.trace('folio_migrate_mapping', `folio #${f}: refcount ${k.fget(f, F_REF)} != expected ${expected} (pinned or referenced)`);
    return -EAGAIN;
  }
  folio_get(k, f); // folio_isolate_lru()
  const flags = k.fget(f, F_FLAGS) & ~(PG_ALIVE | PG_FREED);
  const n = k.allocFolio(flags, 0);
  folio_copy(k, n, f);
  k.fset(n, F_MAPPING, k.fget(f, F_MAPPING));
  k.fset(n, F_INDEX, k.fget(f, F_INDEX));
  // try_to_migrate() then remove_migration_ptes(): every PTE moves to the new folio
  rmap_walk(k, f, (p, va) => {
    mmu_notifier_invalidate(k, p, va, 'migration');
    const bits = k.pte(p, va);
    folio_remove_rmap(k, f);
    folio_put(k, f);
    folio_get(k, n);
    folio_add_rmap(k, n);
    k.setPte(p, va, n, bits);
  });
  if (m >= 0) {
    // folio_migrate_mapping(): the cache slot and its reference move to the new folio
    k.setCachedFolio(m, k.fget(f, F_INDEX), n);
    k.fset(f, F_MAPPING, 0);
    folio_put(k, f);
  } else {
    folio_put(k, n); // the allocation reference: the PTEs hold it now
  }
  folio_put(k, f); // drop the isolation reference: the old folio is freed
  k.trace('migrate_pages', `folio #${f} migrated to #${n}`);
  return 0;
}
