// Guest-private memory: the restrictedmem proposal (memfd_restricted, v10,
// never merged) and guest_memfd (virt/kvm/guest_memfd.c, 6.8). Neither can be
// mapped by the host, so GUP never reaches it; KVM reaches it by file offset.

import { Kernel } from './kernel.js';
import { FIF_RESTRICTED_AOPS, FIF_UNMOVABLE, FI_VA, FS_GUEST } from './state.js';
import { alloc_file, get_unmapped_area } from './mmap.js';

/** memfd_restricted(pages) / KVM_CREATE_GUEST_MEMFD. Returns the file index. */
export function guest_memfd_create(k: Kernel, pages: number): number {
  let flags = 0;
  if (k.on('guest_memfd')) flags |= FIF_UNMOVABLE; // AS_UNMOVABLE (0003e2a41468)
  else if (k.on('restricted_aops')) flags |= FIF_RESTRICTED_AOPS;
  const fi = alloc_file(k, FS_GUEST, pages, flags);
  k.set(k.L.file(fi) + FI_VA, get_unmapped_area(k, pages)); // the guest-physical range KVM uses for it
  k.tracing && k.trace(k.on('guest_memfd') ? 'kvm_gmem_create' : 'memfd_restricted', `file ${fi}, ${pages} page(s)`);
  return fi;
}
