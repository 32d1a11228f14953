// fs/splice.c vmsplice_to_pipe() -> iter_to_pipe() -> iov_iter_get_pages2():
// FOLL_GET references on the user pages held by pipe buffers (never FOLL_PIN,
// so no unshare and no MMF_HAS_PINNED on any version).

import { Kernel } from './kernel.js';
import { FOLL_GET } from './folio.js';
import { gup_fast_fallback, pin_handle_create, pin_handle_folio, pin_handle_release_page } from './gup.js';
import { F_VALUE, KP_FLAGS, KPF_CONSUMED, PIN_KIND_PIPE } from './state.js';
import { check_observe } from './invariants.js';
import { EAGAIN, EINVAL } from './errno.js';

/**
 * vmsplice(fd, iov, n, 0): returns a pipe handle or -errno. iter_to_pipe()
 * keeps what iov_iter_get_pages got: a range that goes bad after its first page
 * splices the good prefix (a short count); only a bad first page is an error.
 */
export function vmsplice_to_pipe(k: Kernel, p: number, va: number, n: number): number {
  let r = gup_fast_fallback(k, p, va, n, FOLL_GET);
  if (r.err && r.failedAt) {
    // internal_get_user_pages_fast(): "returning -errno is not an option" once pages were taken
    const got = r.failedAt;
    r = gup_fast_fallback(k, p, va, got, FOLL_GET);
    if (!r.err) k.tracing && k.trace('iter_to_pipe', `page ${got} could not be taken: ${got} of ${n} page(s) spliced`);
  }
  if (r.err) return r.err;
  const h = pin_handle_create(k, PIN_KIND_PIPE, p, va, r);
  k.tracing && k.trace('vmsplice_to_pipe', `${r.folios.length} page(s) referenced by pipe buffers`);
  return h;
}

/** read(pipe): copy out one buffer (pipe_read) and release its page (anon_pipe_buf_release). */
export function pipe_read(k: Kernel, reader: number, h: number, i: number, procName: (p: number) => string): number | { err: number } {
  if (i < 0 || i >= k.s[k.L.pin(h) + 3]!) return { err: -EINVAL };
  const q = k.L.pinPage(h, i);
  if (k.s[q + KP_FLAGS]! & KPF_CONSUMED) return { err: -EAGAIN };
  const f = pin_handle_folio(k, h, i);
  const v = k.fget(f, F_VALUE);
  check_observe(k, reader, f, procName);
  pin_handle_release_page(k, h, i);
  k.set(q + KP_FLAGS, k.s[q + KP_FLAGS]! | KPF_CONSUMED);
  return v;
}
