// The model's one narrow interface: a resolved operation in, a result out.
// The interpreter (and the explorer) build ModelOps from the scenario; nothing
// here knows about names, lines or the language.

import { Kernel } from './kernel.js';
import { alloc_file, do_madvise, do_mmap, do_mprotect, do_mremap, do_munmap, exit_mmap } from './mmap.js';
import { process_vm_writev } from './process_vm_access.js';
import { ksm_scan } from './ksm.js';
import { memory_failure } from './memory_failure.js';
import { cpu_load, cpu_store } from './memory.js';
import { dup_mmap } from './fork.js';
import { do_truncate, disk_content, filemap_read, filemap_write_and_wait, fsync_result, generic_perform_write, drop_pagecache } from './filemap.js';
import { __get_user_pages, check_and_migrate_movable_pages, gup_cursor_size, gup_fast_fallback, is_valid_gup_args, pin_handle_create, release_pin_handle } from './gup.js';
import { vmsplice_to_pipe, pipe_read } from './splice.js';
import { io_sqe_buffer_register } from './io_uring_rsrc.js';
import { dio_rw } from './direct_io.js';
import { mem_rw_write_result, mem_rw_write_step } from './proc_mem.js';
import { dma_read, dma_write } from './dma.js';
import { kvm_faultin_pfn, kvm_read, kvm_write } from './mmu_notifier.js';
import { migrate_folio } from './migrate.js';
import { guest_memfd_create } from './guest_memfd.js';
import { gmap_make_secure } from './s390_uv.js';
import { shrink_all } from './vmscan.js';
import { check_observe } from './invariants.js';
import { PG_HWPOISON, FS_P2PDMA, FS_SECRETMEM, FS_TMPFS, F_MAPPING, FI_VA, H_NEXT_FOLIO, PG_ALIVE, PG_ANON, PG_HUGETLB, PIN_KIND_GUP, PIN_LONGTERM_USE, PTE_PRESENT } from './state.js';
import { EFAULT, EIO, ENOSYS } from './errno.js';
import { ModelInvariantError } from './kernel.js';

export type ModelOp =
  | { op: 'mmap'; p: number; file: number; pages: number; prot: number; flags: number }
  | { op: 'munmap'; p: number; va: number; pages: number }
  | { op: 'mremap'; p: number; va: number; pages: number }
  | { op: 'mprotect'; p: number; va: number; pages: number; prot: number }
  | { op: 'madvise'; p: number; va: number; pages: number; advice: string }
  | { op: 'fork'; p: number; child: number }
  | { op: 'exit'; p: number }
  | { op: 'store'; p: number; va: number; value: number }
  | { op: 'load'; p: number; va: number }
  | { op: 'write'; p: number; file: number; idx: number; value: number }
  | { op: 'read'; p: number; file: number; idx: number }
  | { op: 'ftruncate'; p: number; file: number; pages: number }
  | { op: 'fsync'; p: number; file: number }
  /** get_user_pages* / pin_user_pages*: p is the mm walked; owner the caller (same unless _remote) */
  | { op: 'gup'; p: number; va: number; n: number; foll: number; fast: boolean; longtermUse?: boolean }
  | { op: 'unpin'; h: number; dirty: boolean; put: boolean }
  | { op: 'vmsplice'; p: number; va: number; n: number }
  | { op: 'read_pipe'; p: number; h: number; i: number }
  | { op: 'io_uring_register'; p: number; va: number; n: number }
  | { op: 'odirect_read'; p: number; file: number; idx: number; va: number }
  | { op: 'odirect_write'; p: number; file: number; idx: number; va: number }
  | { op: 'proc_mem_write'; p: number; va: number; value: number }
  | { op: 'dma_write'; h: number; i: number; value: number }
  | { op: 'dma_read'; h: number; i: number }
  | { op: 'smmu_map'; s: number; va: number }
  | { op: 'smmu_read'; s: number; va: number }
  | { op: 'smmu_write'; s: number; va: number; value: number }
  | { op: 'writeback'; file: number }
  | { op: 'reclaim' }
  | { op: 'drop_caches' }
  | { op: 'migrate_va'; p: number; va: number }
  | { op: 'migrate_file'; file: number; idx: number }
  | { op: 'compact' }
  | { op: 'ksm_scan' }
  | { op: 'memory_failure'; p: number; va: number; file: number; idx: number }
  | { op: 'make_secure'; p: number; va: number }
  | { op: 'guest_memfd'; p: number; pages: number }
  | { op: 'memfd_create'; p: number; pages: number; secret: boolean }
  | { op: 'p2pmem'; pages: number }
  | { op: 'process_vm_writev'; p: number; target: number; va: number; value: number };

