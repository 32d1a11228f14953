// arch/s390/kernel/uv.c: a protected (secure-execution) guest takes a page
// (make_secure -> gmap_make_secure). Host I/O must first export it
// (arch_make_page_accessible); GUP does so for FOLL_PIN, writeback does at
// writeback start (f28d43636d6f, 5.7).

import { Kernel } from './kernel.js';
import { PG_SECURE, PTE_PRESENT } from './state.js';
import { handle_mm_fault, FAULT_FLAG_WRITE, VM_FAULT_ERROR } from './memory.js';
import { EFAULT, EINVAL } from './errno.js';
import { ZERO_FOLIO } from './kernel.js';

export function gmap_make_secure(k: Kernel, p: number, va: number): number {
  if (k.vmFlags(p, va) === 0) return -EFAULT;
  if (!(k.pte(p, va) & PTE_PRESENT) || k.pteFolio(p, va) === ZERO_FOLIO) {
    const r = handle_mm_fault(k, p, va, FAULT_FLAG_WRITE);
    if (r & VM_FAULT_ERROR) return -EFAULT;
  }
  const f = k.pteFolio(p, va);
  if (f < 0 || f === ZERO_FOLIO) return -EINVAL;
  k.fsetFlag(f, PG_SECURE);
  k.trace('gmap_make_secure', `folio #${f} now belongs to the protected guest`);
  return 0;
}
