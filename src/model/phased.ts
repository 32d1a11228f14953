// Operations the explorer may preempt in the middle. Each call runs one
// segment, from one preemption point to the next, with its locals in `loc`
// (part of the explorer's hashed state). Everything else runs atomically
// through apply(). The points (ARCHITECTURE.md "Preemption points"):
//   P1 __get_user_pages after faultin_page      gup, proc_mem_write, pin_user_pages_fast's slow part
//   P3 O_DIRECT: pinned / transferred / released odirect_read, odirect_write
//   P4 writeback: cleaned (page_mkclean) / I/O    writeback, fsync (per page)
//   P5 reclaim: one folio at a time               reclaim

import { Kernel } from './kernel.js';
import { apply, type ModelOp, type OpResult } from './api.js';
import {
  __get_user_pages,
  check_and_migrate_movable_pages,
  GC_NFAST,
  gup_fast_fallback,
  GC_FOLIOS,
  GC_I,
  gup_fast_grab,
  gup_fast_read_pte,
  mm_write_protect_seq,
  gup_cursor_init,
  gup_cursor_result,
  gup_cursor_size,
  gup_cursor_step,
  pin_handle_create,
  is_valid_gup_args,
} from './gup.js';
import { gup_put_folio } from './folio.js';
import { H_NEXT_FOLIO, PIN_KIND_GUP, PIN_LONGTERM_USE } from './state.js';
import { dio_rw_step } from './direct_io.js';
import { mem_rw_write_result, mem_rw_write_step } from './proc_mem.js';
import { fsync_result, truncate_must_wait, writeback_step } from './filemap.js';
import { shrink_one } from './vmscan.js';
import { kvm_get_pfn, kvm_install_spte, kvm_needs_fault, kvm_unmap_spte } from './mmu_notifier.js';
import { EFAULT } from './errno.js';
import { cpu_load, cpu_store } from './memory.js';
import { migrate_folio_move, migrate_folio_unmap } from './migrate.js';
import { check_observe } from './invariants.js';
import { PTE_PRESENT, VM_SHARED } from './state.js';
import { copy_page_range_next, copy_page_range_one, copy_present_pte_share, dup_mmap_finish, dup_mmap_start } from './fork.js';

export interface PhaseResult {
  /** the next phase, or -1 when the operation finished */
  next: number;
  result: OpResult;
}

/** mmap_lock states kept in the last two locals of a suspended operation (see explorer.ts). */
export const LOCK_NONE = 0;
export const LOCK_READ = 1;
export const LOCK_WRITE = 2;
/** mmap_lock for write and, at fork's P7, the source page table's PTE lock: rmap walkers (reclaim, migration, KSM, memory failure, page_mkclean) wait; only lockless GUP-fast runs */
export const LOCK_PTL = 3;
/** loc[loc.length - 1]: the mmap_lock it holds while suspended; loc[loc.length - 2]: what its next segment needs. */
export function setLock(loc: Int32Array, held: number, need: number): void {
  loc[loc.length - 1] = held;
  loc[loc.length - 2] = need;
}
/** Locals a phased operation may use: the GUP cursor, GUP-fast's snapshot, and the lock words. */
export function phasedLocals(pinPages: number): number {
  return gup_cursor_size(pinPages) + 5 + 2;
}

const OK: OpResult = { kind: 'ok' };
// the explorer runs a segment per transition: the common answers are made once (callers only read them)
const MORE: PhaseResult[] = Array.from({ length: 16 }, (_, next) => ({ next, result: OK }));
const DONE_OK: PhaseResult = { next: -1, result: OK };
const more = (next: number): PhaseResult => MORE[next] ?? { next, result: OK };
const done = (result: OpResult): PhaseResult => (result === OK ? DONE_OK : { next: -1, result });
const status = (r: number): OpResult => (r < 0 ? { kind: 'errno', e: -r } : OK);

