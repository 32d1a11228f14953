// fs/proc/base.c mem_rw() -> access_remote_vm() -> __access_remote_vm():
// get_user_pages_remote(FOLL_FORCE|FOLL_WRITE) and a kernel write into the
// page through kmap (copy_to_user_page), then set_page_dirty_lock + put_page.
// Fails with EIO when GUP fails.

import { Kernel } from './kernel.js';
import { FOLL_FORCE, FOLL_GET, FOLL_WRITE, folio_mark_dirty, folio_store, gup_put_folio } from './folio.js';
import { __get_user_pages } from './gup.js';
import { check_fs_modify, check_private_write } from './invariants.js';
import { EIO } from './errno.js';

export function mem_rw_write(k: Kernel, p: number, va: number, value: number): number {
  const r = __get_user_pages(k, p, va, 1, FOLL_GET | FOLL_FORCE | FOLL_WRITE);
  if (r.err) return -EIO;
  const f = r.folios[0]!;
  check_private_write(k, f, r.viaPrivate[0]!, '/proc/pid/mem write');
  check_fs_modify(k, f, 'a /proc/pid/mem write');
  folio_store(k, f, value, p);
  folio_mark_dirty(k, f); // set_page_dirty_lock()
  gup_put_folio(k, f, r.flags);
  k.trace('access_remote_vm', `wrote folio #${f}`);
  return 0;
}
