// The mm state as one flat Int32Array, laid out in fixed-size tables whose
// sizes come from the scenario (Dims). Copying a state is one slice(); hashing
// is one pass over the array (fingerprint64). Readable accessors sit on top.
//
// Tables (each a run of fixed-stride records):
//   header                 violation bitmask, allocators
//   procs[P]               task_struct/mm_struct: alive, parent, fork bookkeeping, mm->flags
//   ptes[P][VA]            per (mm, virtual page): vm_flags of the VMA covering it,
//                          its file and pgoff, and the PTE (folio, present/write/dirty)
//                          -- VMAs are stored per page, so a split never reallocates
//   folios[F]              struct folio: flags, refcount, mapcount, _pincount, content
//   files[NF]              inode/address_space: fs type, size; cache[NF][FP] folio per index;
//                          disk[NF][FP] the on-disk value per page
//   pins[H]                a GUP reference set held by a driver, pipe or I/O
//                          (kind, owner mm, start VA, pages, FOLL flags) + pinpg[H][PP]
//   smmu[S][VA]            a secondary MMU's mappings (KVM SPTEs) per virtual page
//   swap[W]                swap slots (value, author) for anon pages written out
//   results[R]             the scenario's named results (tag, payload)
// Folio slots are never reused: a freed folio keeps its slot with FOLIO_FREED,
// so a later access through a stale pin or SPTE is seen as a use-after-free.

export interface Dims {
  procs: number;
  vpages: number;
  folios: number;
  files: number;
  filePages: number;
  pins: number;
  pinPages: number;
  secondaries: number;
  swapSlots: number;
  results: number;
}

// header
export const H_VIOLATIONS = 0;
export const H_NEXT_FOLIO = 1;
export const H_NEXT_PIN = 2;
export const H_NEXT_VA = 3;
export const H_NEXT_SWAP = 4;
export const H_NEXT_FILE = 5;
export const H_HUGE_ZERO = 6; // the huge zero folio + 1 once allocated (mm_get_huge_zero_folio)
export const H_SIZE = 8;

// procs
export const P_ALIVE = 0;
export const P_PARENT = 1; // parent index + 1, 0 for the first process
export const P_PARENT_FORK = 2; // which fork of the parent created it (1-based)
export const P_FORKS = 3; // how many times it has forked
export const P_MMFLAGS = 4;
export const P_WPSEQ = 5; // mm->write_protect_seq (5.11+): odd while fork write-protects
export const P_STRIDE = 6;
export const MMF_HAS_PINNED = 1;

// ptes (one record per mm per virtual page)
export const E_VMFLAGS = 0;
export const E_FILE = 1; // file index + 1, 0 for anonymous
export const E_PGOFF = 2;
export const E_FOLIO = 3; // folio index + 1 when present; swap slot + 1 when PTE_SWAP
export const E_PTE = 4;
export const E_STRIDE = 5;

// vm_flags (include/linux/mm.h values where they exist)
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_HUGETLB = 0x400000;
export const VM_DONTCOPY = 0x20000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_MERGEABLE = 0x10000000; // MADV_MERGEABLE (KSM)
/** pinlab: vma->anon_vma is set (anon_vma_prepare() ran: the VMA has, or had, anonymous pages) */
export const VM_ANON_VMA = 0x1000000;
export const VM_HUGEPAGE = 0x20000000; // MADV_HUGEPAGE
export const VM_NOHUGEPAGE = 0x8000000; // MADV_NOHUGEPAGE (pinlab's value)
/** pinlab: this page is covered by a VMA at all */
export const VM_PRESENT = 0x40000000;

// pte bits
export const PTE_PRESENT = 1;
export const PTE_WRITE = 2;
export const PTE_DIRTY = 4;
export const PTE_SPECIAL = 8; // the shared zero page
export const PTE_SWAP = 16; // a swap entry: E_FOLIO holds the swap slot + 1
export const PTE_SWP_EXCLUSIVE = 32;
export const PTE_HWPOISON = 128; // a hwpoison entry: access gets SIGBUS
export const PTE_MIGRATION = 64; // a migration entry: E_FOLIO holds the folio being migrated + 1
/** part of a PMD mapping: all HPAGE_PMD_NR records of the aligned block carry it, with the same bits, each naming its own page */
export const PTE_PMD = 256;

// folios
export const F_FLAGS = 0;
export const F_REF = 1;
export const F_MAPCOUNT = 2;
export const F_PINCOUNT = 3; // _pincount: exact, large folios only
export const F_PINS = 4; // pinlab's exact FOLL_PIN count (for invariants, not for kernel decisions)
export const F_VALUE = 5;
export const F_MAPPING = 6; // file index + 1, 0 for anon or none
export const F_INDEX = 7;
export const F_AUTHOR = 8; // process index + 1 of the last writer, 0 for none
export const F_EPOCH = 9; // the author's fork count when it wrote
export const F_SWAP = 10; // swap slot + 1 while in the swap cache
/**
 * Compound pages: a THP of HPAGE_PMD_NR pages takes that many consecutive slots,
 * one struct page each. The head holds nr (> 1), a tail -(its offset from the head).
 * Folio-level fields and flags of a tail live in its head (Kernel's accessors redirect);
 * F_VALUE, F_AUTHOR, F_EPOCH and the PAGE_FLAGS are per page, as in struct page.
 */
