// mm/filemap.c, mm/page-writeback.c, mm/truncate.c and the ext4 bits they
// call (fs/ext4/inode.c): the page cache, buffered I/O, writeback, truncation.

import { Kernel, ZONE_EXPLICIT } from './kernel.js';
import { folio_mark_dirty, folio_put, folio_store, fs_prepare_write } from './folio.js';
import {
  F_MAPPING,
  F_INDEX,
  F_VALUE,
  F_REF,
  F_MAPCOUNT,
  FS_EXT4,
  FS_HUGETLBFS,
  FS_P2PDMA,
  PG_P2PDMA,
  FI_SIZE,
  FI_FLAGS,
  FIF_EIO,
  FIF_WB_ERR,
  PG_DIRTY,
  PG_FS_WRITABLE,
  PG_HUGETLB,
  PG_LARGE,
  PG_LRU,
  PG_PRIVATE,
  PG_SECURE,
  PG_UPTODATE,
  PG_WRITEBACK,
  PTE_DIRTY,
  PTE_WRITE,
  VM_SHARED,
} from './state.js';
import { rmap_walk, mapping_walk } from './rmap.js';
import { mmu_notifier_invalidate } from './mmu_notifier.js';
import { zap_pte } from './memory.js';
import { EIO } from './errno.js';
import { check_evict, check_fs_modify, check_secure_io, check_writeback_done } from './invariants.js';

/** filemap_fault() / shmem_fault() / hugetlb_no_page(): find the page-cache folio, reading it in if absent. */
export function filemap_fault(k: Kernel, fi: number, idx: number): number {
  const cf = k.cachedFolio(fi, idx);
  if (cf >= 0) return cf;
  const fs = k.fileFs(fi);
  const huge = fs === FS_HUGETLBFS ? PG_HUGETLB | PG_LARGE : 0;
  // P2PDMA: ZONE_DEVICE pages of the BAR, never on the LRU (p2pmem_alloc_mmap maps them at mmap time)
  const kind = fs === FS_P2PDMA ? PG_P2PDMA | ZONE_EXPLICIT : PG_LRU;
  const f = k.allocFolio(PG_UPTODATE | kind | huge, k.disk(fi, idx)); // the allocation ref becomes the cache's
  k.fset(f, F_MAPPING, fi + 1);
  k.fset(f, F_INDEX, idx);
  k.setCachedFolio(fi, idx, f);
  k.tracing && k.trace('filemap_add_folio', `file ${fi} page ${idx} read into folio #${f}`);
  return f;
}

/** What the file holds at idx: the page cache if cached (it is newer), else the disk. */
export function file_content(k: Kernel, fi: number, idx: number): number {
  const f = k.cachedFolio(fi, idx);
  return f >= 0 ? k.fget(f, F_VALUE) : k.disk(fi, idx);
}

/** What is on the storage at idx (memory filesystems: their pages). */
export function disk_content(k: Kernel, fi: number, idx: number): number {
  return k.fileFs(fi) === FS_EXT4 ? k.disk(fi, idx) : file_content(k, fi, idx);
}

/** generic_perform_write(): ext4_write_begin tells the fs, the copy lands, the folio is dirtied. */
export function generic_perform_write(k: Kernel, fi: number, idx: number, value: number): number {
  if (idx >= k.L.d.filePages) return -27; // EFBIG
  if (idx >= k.fileSize(fi)) k.set(k.L.file(fi) + FI_SIZE, idx + 1);
  const f = filemap_fault(k, fi, idx);
  fs_prepare_write(k, f);
  folio_store(k, f, value, -1);
  folio_mark_dirty(k, f);
  k.tracing && k.trace('generic_perform_write', `file ${fi} page ${idx} = folio #${f}, dirty`);
  return 0;
}

/** filemap_read(): buffered read through the page cache. */
export function filemap_read(k: Kernel, fi: number, idx: number): number {
  if (idx >= k.fileSize(fi)) return 0;
  return k.fget(filemap_fault(k, fi, idx), F_VALUE);
}

/**
 * folio_mkclean() (mm/rmap.c): write-protect and clean every shared PTE that
 * maps the folio, telling secondary MMUs first. Returns whether any PTE was dirty.
 */
