// fs/proc/base.c mem_rw() -> access_remote_vm() -> __access_remote_vm():
// get_user_pages_remote(FOLL_FORCE|FOLL_WRITE) and a kernel write into the
// page through kmap (copy_to_user_page), then set_page_dirty_lock + put_page.
// Fails with EIO when GUP fails. The GUP part can stop at P1.

import { Kernel } from './kernel.js';
import { FOLL_FORCE, FOLL_GET, FOLL_WRITE, folio_mark_dirty, folio_store, gup_put_folio } from './folio.js';
import { GC_ERR, gup_cursor_init, gup_cursor_result, gup_cursor_step } from './gup.js';
import { check_fs_modify, check_private_write } from './invariants.js';
import { EIO } from './errno.js';

const FLAGS = FOLL_GET | FOLL_FORCE | FOLL_WRITE;

/**
 * One segment of a /proc/pid/mem write; loc is a GUP cursor. Returns false
 * when GUP stopped after a fault (P1, mmap_lock held for read), true when done;
 * the result is then 0 or -EIO (mem_rw_write_result).
 */
export function mem_rw_write_step(k: Kernel, p: number, va: number, value: number, first: boolean, loc: Int32Array): boolean {
  if (first) gup_cursor_init(k, p, FLAGS, loc);
  if (!gup_cursor_step(k, p, va, 1, FLAGS, loc)) return false;
  if (loc[GC_ERR]) return true;
  const r = gup_cursor_result(loc, 1);
  const f = r.folios[0]!;
  check_private_write(k, f, r.viaPrivate[0]!, '/proc/pid/mem write');
  check_fs_modify(k, f, 'a /proc/pid/mem write');
  folio_store(k, f, value, p);
  folio_mark_dirty(k, f); // set_page_dirty_lock()
  gup_put_folio(k, f, r.flags);
  k.tracing && k.trace('access_remote_vm', `wrote folio #${f}`);
  return true;
}

export function mem_rw_write_result(loc: Int32Array): number {
  return loc[GC_ERR] ? -EIO : 0;
}
