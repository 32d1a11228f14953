// mm/migrate.c migrate_pages() for one folio: unmap to migration entries,
// check folio_expected_refs() (any GUP reference or pin makes it fail with
// -EAGAIN), copy, remap, free the old folio. Guest memory: AS_UNMOVABLE
// (guest_memfd, 6.8) refuses; restricted_aops (seed 004) returns -EBUSY;
// plain restrictedmem (upm_v10) migrates like shmem and nobody tells KVM.
//
// Preemption point: between unmapping (migration entries) and remapping.

import { Kernel, ZERO_FOLIO, ZONE_EXPLICIT } from './kernel.js';
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
  F_SWAP,
  PG_ZONE_MOVABLE,
  PG_CMA,
  PTE_DIRTY,
  PTE_MIGRATION,
  PTE_PRESENT,
  PTE_WRITE,
  E_FOLIO,
  PG_LARGE,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PTE_SWP_EXCLUSIVE,
} from './state.js';
import { rmap_walk } from './rmap.js';
import { mmu_notifier_invalidate } from './mmu_notifier.js';
import { EAGAIN, EBUSY, EFAULT, EOPNOTSUPP } from './errno.js';

/**
 * migrate_pages() first half for one folio (migrate_folio_unmap): refusals,
 * the expected-references check, isolation, and try_to_migrate(): every PTE
 * becomes a migration entry (faults on it wait). Returns 0 or -errno.
 */
export function migrate_folio_unmap(k: Kernel, f: number): number {
  if (f === ZERO_FOLIO || !k.ftest(f, PG_ALIVE)) return -EFAULT;
  if (k.ftest(f, PG_HUGETLB)) return -EBUSY; // hugetlb migration not modelled
  if (k.ftest(f, PG_LARGE)) return -EBUSY; // THP migration not modelled (migrate_pages would split or move it whole)
  const m = k.fget(f, F_MAPPING) - 1;
  if (m >= 0 && k.fileFs(m) === FS_GUEST) {
    if (k.fileFlags(m) & FIF_UNMOVABLE) {
      // move_to_new_folio(): mapping_unmovable() (6.8-6.10) / mapping_inaccessible() (6.11+) ->
      // -EOPNOTSUPP before a_ops->migrate_folio (kvm_gmem_migrate_folio, which would WARN) is reached
      k.tracing && k.trace('move_to_new_folio', `folio #${f}: guest_memfd's mapping is unmovable`);
      return -EOPNOTSUPP;
    }
    if (k.fileFlags(m) & FIF_RESTRICTED_AOPS) {
      k.tracing && k.trace('restricted_folio', `folio #${f}: restrictedmem refuses migration`);
      return -EBUSY;
    }
  }
  const expected = k.fget(f, F_MAPCOUNT) + (m >= 0 ? 1 : 0) + (k.ftest(f, PG_SWAPCACHE) ? 1 : 0);
  if (k.fget(f, F_REF) !== expected) {
    k.tracing && k.trace('folio_migrate_mapping', `folio #${f}: refcount ${k.fget(f, F_REF)} != expected ${expected} (pinned or referenced)`);
    return -EAGAIN;
  }
  folio_get(k, f); // folio_isolate_lru()
  // try_to_migrate_one() (5.19+): PageAnonExclusive moves from the page into the entry
  // (make_readable_exclusive_migration_entry; a writable entry is exclusive too) and the page loses it
  const excl = k.on('page_anon_exclusive') && k.ftest(f, PG_ANON_EXCLUSIVE) ? PTE_SWP_EXCLUSIVE : 0;
  rmap_walk(k, f, (p, va) => {
    mmu_notifier_invalidate(k, p, va, 'migration');
    const bits = k.pte(p, va);
    folio_remove_rmap(k, f);
    folio_put(k, f);
    k.setPte(p, va, f, (bits & (PTE_WRITE | PTE_DIRTY)) | PTE_MIGRATION | excl);
  });
  k.fclearFlag(f, PG_ANON_EXCLUSIVE);
  k.tracing && k.trace('try_to_migrate', `folio #${f}: PTEs replaced by migration entries`);
  return 0;
}