export function folio_mkclean(k: Kernel, f: number): boolean {
  let dirty = false;
  rmap_walk(k, f, (p, va) => {
    if (!(k.vmFlags(p, va) & VM_SHARED)) return;
    const bits = k.pte(p, va);
    mmu_notifier_invalidate(k, p, va, 'page_mkclean');
    if (bits & (PTE_WRITE | PTE_DIRTY)) {
      if (bits & PTE_DIRTY) dirty = true;
      k.setPteBits(p, va, bits & ~(PTE_WRITE | PTE_DIRTY));
    }
  });
  return dirty;
}

/**
 * folio_clear_dirty_for_io() (mm/page-writeback.c): page_mkclean, transfer
 * PTE dirtiness, then test-and-clear the folio's dirty bit. From here the fs
 * must be told (page_mkwrite) before the page may be written again.
 */
export function folio_clear_dirty_for_io(k: Kernel, f: number): boolean {
  if (folio_mkclean(k, f)) folio_mark_dirty(k, f);
  const was = k.ftest(f, PG_DIRTY);
  k.fclearFlag(f, PG_DIRTY | PG_FS_WRITABLE);
  k.tracing && k.trace('folio_clear_dirty_for_io', `folio #${f} write-protected and cleaned${was ? '' : ' (was clean)'}`);
  return was;
}

/**
 * Write one dirty page of file fi (write_cache_pages -> ext4_writepages ->
 * mpage_prepare_extent_to_map / ext4_writepage): the first half cleans, the
 * second does the I/O. The explorer may run other threads between them.
 */
export function writeback_folio_start(k: Kernel, fi: number, idx: number): number {
  const f = k.cachedFolio(fi, idx);
  if (f < 0 || !k.ftest(f, PG_DIRTY) || k.ftest(f, PG_WRITEBACK)) return -1;
  // mpage_prepare_extent_to_map() tests the buffers while the page is still dirty and mapped as it was, before
  // clear_page_dirty_for_io() (which mpage_submit_page() does later). The dirtying itself was already reported
  // (UNTRACKED_DIRTY at folio_mark_dirty): what the kernel does here is only what happens next.
  if (!k.ftest(f, PG_PRIVATE)) {
    if (k.on('ext4_bufferless_warn')) {
      // cc5095747edf: ext4_warning_inode(), ClearPageDirty() -- no page_mkclean: the PTEs stay writable and dirty
      k.sink.note(`ext4: page ${idx} of file ${fi} does not have buffers attached (warning; dirty cleared, page skipped, its data not written)`);
      k.fclearFlag(f, PG_DIRTY);
      k.tracing && k.trace('mpage_prepare_extent_to_map', `folio #${f} has no buffers: warn, ClearPageDirty, skip`);
    } else {
      // page_buffers(): BUG_ON(!PagePrivate) -- the writer dies holding the page lock; the page stays dirty and locked
      k.sink.note(`kernel BUG at fs/ext4/inode.c: mpage_prepare_extent_to_map() on a dirty page without buffers (file ${fi} page ${idx}); the page stays locked, later writeback of it would hang (pinlab goes on)`);
      k.tracing && k.trace('mpage_prepare_extent_to_map', `folio #${f} has no buffers: BUG`);
    }
    return -1;
  }
  if (!folio_clear_dirty_for_io(k, f)) return -1;
  // __folio_start_writeback() -> arch_make_folio_accessible()
  if (k.ftest(f, PG_SECURE) && k.on('arch_make_page_accessible_writeback') && k.on('s390_pv')) {
    k.fclearFlag(f, PG_SECURE);
    k.tracing && k.trace('arch_make_page_accessible', `folio #${f} exported before writeback`);
  }
  k.fsetFlag(f, PG_WRITEBACK);
  return f;
}

/** The block I/O of writeback: the device reads the page and the disk gets its content. */
export function writeback_folio_io(k: Kernel, fi: number, idx: number, f: number): void {
  check_secure_io(k, f, 'writeback I/O');
  k.setDisk(fi, idx, k.fget(f, F_VALUE));
  k.fclearFlag(f, PG_WRITEBACK);
  k.tracing && k.trace('folio_end_writeback', `file ${fi} page ${idx} written to disk`);
}

/**
 * One segment of write_cache_pages() over file fi: finish the I/O of the page
 * started last time (loc[1] >= 0), then clean the next dirty page and stop
 * before its I/O (P4). loc[0] = next page index, loc[1] = folio awaiting I/O
 * (start with loc[0] = 0, loc[1] = -1). Returns true when the file is done.
 */
