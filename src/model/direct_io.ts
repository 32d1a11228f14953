// O_DIRECT (fs/iomap/direct-io.c, block/bio.c bio_iov_iter_get_pages, and
// fs/direct-io.c): the user buffer is taken with GUP for the duration of the
// I/O -- FOLL_GET before 6.3, FOLL_PIN (iov_iter_extract_pages) after -- and
// released dirty after a read (bio_set_pages_dirty / bio_release_pages).
//
// Preemption points: between pinning the buffer and the device's transfer, and
// between the transfer and the release (seed 003: "the race window is small").

import { Kernel } from './kernel.js';
import { FOLL_GET, FOLL_PCI_P2PDMA, FOLL_PIN, FOLL_WRITE, folio_store } from './folio.js';
import { gup_fast_fallback, pin_handle_create, unpin_user_pages_dirty_lock, pin_handle_folio } from './gup.js';
import { F_VALUE, PIN_KIND_DIO } from './state.js';
import { filemap_write_and_wait, generic_perform_write, invalidate_inode_page2, filemap_check_errors } from './filemap.js';
import { cpu_load } from './memory.js';
import { check_device_read, check_device_write } from './invariants.js';
import { EFBIG, EINVAL, EFAULT } from './errno.js';

/**
 * The flags the block layer takes an O_DIRECT buffer with: FOLL_GET, FOLL_PIN
 * from 6.3; FOLL_PCI_P2PDMA from 6.2 when the queue can do P2P DMA
 * (5e3e3f2e15df; pinlab's disk is an NVMe device that can).
 */
function dio_gup_flags(k: Kernel): number {
  return (k.on('dio_foll_pin') ? FOLL_PIN : FOLL_GET) | (k.on('foll_pci_p2pdma') ? FOLL_PCI_P2PDMA : 0);
}

/** Step 1 of an O_DIRECT read/write: take the user buffer. Returns a handle or -errno. */
export function dio_get_pages(k: Kernel, p: number, va: number, toMemory: boolean): number {
  const r = gup_fast_fallback(k, p, va, 1, dio_gup_flags(k) | (toMemory ? FOLL_WRITE : 0));
  if (r.err) return r.err;
  return pin_handle_create(k, PIN_KIND_DIO, p, va, r);
}

/**
 * One segment of an O_DIRECT read (disk -> user memory at va) or write (user
 * memory -> disk): 0 flushes the file's dirty cache and takes the buffer, 1
 * is the device's transfer, 2 releases (dirtying after a read) and, after a
 * write, invalidates the cached page. loc[0] holds the buffer's handle.
 * Returns the next segment, or -1 with loc[1] = 0 or -errno.
 */
export function dio_rw_step(
  k: Kernel,
  p: number,
  fi: number,
  idx: number,
  va: number,
  read: boolean,
  seg: number,
  loc: Int32Array,
  procName: (p: number) => string,
): number {
  if (seg === 0) {
    if (idx < 0) return dio_fail(loc, -EINVAL);
    // __iomap_dio_rw(): a read at or beyond i_size returns 0 at once -- nothing flushed, no page taken
    if (read && idx >= k.fileSize(fi)) {
      k.tracing && k.trace('iomap_dio_rw', `O_DIRECT read at page ${idx}, beyond the end of file ${fi}: 0 bytes`);
      return dio_fail(loc, 0);
    }
    if (!read && idx >= k.L.d.filePages) return dio_fail(loc, -EFBIG);
    filemap_write_and_wait(k, fi); // iomap_dio_rw: flush dirty page cache in range first
    // kiocb_write_and_wait() -> filemap_write_and_wait_range() -> filemap_check_errors(): an AS_EIO on the
    // mapping (a write-back error anywhere in the file, lost dirty data) fails this I/O and is cleared
    const werr = filemap_check_errors(k, fi);
    if (werr) return dio_fail(loc, werr);
    if (!read && !invalidate_inode_page2(k, fi, idx)) {
      // iomap_dio_rw(): "If this invalidation fails, let the caller fall back to buffered I/O" (-ENOTBLK; ext4_dio_write_iter)
      k.tracing && k.trace('iomap_dio_rw', `file ${fi} page ${idx} could not be invalidated: buffered write instead`);
      const v = cpu_load(k, p, va);
      if ('signal' in v || 'wait' in v) return dio_fail(loc, -EFAULT);
      const e = generic_perform_write(k, fi, idx, v.value);
      return dio_fail(loc, e);
    }
    const h = dio_get_pages(k, p, va, read);
    if (h < 0) return dio_fail(loc, h);
    loc[0] = h;
    k.tracing && k.trace('iomap_dio_rw', `buffer taken (${k.on('dio_foll_pin') ? 'FOLL_PIN' : 'FOLL_GET'}), bio not yet submitted`);
    return 1; // -- P3: the buffer is held, the transfer has not happened
  }
  const h = loc[0]!;
  const f = pin_handle_folio(k, h, 0);
  if (seg === 1) {
    if (read) {
      check_device_write(k, h, 0, f, procName);
      folio_store(k, f, k.disk(fi, idx), p);
      k.tracing && k.trace('submit_bio', `O_DIRECT read: disk page ${idx} of file ${fi} DMA'd into folio #${f}`);
    } else {
      check_device_read(k, h, 0, f, procName);
      if (idx >= k.fileSize(fi)) k.set(k.L.file(fi) + 1, idx + 1);
      k.setDisk(fi, idx, k.fget(f, F_VALUE));
      k.tracing && k.trace('submit_bio', `O_DIRECT write: folio #${f} DMA'd to disk page ${idx} of file ${fi}`);
    }
    return 2; // -- P3: transferred, pages not yet released
  }
  unpin_user_pages_dirty_lock(k, h, read); // bio_release_pages(): dirty after a read
  if (!read) invalidate_inode_page2(k, fi, idx); // kiocb_invalidate_post_direct_write()
  loc[1] = 0;
  return -1;
}

/** dio_rw_step's failure: loc[1] = e, no next segment. */
function dio_fail(loc: Int32Array, e: number): number {
  loc[1] = e;
  return -1;
}

/** odirect_read / odirect_write run to completion. Returns 0 or -errno. */
export function dio_rw(k: Kernel, p: number, fi: number, idx: number, va: number, read: boolean, procName: (p: number) => string): number {
  const loc = new Int32Array(2);
  for (let seg = 0; seg >= 0; ) seg = dio_rw_step(k, p, fi, idx, va, read, seg, loc, procName);
  return loc[1]!;
}