/** remove_migration_ptes(): every migration entry for `from` becomes a PTE of `to`. */
function remove_migration_ptes(k: Kernel, from: number, to: number): void {
  const { procs, vpages } = k.L.d;
  for (let p = 0; p < procs; p++)
    for (let va = 0; va < vpages; va++) {
      const bits = k.pte(p, va);
      if (!(bits & PTE_MIGRATION) || k.s[k.L.pte(p, va) + E_FOLIO] !== from + 1) continue;
      folio_get(k, to);
      folio_add_rmap(k, to);
      // remove_migration_pte(): RMAP_EXCLUSIVE for an anon page from a writable or readable-exclusive entry
      if (k.on('page_anon_exclusive') && k.ftest(to, PG_ANON) && bits & (PTE_WRITE | PTE_SWP_EXCLUSIVE)) k.fsetFlag(to, PG_ANON_EXCLUSIVE);
      k.setPte(p, va, to, (bits & ~(PTE_MIGRATION | PTE_SWP_EXCLUSIVE)) | PTE_PRESENT);
    }
}

/**
 * Second half (migrate_folio_move): folio_ref_freeze() must find only the
 * expected references -- someone who took one since (a page-cache lookup, a
 * GUP through another mapping) makes it fail with -EAGAIN and the old folio is
 * mapped back; otherwise copy, switch the page cache, remap, free the old folio.
 */
export function migrate_folio_move(k: Kernel, f: number, toNormal = false): number {
  const m = k.fget(f, F_MAPPING) - 1;
  const expected = 1 + (m >= 0 ? 1 : 0) + (k.ftest(f, PG_SWAPCACHE) ? 1 : 0);
  if (k.fget(f, F_REF) !== expected) {
    remove_migration_ptes(k, f, f);
    folio_put(k, f); // putback_movable_folio()
    k.tracing && k.trace('folio_migrate_mapping', `folio #${f}: a reference appeared during migration: aborted, remapped`);
    return -EAGAIN;
  }
  const flags = k.fget(f, F_FLAGS) & ~(PG_ALIVE | PG_FREED);
  // the target: the same zone (compaction), or ZONE_NORMAL for a long-term pin
  const n = k.allocFolio(toNormal ? (flags & ~(PG_ZONE_MOVABLE | PG_CMA)) | ZONE_EXPLICIT : flags | ZONE_EXPLICIT, 0);
  folio_copy(k, n, f);
  k.fset(n, F_MAPPING, k.fget(f, F_MAPPING));
  k.fset(n, F_INDEX, k.fget(f, F_INDEX));
  remove_migration_ptes(k, f, n);
  if (m >= 0) {
    // folio_migrate_mapping(): the cache slot and its reference move to the new folio
    k.setCachedFolio(m, k.fget(f, F_INDEX), n);
    k.fset(f, F_MAPPING, 0);
    folio_put(k, f);
  } else if (k.ftest(f, PG_SWAPCACHE)) {
    // folio_migrate_mapping() for a swap-cache folio: the swap cache now holds the new folio
    // (the allocation reference becomes the cache's); the old one drops its cache reference
    k.fset(n, F_SWAP, k.fget(f, F_SWAP));
    k.fclearFlag(f, PG_SWAPCACHE);
    k.fset(f, F_SWAP, 0);
    folio_put(k, f);
  } else {
    folio_put(k, n); // the allocation reference: the PTEs hold it now
  }
  folio_put(k, f); // drop the isolation reference: the old folio is freed
  k.tracing && k.trace('migrate_pages', `folio #${f} migrated to #${n}`);
  return 0;
}

/** migrate_pages() for one folio, run to completion. */
export function migrate_folio(k: Kernel, f: number, toNormal = false): number {
  const r = migrate_folio_unmap(k, f);
  if (r) return r;
  // -- preemption point P6: migration entries in place, the copy not yet done
  return migrate_folio_move(k, f, toNormal);
}