export function writeback_step(k: Kernel, fi: number, loc: Int32Array, sync = false): boolean {
  if (k.fileFs(fi) !== FS_EXT4) return true; // shmem/hugetlbfs/guest memory have no backing store to write
  if (loc[1]! >= 0) {
    writeback_folio_io(k, fi, loc[0]!, loc[1]!);
    loc[1] = -1;
    loc[0] = loc[0]! + 1;
  }
  while (loc[0]! < k.fileSize(fi)) {
    // WB_SYNC_ALL (fsync): folio_wait_writeback() on a page another writer has in flight, then write it
    // again if it was dirtied meanwhile; background writeback (WB_SYNC_NONE) skips it
    const cf = k.cachedFolio(fi, loc[0]!);
    if (sync && cf >= 0 && k.ftest(cf, PG_WRITEBACK)) return false;
    const f = writeback_folio_start(k, fi, loc[0]!);
    if (f >= 0) {
      loc[1] = f;
      return false; // -- P4: cleaned and write-protected, I/O not yet done
    }
    loc[0] = loc[0]! + 1;
  }
  check_writeback_done(k, fi);
  return true;
}

/** sys writeback(F) / fsync(F) run to completion (filemap_write_and_wait_range). */
export function filemap_write_and_wait(k: Kernel, fi: number, sync = false): void {
  // (scratch locals, reused: the explorer runs this once per O_DIRECT read or write it expands)
  const loc = WB_LOCS.pop() ?? new Int32Array(2);
  loc[0] = 0;
  loc[1] = -1;
  try {
    // run atomically, nothing else has I/O in flight: a sync pass never waits (the bound is a guard)
    for (let n = 0; !writeback_step(k, fi, loc, sync); n++) if (n > 4 * k.L.d.filePages + 4) break;
  } finally {
    WB_LOCS.push(loc);
  }
}
const WB_LOCS: Int32Array[] = [];

/**
 * file_check_and_advance_wb_err(): fsync() reports an error recorded on the
 * mapping's errseq once (per open file; pinlab has one per file), and clears
 * AS_EIO "to emulate the effect that the legacy code would have had".
 */
export function fsync_result(k: Kernel, fi: number): number {
  const fl = k.L.file(fi) + FI_FLAGS;
  const err = k.s[fl]! & FIF_WB_ERR;
  k.set(fl, k.s[fl]! & ~(FIF_WB_ERR | FIF_EIO));
  return err ? -EIO : 0;
}

/** filemap_check_errors(): AS_EIO, reported once to whichever flush looks first (an O_DIRECT read's, say). */
export function filemap_check_errors(k: Kernel, fi: number): number {
  const fl = k.L.file(fi) + FI_FLAGS;
  if (!(k.s[fl]! & FIF_EIO)) return 0;
  k.set(fl, k.s[fl]! & ~FIF_EIO);
  return -EIO;
}

/** Does truncation down to `pages` have to wait for writeback (truncate_inode_pages_range: folio_wait_writeback)? */
export function truncate_must_wait(k: Kernel, fi: number, pages: number): boolean {
  for (let idx = pages; idx < k.fileSize(fi); idx++) {
    const f = k.cachedFolio(fi, idx);
    if (f >= 0 && k.ftest(f, PG_WRITEBACK)) return true;
  }
  return false;
}

/** filemap_release_folio() -> ext4's try_to_free_buffers(): clean, idle buffers can go. */
export function filemap_release_folio(k: Kernel, f: number): boolean {
  if (!k.ftest(f, PG_PRIVATE)) return true;
  if (k.ftest(f, PG_DIRTY) || k.ftest(f, PG_WRITEBACK)) return false;
  k.fclearFlag(f, PG_PRIVATE);
  k.tracing && k.trace('try_to_free_buffers', `folio #${f}: buffers released`);
  return true;
}

/** __filemap_remove_folio() + the cache's reference: the folio leaves the page cache. */
export function filemap_remove_folio(k: Kernel, fi: number, idx: number, f: number): void {
  check_evict(k, fi, idx, f);
  k.setCachedFolio(fi, idx, -1);
  k.fset(f, F_MAPPING, 0);
  k.fclearFlag(f, PG_DIRTY | PG_PRIVATE | PG_FS_WRITABLE | PG_LRU);
  k.tracing && k.trace('filemap_remove_folio', `file ${fi} page ${idx}: folio #${f} removed from the page cache`);
  folio_put(k, f);
}