export type OpResult =
  | { kind: 'ok' }
  | { kind: 'value'; v: number }
  | { kind: 'errno'; e: number }
  | { kind: 'signal'; sig: number }
  | { kind: 'pin'; h: number }
  | { kind: 'pipe'; h: number }
  | { kind: 'proc'; p: number }
  | { kind: 'mapping'; va: number }
  | { kind: 'file'; fi: number };

const OK: OpResult = { kind: 'ok' };
function status(r: number): OpResult {
  return r < 0 ? { kind: 'errno', e: -r } : OK;
}
function valueOr(r: number | { err: number }): OpResult {
  return typeof r === 'number' ? { kind: 'value', v: r } : { kind: 'errno', e: -r.err };
}

/** Run one operation on the model. procName names processes in violation details. */
export function apply(k: Kernel, o: ModelOp, procName: (p: number) => string): OpResult {
  switch (o.op) {
    case 'mmap': {
      const r = do_mmap(k, o.p, o.file, o.pages, o.prot, o.flags);
      return r < 0 ? { kind: 'errno', e: -r } : { kind: 'mapping', va: r };
    }
    case 'munmap':
      return status(do_munmap(k, o.p, o.va, o.pages));
    case 'mremap': {
      const r = do_mremap(k, o.p, o.va, o.pages);
      return r < 0 ? { kind: 'errno', e: -r } : { kind: 'mapping', va: r };
    }
    case 'mprotect':
      return status(do_mprotect(k, o.p, o.va, o.pages, o.prot));
    case 'madvise':
      return status(do_madvise(k, o.p, o.va, o.pages, o.advice));
    case 'fork':
      dup_mmap(k, o.p, o.child);
      return { kind: 'proc', p: o.child };
    case 'exit':
      exit_mmap(k, o.p);
      return OK;
    case 'store': {
      const r = cpu_store(k, o.p, o.va, o.value);
      if ('wait' in r) throw new ModelInvariantError('a CPU store waited for a migration outside the explorer');
      return 'signal' in r ? { kind: 'signal', sig: r.signal } : OK;
    }
    case 'load': {
      const r = cpu_load(k, o.p, o.va);
      if ('wait' in r) throw new ModelInvariantError('a CPU load waited for a migration outside the explorer');
      if ('signal' in r) return { kind: 'signal', sig: r.signal };
      check_observe(k, o.p, r.folio, procName);
      return { kind: 'value', v: r.value };
    }
    case 'write':
      return status(generic_perform_write(k, o.file, o.idx, o.value));
    case 'read': {
      // shmem_file_read_iter(): a poisoned page kept in the cache (5.16+) reads as EIO
      const cf = o.idx < k.fileSize(o.file) ? k.cachedFolio(o.file, o.idx) : -1;
      if (cf >= 0 && k.ftest(cf, PG_HWPOISON)) return { kind: 'errno', e: EIO };
      return { kind: 'value', v: filemap_read(k, o.file, o.idx) };
    }
    case 'ftruncate':
      return status(do_truncate(k, o.file, o.pages));
    case 'fsync':
      filemap_write_and_wait(k, o.file, true);
      return status(fsync_result(k, o.file));
    case 'writeback':
      filemap_write_and_wait(k, o.file);
      return OK;
    case 'gup': {
      const bad = is_valid_gup_args(k, o.foll, o.fast);
      if (bad === 1) return { kind: 'pin', h: pin_handle_create(k, PIN_KIND_GUP, o.p, o.va, { err: 0, folios: [], viaPrivate: [], flags: o.foll }) };
      if (bad) return { kind: 'errno', e: -bad };
      const get = () => (o.fast ? gup_fast_fallback(k, o.p, o.va, o.n, o.foll) : __get_user_pages(k, o.p, o.va, o.n, o.foll));
      const r = check_and_migrate_movable_pages(k, get(), get);
      if (r.err) return { kind: 'errno', e: -r.err };
      return { kind: 'pin', h: pin_handle_create(k, PIN_KIND_GUP | (o.longtermUse ? PIN_LONGTERM_USE : 0), o.p, o.va, r) };
    }
    case 'unpin':
      return status(release_pin_handle(k, o.h, o.dirty, o.put));
    case 'vmsplice': {
      const h = vmsplice_to_pipe(k, o.p, o.va, o.n);
      return h < 0 ? { kind: 'errno', e: -h } : { kind: 'pipe', h };
    }
    case 'read_pipe':
      return valueOr(pipe_read(k, o.p, o.h, o.i, procName));
    case 'io_uring_register': {
      const h = io_sqe_buffer_register(k, o.p, o.va, o.n);
      return h < 0 ? { kind: 'errno', e: -h } : { kind: 'pin', h };
    }
    case 'odirect_read':
    case 'odirect_write':
      return status(dio_rw(k, o.p, o.file, o.idx, o.va, o.op === 'odirect_read', procName));
    case 'proc_mem_write': {
      const loc = new Int32Array(gup_cursor_size(1));
      for (let first = true; !mem_rw_write_step(k, o.p, o.va, o.value, first, loc); first = false);
      return status(mem_rw_write_result(loc));
    }
    case 'dma_write':
      return status(dma_write(k, o.h, o.i, o.value, procName));
    case 'dma_read':
      return valueOr(dma_read(k, o.h, o.i, procName));
    case 'smmu_map': {
      const f = kvm_faultin_pfn(k, o.s, o.va, false);
      return f < 0 ? { kind: 'errno', e: -f } : OK;
    }
    case 'smmu_read':
      return valueOr(kvm_read(k, o.s, o.va));
    case 'smmu_write':
      return status(kvm_write(k, o.s, o.va, o.value));
    case 'reclaim':
      shrink_all(k);
      return OK;
    case 'drop_caches':
      drop_pagecache(k);
      return OK;
    case 'migrate_va': {
      const f = k.pte(o.p, o.va) & PTE_PRESENT ? k.pteFolio(o.p, o.va) : -1;
      if (f < 0) return { kind: 'errno', e: EFAULT };
      return status(migrate_folio(k, f));
    }
    case 'migrate_file': {
      const f = o.idx < k.fileSize(o.file) ? k.cachedFolio(o.file, o.idx) : -1;
      if (f < 0) return { kind: 'errno', e: EFAULT };
      return status(migrate_folio(k, f));
    }
    case 'compact': {
      // compact_zone(): try to migrate every movable folio; failures are skipped
      const n = k.s[H_NEXT_FOLIO]!;
      for (let f = 1; f < n; f++) {
        if (!k.ftest(f, PG_ALIVE) || k.ftest(f, PG_HUGETLB)) continue;
        if (!k.ftest(f, PG_ANON) && k.fget(f, F_MAPPING) <= 0) continue;
        migrate_folio(k, f);
      }
      return OK;
    }
    case 'ksm_scan':
      ksm_scan(k);
      return OK;
    case 'memory_failure': {
      const f = o.file >= 0 ? (o.idx < k.fileSize(o.file) ? k.cachedFolio(o.file, o.idx) : -1) : k.pte(o.p, o.va) & PTE_PRESENT ? k.pteFolio(o.p, o.va) : -1;
      if (f < 0) return { kind: 'errno', e: EFAULT };
      return status(memory_failure(k, f));
    }
    case 'make_secure':
      return status(gmap_make_secure(k, o.p, o.va));
    case 'guest_memfd':
      return { kind: 'file', fi: guest_memfd_create(k, o.pages) };
    case 'memfd_create':
      // memfd_secret() (mm/secretmem.c): -ENOSYS unless secretmem.enable (a boot parameter, on by default from 6.5)
      if (o.secret && !k.on('secretmem_enabled')) {
        k.tracing && k.trace('memfd_secret', 'secretmem_enable is off (boot with secretmem.enable=1): -ENOSYS');
        return { kind: 'errno', e: ENOSYS };
      }
      // memfd_create(): a shmem file; memfd_secret(): secretmem, out of the direct map
      return { kind: 'file', fi: alloc_file(k, o.secret ? FS_SECRETMEM : FS_TMPFS, o.pages, 0) };
    case 'p2pmem':
      // pci_p2pdma_add_resource(): a BAR's memory as ZONE_DEVICE pages, handed out by the sysfs allocate file
      return { kind: 'file', fi: alloc_file(k, FS_P2PDMA, o.pages, 0) };
    case 'process_vm_writev':
      return status(process_vm_writev(k, o.p, o.target, o.va, o.value));
  }
}

/** The secondary-MMU address of page idx of a guest-memory file. */
export function guest_file_va(k: Kernel, fi: number, idx: number): number {
  return k.s[k.L.file(fi) + FI_VA]! + idx;
}

/** What the storage holds for file page idx (the `disk(F, i)` predicate). */
export { disk_content };


