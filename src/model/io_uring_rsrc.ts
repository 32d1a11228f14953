// io_uring/rsrc.c io_sqe_buffers_register() -> io_pin_pages(): fixed buffers
// are pinned FOLL_WRITE|FOLL_LONGTERM (always writable, even for write-source
// buffers). 5.1..6.4 io_uring first refused file-backed VMAs itself
// (-EOPNOTSUPP unless hugetlbfs or shmem); 6.5 left the decision to GUP.

import { Kernel } from './kernel.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE } from './folio.js';
import { check_and_migrate_movable_pages, gup_fast_fallback, pin_handle_create } from './gup.js';
import { FIF_SHMEM_ANON, FS_HUGETLBFS, FS_TMPFS, PIN_KIND_GUP } from './state.js';
import { EFAULT, EOPNOTSUPP } from './errno.js';

export function io_sqe_buffer_register(k: Kernel, p: number, va: number, n: number): number {
  if (k.on('io_uring_vma_file_check')) {
    for (let i = 0; i < n; i++) {
      if (va + i >= k.L.d.vpages || k.vmFlags(p, va + i) === 0) return -EFAULT;
      const fi = k.vmFile(p, va + i);
      if (fi < 0) continue;
      const fs = k.fileFs(fi);
      const shmem = fs === FS_TMPFS || (k.fileFlags(fi) & FIF_SHMEM_ANON) !== 0;
      if (fs !== FS_HUGETLBFS && !shmem) {
        k.trace('io_sqe_buffer_register', 'file-backed buffer refused by io_uring itself');
        return -EOPNOTSUPP;
      }
    }
  }
  const kind = k.on('foll_pin') ? FOLL_PIN : FOLL_GET;
  const foll = kind | FOLL_WRITE | FOLL_LONGTERM;
  const get = () => gup_fast_fallback(k, p, va, n, foll);
  const r = check_and_migrate_movable_pages(k, get(), get);
  if (r.err) return r.err;
  return pin_handle_create(k, PIN_KIND_GUP, p, va, r);
}
