// A DMA-capable device (NIC, GPU, RDMA HCA): it reads and writes the physical
// pages a pin handle names, never the process's page tables.

import { Kernel } from './kernel.js';
import { folio_store } from './folio.js';
import { pin_handle_active, pin_handle_folio, pin_handle_npages } from './gup.js';
import { F_VALUE, K_OWNER, KP_FLAGS, KPF_PRIVATE_MAPPING } from './state.js';
import { check_device_read, check_device_write, check_private_write } from './invariants.js';
import { EINVAL } from './errno.js';

/**
 * A driver that let its pages go and still points the device at them: the kernel does not know
 * (no refcount check sits between a device and memory), so the access happens to whatever the
 * page is now -- named ACCESS_AFTER_RELEASE, and USE_AFTER_FREE as well when it was freed.
 */
function check_access_after_release(k: Kernel, h: number, what: string): void {
  if (!pin_handle_active(k, h)) k.violate('ACCESS_AFTER_RELEASE', `a device ${what} through a handle whose pages were released: the driver holds no reference to them`);
}

export function dma_write(k: Kernel, h: number, i: number, value: number, procName: (p: number) => string): number {
  if (i < 0 || i >= pin_handle_npages(k, h)) return -EINVAL;
  const f = pin_handle_folio(k, h, i);
  if (f < 0) return -EINVAL;
  check_access_after_release(k, h, 'write');
  check_device_write(k, h, i, f, procName);
  check_private_write(k, f, (k.s[k.L.pinPage(h, i) + KP_FLAGS]! & KPF_PRIVATE_MAPPING) !== 0, 'a device write');
  folio_store(k, f, value, k.s[k.L.pin(h) + K_OWNER]! - 1);
  k.tracing && k.trace('dma_write', `device wrote folio #${f}`);
  return 0;
}

export function dma_read(k: Kernel, h: number, i: number, procName: (p: number) => string): number | { err: number } {
  if (i < 0 || i >= pin_handle_npages(k, h)) return { err: -EINVAL };
  const f = pin_handle_folio(k, h, i);
  if (f < 0) return { err: -EINVAL };
  check_access_after_release(k, h, 'read');
  check_device_read(k, h, i, f, procName);
  k.tracing && k.trace('dma_read', `device read folio #${f}`);
  return k.fget(f, F_VALUE);
}
