// arch/s390/kernel/uv.c: a protected (secure-execution) guest takes a page
// (make_secure -> gmap_make_secure). Host I/O must first export it
// (arch_make_page_accessible); GUP does so for FOLL_PIN, writeback does at
// writeback start (f28d43636d6f, 5.7).
//
// gmap_make_secure() (5.7+; read in 5.10.262 and 6.12.117) refuses: a hugetlb
// VMA (-EFAULT: "secure pages cannot be huge"); a page under writeback
// (make_secure_pte -EAGAIN, after waiting for it); a page with references
// beyond its mappings and the page cache or swap cache -- a pin, a GUP
// reference -- (page_ref_freeze fails: -EBUSY, drained and retried, then
// -EAGAIN for the caller to retry: a pinned page never becomes secure). A page
// not mapped yet is write-faulted in (gmap_fault) and the caller retries,
// which pinlab folds into one call.

import { Kernel, ZERO_FOLIO } from './kernel.js';
import { F_MAPCOUNT, F_MAPPING, F_REF, PG_SECURE, PG_SWAPCACHE, PG_WRITEBACK, PTE_PRESENT, VM_HUGETLB } from './state.js';
import { handle_mm_fault, FAULT_FLAG_WRITE, VM_FAULT_ERROR } from './memory.js';
import { EAGAIN, EFAULT, EINVAL } from './errno.js';

/** expected_page_refs(): the mappings, plus the page cache's or the swap cache's reference. */
function expected_page_refs(k: Kernel, f: number): number {
  return k.fget(f, F_MAPCOUNT) + (k.ftest(f, PG_SWAPCACHE) || k.fget(f, F_MAPPING) > 0 ? 1 : 0);
}

export function gmap_make_secure(k: Kernel, p: number, va: number): number {
  const vmf = k.vmFlags(p, va);
  if (vmf === 0) return -EFAULT;
  if (vmf & VM_HUGETLB) return -EFAULT;
  if (!(k.pte(p, va) & PTE_PRESENT) || k.pteFolio(p, va) === ZERO_FOLIO) {
    const r = handle_mm_fault(k, p, va, FAULT_FLAG_WRITE);
    if (r & VM_FAULT_ERROR) return -EFAULT;
  }
  const f = k.pteFolio(p, va);
  if (f < 0 || f === ZERO_FOLIO) return -EINVAL;
  if (k.ftest(f, PG_WRITEBACK)) {
    k.tracing && k.trace('make_secure_pte', `folio #${f} is under writeback: -EAGAIN`);
    return -EAGAIN;
  }
  if (k.fget(f, F_REF) !== expected_page_refs(k, f)) {
    k.tracing && k.trace('make_secure_pte', `folio #${f}: ${k.fget(f, F_REF)} references for ${expected_page_refs(k, f)} expected (pinned or GUP-held): not made secure, -EAGAIN`);
    return -EAGAIN;
  }
  k.fsetFlag(f, PG_SECURE);
  k.tracing && k.trace('gmap_make_secure', `folio #${f} now belongs to the protected guest`);
  return 0;
}