/** Locals an operation needs when phased (0: it is atomic). */
export function phaseLocals(op: ModelOp, pinPages: number): number {
  switch (op.op) {
    case 'gup':
    case 'proc_mem_write':
    case 'fork':
    case 'smmu_map':
    case 'smmu_read':
    case 'smmu_write':
      return phasedLocals(Math.max(1, pinPages));
    case 'odirect_read':
    case 'odirect_write':
    case 'writeback':
    case 'fsync':
    case 'reclaim':
      return 4;
    default:
      return 0;
  }
}

/** Run phase `phase` of `op`. Phase 0 starts it. */
export function applyPhase(k: Kernel, op: ModelOp, phase: number, loc: Int32Array, procName: (p: number) => string): PhaseResult {
  switch (op.op) {
    case 'gup': {
      const bad = is_valid_gup_args(k, op.foll, op.fast);
      if (bad === 1) return done({ kind: 'pin', h: pin_handle_create(k, PIN_KIND_GUP, op.p, op.va, { err: 0, folios: [], viaPrivate: [], flags: op.foll }) });
      if (bad) return done({ kind: 'errno', e: -bad });
      const J = loc.length - 7; // GUP-fast's locals (gup_phase_to_slow)
      if (phase === 0) {
        gup_cursor_init(k, op.p, op.foll, loc);
        loc.fill(0, J, loc.length);
        if (!op.fast) {
          loc[J + GF_STAGE] = 2;
        } else {
          loc[J + GF_SEQ] = mm_write_protect_seq(k, op.p, op.foll);
          if (loc[J + GF_SEQ]! & 1) return gup_phase_to_slow(k, op, loc); // a fork is write-protecting: go slow at once
          return gup_phase_read_next(k, op, loc);
        }
      }
      if (loc[J + GF_STAGE] === 1) {
        const j = loc[J]!;
        const f = loc[J + GF_FOLIO]!;
        if (!gup_fast_grab(k, op.p, op.va + j, op.foll, f, loc[J + GF_BITS]!)) return gup_phase_to_slow(k, op, loc);
        loc[GC_FOLIOS + j] = f;
        loc[GC_FOLIOS + op.n + j] = k.vmFlags(op.p, op.va + j) & VM_SHARED ? 0 : 1;
        loc[GC_I] = j + 1;
        loc[J] = j + 1;
        loc[J + GF_FOLIO] = 0;
        if (j + 1 === op.n) return gup_phase_to_slow(k, op, loc);
        return gup_phase_read_next(k, op, loc);
      }
      // the slow path, from where GUP-fast stopped
      if (!gup_cursor_step(k, op.p, op.va, op.n, op.foll, loc)) {
        setLock(loc, LOCK_READ, LOCK_READ);
        return more(1); // -- P1, holding mmap_lock for read
      }
      return gup_phase_finish(k, op, loc);
    }
    case 'smmu_map':
    case 'smmu_read':
    case 'smmu_write': {
      // a secondary-MMU access: fault in two segments (P8), then the access itself
      const write = op.op === 'smmu_write';
      if (phase === 0 || loc[3] === 0) {
        if (!kvm_needs_fault(k, op.s, op.va, write)) return done(apply(k, op, procName));
        if (write) kvm_unmap_spte(k, op.s, op.va, 'write fault on a read-only SPTE');
        const r = kvm_get_pfn(k, op.s, op.va, write);
        if ('err' in r) return done({ kind: 'errno', e: -r.err });
        loc[0] = r.f;
        loc[1] = r.writable ? 1 : 0;
        loc[2] = r.seq;
        loc[3] = 1;
        return more(1); // -- P8: page looked up, SPTE not yet installed
      }
      const ok = kvm_install_spte(k, op.s, op.va, loc[0]!, loc[1] === 1, loc[2]!);
      loc[0] = 0;
      loc[3] = 0;
      if (!ok) return more(1); // retry the fault
      return done(apply(k, op, procName)); // the SPTE is there: the access runs atomically
    }
    case 'store':
    case 'load': {
      // a CPU access; a fault on a migration entry waits (migration_entry_wait):
      // the thread makes no progress until the migration finishes
      if (op.op === 'store') {
        const r = cpu_store(k, op.p, op.va, op.value);
        if ('wait' in r) return more(phase);
        return done('signal' in r ? { kind: 'signal', sig: r.signal } : OK);
      }
      const r = cpu_load(k, op.p, op.va);
      if ('wait' in r) return more(phase);
      if ('signal' in r) return done({ kind: 'signal', sig: r.signal });
      check_observe(k, op.p, r.folio, procName);
      return done({ kind: 'value', v: r.value });
    }
    case 'migrate_va':
    case 'migrate_file': {
      if (phase === 0) {
        const f =
          op.op === 'migrate_va'
            ? k.pte(op.p, op.va) & PTE_PRESENT
              ? k.pteFolio(op.p, op.va)
              : -1
            : op.idx < k.fileSize(op.file)
              ? k.cachedFolio(op.file, op.idx)
              : -1;
        if (f < 0) return done({ kind: 'errno', e: EFAULT });
        const r = migrate_folio_unmap(k, f);
        if (r) return done({ kind: 'errno', e: -r });
        loc[0] = f;
        return more(1); // -- P6: migration entries in place, not yet copied and remapped
      }
      const r = migrate_folio_move(k, loc[0]!);
      loc[0] = 0;
      return done(status(r));
    }
    case 'fork': {
      // dup_mmap() under mmap_write_lock(parent): P7 between PTEs and inside copy_present_pte
      if (phase === 0) {
        dup_mmap_start(k, op.p, op.child);
        return dup_mmap_next(k, op.p, op.child, loc, 0);
      }
      const va = loc[0]!;
      if (loc[1] === 1) {
        copy_present_pte_share(k, op.p, op.child, va);
        return dup_mmap_next(k, op.p, op.child, loc, va + 1);
      }
      if (copy_page_range_one(k, op.p, op.child, va)) {
        loc[1] = 1;
        setLock(loc, LOCK_PTL, LOCK_WRITE); // copy_pte_range() holds the source PTE lock across copy_present_pte()
        return more(1); // -- P7: decided to share, not yet write-protected
      }
      return dup_mmap_next(k, op.p, op.child, loc, va + 1);
    }
    case 'proc_mem_write': {
      if (!mem_rw_write_step(k, op.p, op.va, op.value, phase === 0, loc)) {
        setLock(loc, LOCK_READ, LOCK_READ);
        return more(1);
      }
      setLock(loc, LOCK_NONE, LOCK_NONE);
      return done(status(mem_rw_write_result(loc)));
    }
    case 'odirect_read':
    case 'odirect_write': {
      // loc[0..1] are the DIO locals; the lock words sit at the end
      const next = dio_rw_step(k, op.p, op.file, op.idx, op.va, op.op === 'odirect_read', phase, loc, procName);
      return next >= 0 ? more(next) : done(status(loc[1]!));
    }
    case 'writeback':
    case 'fsync': {
      if (phase === 0) {
        loc[0] = 0;
        loc[1] = -1;
      }
      if (!writeback_step(k, op.file, loc, op.op === 'fsync')) return more(1);
      return done(op.op === 'fsync' ? status(fsync_result(k, op.file)) : OK);
    }
    case 'ftruncate':
      // truncate_inode_pages_range(): folio_wait_writeback() -- no progress while a page it drops is under I/O
      if (truncate_must_wait(k, op.file, op.pages)) return more(phase);
      return done(apply(k, op, procName));
    case 'reclaim': {
      if (phase === 0) loc[0] = 1;
      const n = k.s[H_NEXT_FOLIO]!;
      if (loc[0]! < n) {
        shrink_one(k, loc[0]!);
        loc[0] = loc[0]! + 1;
        if (loc[0]! < n) return more(1); // -- P5: between two folios
      }
      return done(OK);
    }
    default:
      return done(apply(k, op, procName));
  }
}

