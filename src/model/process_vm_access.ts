// mm/process_vm_access.c process_vm_rw_core() -> process_vm_rw_single_vec():
// pin_user_pages_remote(target, FOLL_WRITE) (get_user_pages_remote before 5.6),
// copy into the page, unpin_user_pages_dirty_lock(). No FOLL_FORCE: a read-only
// mapping gives EFAULT. The syzbot reproducer of the ext4 writeback BUG
// (cc5095747edf) used it on a MAP_SHARED ext4 mapping.

import { Kernel } from './kernel.js';
import { FOLL_GET, FOLL_PIN, FOLL_WRITE, folio_store } from './folio.js';
import { __get_user_pages, pin_handle_create, unpin_user_pages_dirty_lock } from './gup.js';
import { check_fs_modify, check_private_write } from './invariants.js';
import { PIN_KIND_GUP } from './state.js';
import { EFAULT } from './errno.js';

/** Write value into target's page at va on behalf of process `by`. Returns 0 or -errno. */
export function process_vm_writev(k: Kernel, by: number, target: number, va: number, value: number): number {
  const foll = (k.on('foll_pin') ? FOLL_PIN : FOLL_GET) | FOLL_WRITE;
  const r = __get_user_pages(k, target, va, 1, foll);
  if (r.err) return -EFAULT; // `if (pinned_pages <= 0) return -EFAULT;` whatever GUP said (EREMOTEIO, ENOMEM...)
  const f = r.folios[0]!;
  check_private_write(k, f, r.viaPrivate[0]!, 'process_vm_writev');
  check_fs_modify(k, f, 'a process_vm_writev copy');
  folio_store(k, f, value, by);
  const h = pin_handle_create(k, PIN_KIND_GUP, target, va, r);
  unpin_user_pages_dirty_lock(k, h, true);
  k.tracing && k.trace('process_vm_rw_single_vec', `copied into folio #${f} of the target`);
  return 0;
}
