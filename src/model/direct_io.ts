// O_DIRECT (fs/iomap/direct-io.c, block/bio.c bio_iov_iter_get_pages, and
// fs/direct-io.c): the user buffer is taken with GUP for the duration of the
// I/O -- FOLL_GET before 6.3, FOLL_PIN (iov_iter_extract_pages) after -- and
// released dirty after a read (bio_set_pages_dirty / bio_release_pages).
//
// Preemption points: between pinning the buffer and the device's transfer, and
// between the transfer and the release (seed 003: "the race window is small").

import { Kernel } from './kernel.js';
import { FOLL_GET, FOLL_PIN, FOLL_WRITE, folio_store } from './folio.js';
import { gup_fast_fallback, pin_handle_create, unpin_user_pages_dirty_lock, pin_handle_folio } from './gup.js';
import { F_VALUE, PIN_KIND_DIO, PG_WRITEBACK } from './state.js';
import { filemap_write_and_wait, invalidate_inode_page2 } from './filemap.js';
import { check_device_read, check_device_write } from './invariants.js';
import { EFBIG, EINVAL } from './errno.js';

function dio_gup_flags(k: Kernel): number {
  return k.on('dio_foll_pin') ? FOLL_PIN : FOLL_GET;
}

/** Step 1 of an O_DIRECT read/write: take the user buffer. Returns a handle or -errno. */
export function dio_get_pages(k: Kernel, p: number, va: number, toMemory: boolean): number {
  const r = gup_fast_fallback(k, p, va, 1, dio_gup_flags(k) | (toMemory ? FOLL_WRITE : 0));
  if (r.err) return r.err;
  return pin_handle_create(k, PIN_KIND_DIO, p, va, r);
}

/** odirect_read(F, i, x): disk -> user memory. */
export function dio_read(k: Kernel, p: number, fi: number, idx: number, va: number, procName: (p: number) => string): number {
  if (idx < 0 || idx >= k.fileSize(fi)) return -EINVAL;
  filemap_write_and_wait(k, fi); // iomap_dio_rw: flush dirty page cache in range first
  const h = dio_get_pages(k, p, va, true);
  if (h < 0) return h;
  // -- preemption point: the buffer is held, the transfer has not happened
  const f = pin_handle_folio(k, h, 0);
  check_device_write(k, h, 0, f, procName);
  folio_store(k, f, k.disk(fi, idx), p);
  k.trace('submit_bio', `O_DIRECT read: disk page ${idx} of file ${fi} DMA'd into folio #${f}`);
  // -- preemption point: the transfer is done, the pages are not yet released
  unpin_user_pages_dirty_lock(k, h, true);
  return 0;
}

/** odirect_write(F, i, x): user memory -> disk, then drop the now-stale cached page if it can. */
export function dio_write(k: Kernel, p: number, fi: number, idx: number, va: number, procName: (p: number) => string): number {
  if (idx < 0 || idx >= k.L.d.filePages) return -EFBIG;
  filemap_write_and_wait(k, fi);
  const h = dio_get_pages(k, p, va, false);
  if (h < 0) return h;
  const f = pin_handle_folio(k, h, 0);
  check_device_read(k, h, 0, f, procName);
  if (idx >= k.fileSize(fi)) k.s[k.L.file(fi) + 1] = idx + 1;
  k.setDisk(fi, idx, k.fget(f, F_VALUE));
  k.trace('submit_bio', `O_DIRECT write: folio #${f} DMA'd to disk page ${idx} of file ${fi}`);
  unpin_user_pages_dirty_lock(k, h, false);
  invalidate_inode_page2(k, fi, idx); // kiocb_invalidate_post_direct_write()
  return 0;
}


