// The operation table of spec v1: which actor may call what, with which
// argument kinds, and what the call returns. The checker validates steps
// against it; the interpreter dispatches on the same names.

export type ActorKind = 'process' | 'device' | 'secondary' | 'sys';

/** Argument kinds the checker enforces. */
export type ParamKind =
  | 'mapping' // a name bound by mmap()
  | 'file' // a declared file or a name bound by memfd_restricted()/guest_memfd()
  | 'backing' // `anon` or a file
  | 'mapping_or_file'
  | 'int'
  | 'value' // char or int literal
  | 'prot' // PROT_* flags
  | 'mapflags' // MAP_* flags
  | 'advice' // one MADV_*
  | 'foll' // FOLL_* flags or 0
  | 'pin' // a pin handle from *_user_pages*/io_uring_register_buffers
  | 'pipe' // a pipe from vmsplice()
  | 'proc'; // a process name

/** What a successful call returns (named results get this kind). */
export type ResultKind = 'mapping' | 'file' | 'pin' | 'pipe' | 'proc' | 'value' | 'status';

export interface OpSig {
  actor: ActorKind;
  params: ParamKind[];
  returns: ResultKind;
  /** one line for `did you mean` and docs */
  doc: string;
}

export const OPS: Record<string, OpSig> = {
  // process: address space
  mmap: { actor: 'process', params: ['backing', 'int', 'prot', 'mapflags'], returns: 'mapping', doc: 'mmap(anon|FILE, pages, PROT, MAP_*)' },
  munmap: { actor: 'process', params: ['mapping', 'int'], returns: 'status', doc: 'munmap(x, pages)' },
  mremap: { actor: 'process', params: ['mapping', 'int'], returns: 'mapping', doc: 'mremap(x, pages): MREMAP_MAYMOVE to a new address' },
  mprotect: { actor: 'process', params: ['mapping', 'int', 'prot'], returns: 'status', doc: 'mprotect(x, pages, PROT)' },
  madvise: { actor: 'process', params: ['mapping', 'int', 'advice'], returns: 'status', doc: 'madvise(x, pages, MADV_*)' },
  fork: { actor: 'process', params: [], returns: 'proc', doc: 'fork() returns the child' },
  exit: { actor: 'process', params: [], returns: 'status', doc: 'exit()' },
  // process: file I/O
  write: { actor: 'process', params: ['file', 'int', 'value'], returns: 'status', doc: 'write(F, i, v)' },
  read: { actor: 'process', params: ['file', 'int'], returns: 'value', doc: 'read(F, i)' },
  ftruncate: { actor: 'process', params: ['file', 'int'], returns: 'status', doc: 'ftruncate(F, pages)' },
  fsync: { actor: 'process', params: ['file'], returns: 'status', doc: 'fsync(F)' },
  // process: GUP
  get_user_pages: { actor: 'process', params: ['mapping', 'int', 'foll'], returns: 'pin', doc: 'get_user_pages(x, n, FOLL_*)' },
  get_user_pages_fast: { actor: 'process', params: ['mapping', 'int', 'foll'], returns: 'pin', doc: 'get_user_pages_fast(x, n, FOLL_*)' },
  pin_user_pages: { actor: 'process', params: ['mapping', 'int', 'foll'], returns: 'pin', doc: 'pin_user_pages(x, n, FOLL_*)' },
  pin_user_pages_fast: { actor: 'process', params: ['mapping', 'int', 'foll'], returns: 'pin', doc: 'pin_user_pages_fast(x, n, FOLL_*)' },
  pin_user_pages_remote: { actor: 'process', params: ['proc', 'mapping', 'int', 'foll'], returns: 'pin', doc: 'pin_user_pages_remote(PROC, x, n, FOLL_*)' },
  get_user_pages_remote: { actor: 'process', params: ['proc', 'mapping', 'int', 'foll'], returns: 'pin', doc: 'get_user_pages_remote(PROC, x, n, FOLL_*)' },
  unpin_user_pages: { actor: 'process', params: ['pin'], returns: 'status', doc: 'unpin_user_pages(p)' },
  unpin_user_pages_dirty_lock: { actor: 'process', params: ['pin'], returns: 'status', doc: 'unpin_user_pages_dirty_lock(p)' },
  put_pages: { actor: 'process', params: ['pin'], returns: 'status', doc: 'put_pages(p)' },
  // process: GUP callers
  vmsplice: { actor: 'process', params: ['mapping', 'int'], returns: 'pipe', doc: 'vmsplice(x, n) returns a pipe' },
  read_pipe: { actor: 'process', params: ['pipe', 'int'], returns: 'value', doc: 'read_pipe(q, i)' },
  io_uring_register_buffers: { actor: 'process', params: ['mapping', 'int'], returns: 'pin', doc: 'io_uring_register_buffers(x, n)' },
  odirect_read: { actor: 'process', params: ['file', 'int', 'mapping'], returns: 'status', doc: 'odirect_read(F, i, x)' },
  odirect_write: { actor: 'process', params: ['file', 'int', 'mapping'], returns: 'status', doc: 'odirect_write(F, i, x)' },
  proc_mem_write: { actor: 'process', params: ['mapping', 'int', 'value'], returns: 'status', doc: 'proc_mem_write(x, i, v)' },
  // process: guest memory
  memfd_restricted: { actor: 'process', params: ['int'], returns: 'file', doc: 'memfd_restricted(pages)' },
  // process: more memory (issue 4, docs/language-additions.md)
  memfd_create: { actor: 'process', params: ['int'], returns: 'file', doc: 'memfd_create(pages): a shmem file' },
  memfd_secret: { actor: 'process', params: ['int'], returns: 'file', doc: 'memfd_secret(pages): memory removed from the direct map (5.14)' },
  p2pmem: { actor: 'process', params: ['int'], returns: 'file', doc: 'p2pmem(pages): PCI P2PDMA memory of a device BAR, mmap()able through sysfs p2pmem/allocate (6.2)' },
  process_vm_writev: { actor: 'process', params: ['proc', 'mapping', 'int', 'value'], returns: 'status', doc: 'process_vm_writev(PROC, x, i, v)' },
  guest_memfd: { actor: 'process', params: ['int'], returns: 'file', doc: 'guest_memfd(pages)' },
  // device
  dma_write: { actor: 'device', params: ['pin', 'int', 'value'], returns: 'status', doc: 'dma_write(p, i, v)' },
  dma_read: { actor: 'device', params: ['pin', 'int'], returns: 'value', doc: 'dma_read(p, i)' },
  // secondary MMU (names shared with process read/write: resolved by actor kind)
  map: { actor: 'secondary', params: ['mapping_or_file', 'int'], returns: 'status', doc: 'map(x|F, i)' },
  // sys
  writeback: { actor: 'sys', params: ['file'], returns: 'status', doc: 'writeback(F)' },
  reclaim: { actor: 'sys', params: [], returns: 'status', doc: 'reclaim()' },
  drop_caches: { actor: 'sys', params: [], returns: 'status', doc: 'drop_caches()' },
  migrate: { actor: 'sys', params: ['mapping_or_file', 'int'], returns: 'status', doc: 'migrate(x|F, i)' },
  compact: { actor: 'sys', params: [], returns: 'status', doc: 'compact()' },
  memory_failure: { actor: 'sys', params: ['mapping_or_file', 'int'], returns: 'status', doc: 'memory_failure(x, i)' },
  make_secure: { actor: 'sys', params: ['mapping', 'int'], returns: 'status', doc: 'make_secure(x, i)' },
  ksm_scan: { actor: 'sys', params: [], returns: 'status', doc: 'ksm_scan(): one ksmd pass over MADV_MERGEABLE memory' },
};