// GUP's phases (case 'gup' of applyPhase), as functions rather than closures made per segment. GUP-fast's
// locals sit after the cursor, from J = loc.length - 7: next page, PTE snapshot, folio, write_protect_seq,
// stage (0 fresh, 1 a PTE read and not yet grabbed, 2 slow path).
type GupOp = Extract<ModelOp, { op: 'gup' }>;
const GF_BITS = 1;
const GF_FOLIO = 2;
const GF_SEQ = 3;
const GF_STAGE = 4;

function gup_phase_finish(k: Kernel, op: GupOp, loc: Int32Array): PhaseResult {
  const again = () => (op.fast ? gup_fast_fallback(k, op.p, op.va, op.n, op.foll) : __get_user_pages(k, op.p, op.va, op.n, op.foll));
  const r = check_and_migrate_movable_pages(k, gup_cursor_result(loc, op.n), again);
  setLock(loc, LOCK_NONE, LOCK_NONE);
  if (r.err) return done({ kind: 'errno', e: -r.err });
  return done({ kind: 'pin', h: pin_handle_create(k, PIN_KIND_GUP | (op.longtermUse ? PIN_LONGTERM_USE : 0), op.p, op.va, r) });
}

function gup_phase_to_slow(k: Kernel, op: GupOp, loc: Int32Array): PhaseResult {
  const J = loc.length - 7;
  loc[J + GF_FOLIO] = 0;
  // end of the lockless walk: a fork that ran meanwhile makes it give everything back (5.11+)
  if (loc[J + GF_STAGE] !== 2 && mm_write_protect_seq(k, op.p, op.foll) !== loc[J + GF_SEQ]) {
    for (let j = 0; j < loc[GC_I]!; j++) gup_put_folio(k, loc[GC_FOLIOS + j]!, op.foll);
    loc[GC_I] = 0;
    k.tracing && k.trace('gup_fast', 'write_protect_seq changed (a fork ran): everything given back');
  }
  if (loc[J + GF_STAGE] !== 2) loc[GC_NFAST] = loc[GC_I]!;
  if (loc[GC_I] === op.n) return gup_phase_finish(k, op, loc);
  loc[J + GF_STAGE] = 2;
  setLock(loc, LOCK_NONE, LOCK_READ); // the slow path takes mmap_lock for read
  return more(1);
}

function gup_phase_read_next(k: Kernel, op: GupOp, loc: Int32Array): PhaseResult {
  const J = loc.length - 7;
  const j = loc[J]!;
  const f = j < op.n ? gup_fast_read_pte(k, op.p, op.va + j, op.foll) : -1;
  if (f < 0) return gup_phase_to_slow(k, op, loc);
  loc[J + GF_BITS] = k.pte(op.p, op.va + j);
  loc[J + GF_FOLIO] = f;
  loc[J + GF_STAGE] = 1;
  setLock(loc, LOCK_NONE, LOCK_NONE);
  return more(1); // -- P2: the PTE is read, the folio not yet grabbed
}

/** fork's next segment: the next PTE to copy from `from` on (P7 before it), or the end of dup_mmap(). */
function dup_mmap_next(k: Kernel, p: number, child: number, loc: Int32Array, from: number): PhaseResult {
  const va = copy_page_range_next(k, p, from);
  if (va < 0) {
    dup_mmap_finish(k, p);
    setLock(loc, LOCK_NONE, LOCK_NONE);
    return done({ kind: 'proc', p: child });
  }
  loc[0] = va;
  loc[1] = 0;
  setLock(loc, LOCK_WRITE, LOCK_WRITE);
  return more(1);
}