/** remove_mapping() / __remove_mapping(): succeeds only if the cache holds the only reference (page_ref_freeze). */
export function remove_mapping(k: Kernel, fi: number, idx: number, f: number): boolean {
  if (k.fget(f, F_REF) !== 1 || k.fget(f, F_MAPCOUNT) !== 0) return false;
  filemap_remove_folio(k, fi, idx, f);
  return true;
}

/** ftruncate(): truncate_setsize -> truncate_pagecache -> unmap_mapping_range(even_cows) + truncate_inode_pages. */
export function do_truncate(k: Kernel, fi: number, pages: number): number {
  if (pages > k.L.d.filePages) return -27; // EFBIG
  const old = k.fileSize(fi);
  k.set(k.L.file(fi) + FI_SIZE, pages);
  for (let idx = pages; idx < old; idx++) {
    mapping_walk(k, fi, idx, (p, va) => zap_pte(k, p, va, 'truncate'));
    const f = k.cachedFolio(fi, idx);
    if (f >= 0) {
      k.setCachedFolio(fi, idx, -1);
      k.fset(f, F_MAPPING, 0);
      k.fclearFlag(f, PG_DIRTY | PG_PRIVATE | PG_FS_WRITABLE | PG_LRU);
      k.tracing && k.trace('truncate_inode_folio', `file ${fi} page ${idx}: folio #${f} truncated`);
      folio_put(k, f);
    }
    k.setDisk(fi, idx, 0); // ext4_truncate() frees the blocks: a file grown again reads a hole
  }
  for (let idx = old; idx < pages; idx++) k.setDisk(fi, idx, 0);
  return 0;
}

/**
 * invalidate_inode_pages2_range() for one page (around an O_DIRECT write):
 * unmap it, then invalidate_complete_folio2() -- which "ignores the page's
 * refcount": a clean page whose buffers can go leaves the page cache even if a
 * pin or GUP reference holds it (the holder keeps an orphan). Only a dirty page
 * or busy buffers make it fail (-EBUSY; "page cache invalidation failure" is
 * printed after the write). Read in 5.10.262 mm/truncate.c:648-680 and
 * 6.12.117 :568-600.
 */
export function invalidate_inode_page2(k: Kernel, fi: number, idx: number): boolean {
  const f = k.cachedFolio(fi, idx);
  if (f < 0) return true;
  rmap_walk(k, f, (p, va) => zap_pte(k, p, va, 'invalidate_inode_pages2'));
  if (k.ftest(f, PG_DIRTY) || k.ftest(f, PG_WRITEBACK)) return false;
  if (!filemap_release_folio(k, f)) return false;
  k.setCachedFolio(fi, idx, -1);
  k.fset(f, F_MAPPING, 0);
  k.fclearFlag(f, PG_LRU | PG_FS_WRITABLE);
  if (k.fget(f, F_REF) > 1) k.tracing && k.trace('invalidate_complete_folio2', `file ${fi} page ${idx}: folio #${f} leaves the page cache although still referenced (orphaned)`);
  else k.tracing && k.trace('invalidate_complete_folio2', `file ${fi} page ${idx}: folio #${f} leaves the page cache`);
  folio_put(k, f);
  return true;
}

/** drop_caches: invalidate_mapping_pages() over every file -- clean, idle pages only. */
export function drop_pagecache(k: Kernel): void {
  for (let fi = 0; fi < k.L.d.files; fi++) {
    if (k.fileFs(fi) !== FS_EXT4) continue;
    for (let idx = 0; idx < k.fileSize(fi); idx++) {
      const f = k.cachedFolio(fi, idx);
      if (f < 0 || k.ftest(f, PG_DIRTY) || k.ftest(f, PG_WRITEBACK)) continue;
      // mapping_evict_folio() (e41c81d0d30e, 5.18): "the refcount will be elevated if any page in the folio is
      // mapped" -- any reference beyond the cache's keeps the folio and its buffers. Before, invalidate_inode_page()
      // tested page_mapped() only, so an unmapped pinned page lost its buffers and then stayed (remove_mapping fails).
      if (k.on('evict_checks_refcount') ? k.fget(f, F_REF) > 1 : k.fget(f, F_MAPCOUNT) > 0) continue;
      if (!filemap_release_folio(k, f)) continue;
      remove_mapping(k, fi, idx, f);
    }
  }
}

/** A kernel write into a file folio that did not go through the fs (GUP user, device). */
export function note_untracked_write(k: Kernel, f: number, how: string): void {
  check_fs_modify(k, f, how);
}