/** Secondary-MMU operations whose names a process also uses with other arguments. */
export const SECONDARY_OPS: Record<string, OpSig> = {
  map: OPS.map!,
  read: { actor: 'secondary', params: ['mapping_or_file', 'int'], returns: 'value', doc: 'read(x|F, i)' },
  write: { actor: 'secondary', params: ['mapping_or_file', 'int', 'value'], returns: 'status', doc: 'write(x|F, i, v)' },
};

/** Look up an operation for an actor kind. */
export function opFor(actor: ActorKind, name: string): OpSig | undefined {
  if (actor === 'secondary') return SECONDARY_OPS[name];
  const op = OPS[name];
  return op && op.actor === actor ? op : undefined;
}

/** Every operation name an actor kind may call (for did-you-mean). */
export function opNamesFor(actor: ActorKind): string[] {
  if (actor === 'secondary') return Object.keys(SECONDARY_OPS);
  return Object.entries(OPS)
    .filter(([, s]) => s.actor === actor)
    .map(([n]) => n);
}

/** FOLL_* flags (include/linux/mm_types.h / mm.h). Internal flags (FOLL_COW, FOLL_TOUCH...) are set by the model itself. */
export const FOLL_FLAGS = [
  'FOLL_WRITE',
  'FOLL_GET',
  'FOLL_PIN',
  'FOLL_FORCE',
  'FOLL_LONGTERM',
  'FOLL_NOWAIT',
  'FOLL_NOFAULT',
  'FOLL_HWPOISON',
  'FOLL_ANON',
  'FOLL_SPLIT_PMD',
  'FOLL_PCI_P2PDMA',
  'FOLL_INTERRUPTIBLE',
  'FOLL_HONOR_NUMA_FAULT',
  'FOLL_REMOTE',
  'FOLL_DUMP',
  'FOLL_MLOCK',
  'FOLL_TOUCH',
] as const;