export const F_COMPOUND = 11;
export const F_STRIDE = 12;
/** fields kept per page (not redirected to the head) */
export const PAGE_FIELDS: readonly number[] = [F_VALUE, F_AUTHOR, F_EPOCH, F_COMPOUND];

export const PG_ALIVE = 1 << 0;
export const PG_ANON = 1 << 1;
export const PG_ANON_EXCLUSIVE = 1 << 2;
export const PG_DIRTY = 1 << 3;
export const PG_WRITEBACK = 1 << 4;
export const PG_UPTODATE = 1 << 5;
export const PG_PRIVATE = 1 << 6; // fs private data: ext4 buffer_heads
export const PG_LRU = 1 << 7;
export const PG_HUGETLB = 1 << 8;
export const PG_ZERO = 1 << 9;
export const PG_SWAPCACHE = 1 << 10;
export const PG_SECURE = 1 << 11; // s390: owned by a protected guest
export const PG_FS_WRITABLE = 1 << 12; // pinlab: the fs was told (page_mkwrite/write_begin) since the last clean
export const PG_KSM = 1 << 13;
export const PG_LARGE = 1 << 14;
export const PG_FREED = 1 << 15;
export const PG_HWPOISON = 1 << 16;
export const PG_ZONE_MOVABLE = 1 << 17; // allocated from ZONE_MOVABLE
export const PG_CMA = 1 << 18; // allocated from a MIGRATE_CMA pageblock
export const PG_P2PDMA = 1 << 19; // ZONE_DEVICE memory of a PCI BAR (MEMORY_DEVICE_PCI_P2PDMA)
/** flags kept per page in struct page (PageAnonExclusive, PageHWPoison); the rest are the folio's */
export const PAGE_FLAGS = PG_ANON_EXCLUSIVE | PG_HWPOISON;

/**
 * Pages per PMD in pinlab (512 on x86-64 with 4 KiB pages). Two is the
 * smallest size that can be split, partially unmapped or partially pinned.
 */
export const HPAGE_PMD_NR = 2;

// files
export const FI_FS = 0;
export const FI_SIZE = 1;
export const FI_FLAGS = 2;
export const FI_VA = 3; // guest-memory files: base of the VA range secondary MMUs use to name its pages
export const FI_STRIDE = 4;
export const FS_EXT4 = 1;
export const FS_TMPFS = 2;
export const FS_HUGETLBFS = 3;
export const FS_GUEST = 4; // restrictedmem / guest_memfd (shmem-like, no user mapping)
export const FS_SECRETMEM = 5; // memfd_secret: mappable, but out of the kernel's direct map
export const FS_P2PDMA = 6; // a PCI BAR's P2PDMA memory (drivers/pci/p2pdma.c p2pmem_alloc_mmap)
export const FIF_SHMEM_ANON = 1; // backs a MAP_SHARED|anon mapping
export const FIF_UNMOVABLE = 2; // AS_UNMOVABLE
export const FIF_RESTRICTED_AOPS = 4;
export const FIF_EIO = 8; // AS_EIO: a write-back error (or lost dirty data); filemap_check_errors() reports and clears it
export const FIF_WB_ERR = 16; // mapping->wb_err (errseq) not yet reported to fsync() (pinlab keeps one file description per file)

// pins
export const K_KIND = 0;
export const K_OWNER = 1; // process index + 1
export const K_VA = 2;
export const K_NPAGES = 3;
export const K_FOLL = 4; // the FOLL_* flags actually used
export const K_STATE = 5;
export const K_STRIDE = 6;
export const PIN_KIND_GUP = 1; // get_user_pages*/pin_user_pages*
export const PIN_KIND_PIPE = 2; // vmsplice
export const PIN_KIND_DIO = 3; // O_DIRECT bio
/** pinlab only, or'ed into K_KIND: the caller asked for a long-term pin on a kernel without FOLL_LONGTERM (before 4.15) -- for UNMOVABLE_PIN; no kernel path reads it */
export const PIN_LONGTERM_USE = 0x100;
export const PIN_ACTIVE = 1;
export const PIN_RELEASED = 2;
// per pinned page: folio + 1, and flags
export const KP_FOLIO = 0;
export const KP_FLAGS = 1;
export const KP_STRIDE = 2;
export const KPF_PRIVATE_MAPPING = 1; // taken through a MAP_PRIVATE (COW) mapping
export const KPF_CONSUMED = 2; // a pipe buffer already read

