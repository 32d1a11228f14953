// io_uring/rsrc.c io_sqe_buffer_register() (5.1-6.12, fs/io_uring.c before
// 5.19) -> io_pin_pages(): fixed buffers are pinned FOLL_WRITE|FOLL_LONGTERM
// (always writable, even for write-source buffers).
//
// Order of operations, read in 5.10.262 io_uring/io_uring.c:8943-8975 and
// 6.1.192 io_uring/rsrc.c:1004-1035: GUP first (pin_user_pages(), with all its
// faults, COW breaks and long-term migrations), then -- until 6.5 -- io_uring's
// own look at the VMAs the pages came from, and on refusal unpin_user_pages()
// (no dirtying). So a GUP error wins over the file check, and a refused buffer
// has already been faulted in. 6.5 (34ed8d0dcd69) left the decision to GUP.

import { Kernel } from './kernel.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, gup_put_folio } from './folio.js';
import { check_and_migrate_movable_pages, gup_fast_fallback, pin_handle_create } from './gup.js';
import { FIF_SHMEM_ANON, FS_HUGETLBFS, FS_TMPFS, PIN_KIND_GUP, VM_HUGETLB } from './state.js';
import { EFAULT, EINVAL, EOPNOTSUPP } from './errno.js';

/**
 * vma->vm_file as io_uring compares it: a private MAP_HUGETLB mapping has a
 * hugetlbfs file of its own in the kernel (pinlab gives it none), so each such
 * VMA counts as a distinct file; plain anonymous memory has none (-1).
 */
function vm_file_id(k: Kernel, p: number, va: number): number {
  const fi = k.vmFile(p, va);
  if (fi >= 0 || !(k.vmFlags(p, va) & VM_HUGETLB)) return fi;
  let start = va;
  while (start > 0 && k.vmFlags(p, start - 1) === k.vmFlags(p, va) && k.vmFile(p, start - 1) < 0) start--;
  return -2 - start;
}

/** The VMA check of io_sqe_buffer_register() (5.1-6.4) on the pinned range: 0, -EINVAL or -EOPNOTSUPP. */
function io_buffer_vma_check(k: Kernel, p: number, va: number, n: number): number {
  const first = vm_file_id(k, p, va);
  for (let i = 0; i < n; i++) {
    const fi = k.vmFile(p, va + i);
    // edd478269640 (6.3, reverted in 6.4; kept in 5.10.173+, 5.15.99+, 6.1.16+): one file for the whole buffer
    if (k.on('io_uring_same_file_buffers') && vm_file_id(k, p, va + i) !== first) {
      k.tracing && k.trace('io_sqe_buffer_register', 'the buffer spans mappings of different files: -EINVAL');
      return -EINVAL;
    }
    if (fi < 0) continue;
    const fs = k.fileFs(fi);
    // vma_is_shmem() is accepted from 5.14 (40dad765c045); hugetlbfs from the start
    const shmem = (fs === FS_TMPFS || (k.fileFlags(fi) & FIF_SHMEM_ANON) !== 0) && k.on('io_uring_shmem_buffers');
    if (fs !== FS_HUGETLBFS && !shmem) {
      k.tracing && k.trace('io_sqe_buffer_register', 'file-backed buffer refused by io_uring itself after pinning it: unpin_user_pages(), -EOPNOTSUPP');
      return -EOPNOTSUPP;
    }
  }
  return 0;
}

/** io_sqe_buffer_register(): pin the buffer, then (until 6.5) check where the pages came from. */
export function io_sqe_buffer_register(k: Kernel, p: number, va: number, n: number): number {
  const kind = k.on('foll_pin') ? FOLL_PIN : FOLL_GET;
  const foll = kind | FOLL_WRITE | FOLL_LONGTERM;
  const get = () => gup_fast_fallback(k, p, va, n, foll);
  const r = check_and_migrate_movable_pages(k, get(), get);
  // `if (pret == nr_pages) ... else ret = pret < 0 ? pret : -EFAULT;` -- GUP's errno only when the first page failed;
  // a later page makes a short count: the prefix is unpinned and the registration fails with EFAULT
  if (r.err) return r.failedAt ? -EFAULT : r.err;
  if (k.on('io_uring_vma_file_check')) {
    const err = io_buffer_vma_check(k, p, va, n);
    if (err) {
      for (const f of r.folios) gup_put_folio(k, f, r.flags);
      return err;
    }
  }
  return pin_handle_create(k, PIN_KIND_GUP, p, va, r);
}