export const PROT_FLAGS = ['PROT_NONE', 'PROT_READ', 'PROT_WRITE', 'PROT_EXEC'] as const;
export const MAP_FLAGS = ['MAP_SHARED', 'MAP_PRIVATE', 'MAP_HUGETLB', 'MAP_ANONYMOUS', 'MAP_POPULATE'] as const;
export const MADV_ADVICE = [
  'MADV_DONTNEED',
  'MADV_DONTFORK',
  'MADV_DOFORK',
  'MADV_WIPEONFORK',
  'MADV_KEEPONFORK',
  'MADV_PAGEOUT',
  'MADV_COLD',
  'MADV_FREE',
  'MADV_COLLAPSE',
  'MADV_HUGEPAGE',
  'MADV_MERGEABLE',
  'MADV_UNMERGEABLE',
  'MADV_NOHUGEPAGE',
] as const;

/** errno names a call may return or a predicate may compare with. */
export const ERRNO_NAMES = [
  'EPERM', 'ENOENT', 'EINTR', 'EIO', 'ENXIO', 'E2BIG', 'EBADF', 'EAGAIN', 'ENOMEM', 'EACCES', 'EFAULT',
  'EBUSY', 'EEXIST', 'EINVAL', 'ENOSPC', 'ESPIPE', 'EROFS', 'EMLINK', 'ERANGE', 'ENOSYS', 'EOPNOTSUPP',
  'EHWPOISON', 'EREMOTEIO', 'ENODEV', 'EFBIG', 'ETXTBSY',
] as const;

/** Non-errno outcomes of a step. */
export const SIGNAL_NAMES = ['SIGSEGV', 'SIGBUS'] as const;

/** Violation kinds of spec v1 (the checkers live in src/model/invariants.ts). */
export const VIOLATION_KINDS = [
  'DMA_LOST',
  'DMA_STALE',
  'COW_LEAK',
  'PRIVATE_WRITE_LEAK',
  'UNTRACKED_DIRTY',
  'DATA_LOSS',
  'USE_AFTER_FREE',
  'UNMOVABLE_PIN',
  'SECURE_ACCESS',
  'DOUBLE_RELEASE',
  'MISMATCHED_RELEASE',
  'ACCESS_AFTER_RELEASE',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export const FS_TYPES = ['ext4', 'tmpfs', 'hugetlbfs'] as const;

/**
 * Which argument of an operation is a page count (every other `int` argument is a page index). The
 * checker holds page counts to LIMITS.pages and indices below it; the sizing of the model
 * (modelDims in check.ts) reads both.
 */
export const PAGE_COUNT_ARG: Readonly<Record<string, number>> = {
  mmap: 1,
  munmap: 1,
  mremap: 1,
  mprotect: 1,
  madvise: 1,
  ftruncate: 1,
  get_user_pages: 1,
  get_user_pages_fast: 1,
  pin_user_pages: 1,
  pin_user_pages_fast: 1,
  pin_user_pages_remote: 2,
  get_user_pages_remote: 2,
  vmsplice: 1,
  io_uring_register_buffers: 1,
  memfd_restricted: 0,
  memfd_create: 0,
  memfd_secret: 0,
  p2pmem: 0,
  guest_memfd: 0,
};

/** Operations that take a GUP reference set (a pin handle or a pipe) of their page count. */
export const PINNING_OPS: ReadonlySet<string> = new Set([
  'get_user_pages',
  'get_user_pages_fast',
  'pin_user_pages',
  'pin_user_pages_fast',
  'pin_user_pages_remote',
  'get_user_pages_remote',
  'vmsplice',
  'io_uring_register_buffers',
]);

/**
 * Input limits of the language (docs/limits.md gives each one's reason). The checker (and, for
 * what must be caught before the recursive-descent parser runs, the parser) rejects anything beyond
 * them with a positioned error naming the limit; within them the model's tables are always large
 * enough (modelDims in check.ts), so no scenario reaches a model-capacity error.
 */
export const LIMITS = {
  /** characters in a scenario file */
  fileChars: 1 << 18,
  /** tokens on one line (comments and `source` text count as one) */
  lineTokens: 1024,
  /** nested parentheses on a line (predicates of `expect`/`exists`/`never`) */
  nesting: 32,
  /** `and`, `or` and `not` in one clause */
  clauseOperators: 64,
  /** any number: page contents are 28-bit integers in the model (2^28 and up is the character encoding's range) */
  number: 2 ** 28 - 1,
  /** pages in one call (mmap, pin, madvise, ...) or one file; an index or an x+N offset is below it */
  pages: 1024,
  /** pages mapped by every mmap, mremap and guest-memory file of a scenario together (one address space for all processes) */
  addressSpace: 4096,
  /** steps (par threads included) */
  steps: 256,
  /** processes: the first one and every fork() child */
  processes: 16,
  /** threads of one par block */
  threads: 8,
  /** background events */
  background: 8,
  /** how often one background event may fire (xN) */
  backgroundTimes: 16,
  /** files: declared, memfd_create/memfd_secret/memfd_restricted/guest_memfd/p2pmem, and shared anonymous mappings */
  files: 16,
  /** devices */
  devices: 16,
  /** secondary MMUs */
  secondaries: 4,
  /** 32-bit words of the model state the scenario may need (the flat Int32Array; 8 Mi words = 32 MiB) */
  modelWords: 1 << 23,
} as const;