// secondary MMU entries
export const S_FOLIO = 0;
export const S_FLAGS = 1;
export const S_STRIDE = 2;
export const SPTE_WRITE = 1;
export const SPTE_DIRTY = 2;

// swap slots
export const W_VALUE = 0;
export const W_AUTHOR = 1;
export const W_EPOCH = 2;
export const W_USED = 3;
export const W_STRIDE = 4;

// results
export const R_TAG = 0;
export const R_VAL = 1;
export const R_STRIDE = 2;
export const T_UNSET = 0;
export const T_INT = 1;
export const T_CHAR = 2;
export const T_ERRNO = 3;
export const T_SIGNAL = 4;
export const T_SKIPPED = 5;
export const T_PIN = 6;
export const T_PIPE = 7;
export const T_PROC = 8;
export const T_MAPPING = 9;
export const T_FILE = 10;
export const T_OK = 11;

/** Offsets of each table in the flat array. */
export class Layout {
  readonly procs: number;
  readonly ptes: number;
  readonly folios: number;
  readonly files: number;
  readonly cache: number;
  readonly disk: number;
  readonly pins: number;
  readonly pinpg: number;
  readonly smmu: number;
  readonly swap: number;
  readonly results: number;
  readonly size: number;

  constructor(readonly d: Dims) {
    let o = H_SIZE;
    this.procs = o;
    o += d.procs * P_STRIDE;
    this.ptes = o;
    o += d.procs * d.vpages * E_STRIDE;
    this.files = o;
    o += d.files * FI_STRIDE;
    this.cache = o;
    o += d.files * d.filePages;
    this.disk = o;
    o += d.files * d.filePages;
    this.pins = o;
    o += d.pins * K_STRIDE;
    this.pinpg = o;
    o += d.pins * d.pinPages * KP_STRIDE;
    this.smmu = o;
    o += d.secondaries * (d.vpages + 1) * S_STRIDE; // one extra entry per secondary: its invalidation sequence
    this.swap = o;
    o += d.swapSlots * W_STRIDE;
    this.results = o;
    o += d.results * R_STRIDE;
    // the folio table comes last: only its allocated prefix is ever non-zero,
    // so a state can be stored and hashed up to usedLength()
    this.folios = o;
    o += d.folios * F_STRIDE;
    this.size = o;
  }

  /** Length of the prefix of a state that can be non-zero (up to the last allocated folio). */
  usedLength(s: Int32Array): number {
    return this.folios + s[H_NEXT_FOLIO]! * F_STRIDE;
  }

  proc(p: number): number {
    return this.procs + p * P_STRIDE;
  }
  pte(p: number, va: number): number {
    return this.ptes + (p * this.d.vpages + va) * E_STRIDE;
  }
  folio(f: number): number {
    return this.folios + f * F_STRIDE;
  }
  file(fi: number): number {
    return this.files + fi * FI_STRIDE;
  }
  cacheSlot(fi: number, idx: number): number {
    return this.cache + fi * this.d.filePages + idx;
  }
  diskSlot(fi: number, idx: number): number {
    return this.disk + fi * this.d.filePages + idx;
  }
  pin(h: number): number {
    return this.pins + h * K_STRIDE;
  }
  pinPage(h: number, i: number): number {
    return this.pinpg + (h * this.d.pinPages + i) * KP_STRIDE;
  }
  spte(s: number, va: number): number {
    return this.smmu + (s * (this.d.vpages + 1) + va) * S_STRIDE;
  }
  /** kvm->mmu_invalidate_seq of secondary s */
  smmuSeq(s: number): number {
    return this.smmu + (s * (this.d.vpages + 1) + this.d.vpages) * S_STRIDE;
  }
  swapSlot(w: number): number {
    return this.swap + w * W_STRIDE;
  }
  result(r: number): number {
    return this.results + r * R_STRIDE;
  }
}

/** 64-bit fingerprint of a state (or of its first `len` words) as two 32-bit lanes (FNV-1a style mixing with Math.imul). */
export function fingerprint64(s: Int32Array, len = s.length): [number, number] {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x01000193 ^ len;
  for (let i = 0; i < len; i++) {
    const v = s[i]!;
    h1 = Math.imul(h1 ^ v, 0x01000193);
    h2 = Math.imul(h2 ^ (v + 0x9e3779b9), 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  return [h1 >>> 0, h2 >>> 0];
}

// Page content values: integers are stored as themselves (|v| < 2^28);
// character literals as CHAR_BASE + code point.
export const CHAR_BASE = 0x40000000;
export function encodeChar(ch: string): number {
  return CHAR_BASE + ch.codePointAt(0)!;
}
export function encodeInt(n: number): number {
  return n | 0;
}
export function isCharValue(v: number): boolean {
  return v >= CHAR_BASE;
}
export function showValue(v: number): string {
  return isCharValue(v) ? `'${String.fromCodePoint(v - CHAR_BASE)}'` : String(v);
}
