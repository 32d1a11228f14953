// Kernel behaviour knobs: each is one mechanism that changed across versions,
// with the commit that changed it. A profile (profiles.ts) is a set of knobs.
// The model only ever asks "is knob K on?"; it never asks for a version.
// Sources: ../shared/research/kernel-history.md (VERIFIED/RECALLED tags kept).

export interface Knob {
  name: string;
  /** first mainline version that has it ('never' for unmerged proposals, 'arch' for arch features) */
  since: string;
  /** version that removed it, if any */
  until?: string;
  commit: string;
  title: string;
  /** what the model does differently when the knob is on */
  effect: string;
  status: 'VERIFIED' | 'RECALLED' | 'INFERRED';
}

export const KNOBS: Knob[] = [
  {
    name: 'gup_foll_cow',
    since: '4.9',
    until: '6.0',
    commit: '19be0eaffa3a',
    title: 'mm: remove gup_flags FOLL_WRITE games from __get_user_pages()',
    effect:
      'faultin_page() sets FOLL_COW after a COW fault on a !VM_WRITE vma; can_follow_write_pte() accepts a R/O pte if FOLL_FORCE && FOLL_COW && pte_dirty. Without it (<=4.8) FOLL_WRITE is dropped after the COW fault (Dirty COW).',
    status: 'VERIFIED',
  },
  {
    name: 'madv_wipeonfork',
    since: '4.14',
    commit: 'd2cd9ede6e19',
    title: 'mm,fork: introduce MADV_WIPEONFORK',
    effect: 'MADV_WIPEONFORK/MADV_KEEPONFORK exist; dup_mmap gives the child an empty copy of a VM_WIPEONFORK vma.',
    status: 'RECALLED',
  },
  {
    name: 'foll_longterm',
    since: '4.15',
    commit: '2bb6d2837083',
    title: 'mm: introduce get_user_pages_longterm (flag form 932f4a630a69, 5.2)',
    effect: 'FOLL_LONGTERM exists; before it the flag is dropped and the report says so.',
    status: 'RECALLED',
  },
  {
    name: 'io_uring',
    since: '5.1',
    commit: 'edafccee56ff',
    title: 'io_uring: add support for pre-mapped user IO buffers',
    effect: 'io_uring_register_buffers exists: a FOLL_WRITE|FOLL_LONGTERM pin of the buffer.',
    status: 'VERIFIED',
  },
  {
    name: 'io_uring_vma_file_check',
    since: '5.1',
    until: '6.5',
    commit: 'edafccee56ff',
    title: 'io_uring: own check rejecting file-backed, non-hugetlbfs buffers with -EOPNOTSUPP',
    effect: 'io_uring_register_buffers fails with EOPNOTSUPP when a vma has a file that is not hugetlbfs or shmem; removed by "io_uring: rsrc: delegate VMA file-backed check to GUP" (6.5).',
    status: 'RECALLED',
  },
  {
    name: 'longterm_migrate_cma',
    since: '5.1',
    commit: '9a4e9f3b2d73',
    title: 'mm: update get_user_pages_longterm to migrate pages allocated from CMA region',
    effect: 'a FOLL_LONGTERM GUP migrates pages out of CMA before pinning them (check_and_migrate_cma_pages); before, they were pinned in place.',
    status: 'RECALLED',
  },
  {
    name: 'longterm_migrate_movable',
    since: '5.13',
    commit: 'd1e153fea2a8',
    title: 'mm/gup: migrate pinned pages out of movable zone (Pavel Tatashin)',
    effect: 'folio_is_longterm_pinnable() is false in ZONE_MOVABLE too: FOLL_LONGTERM migrates such pages first, and GUP-fast falls back to the slow path for them.',
    status: 'RECALLED',
  },
  {
    name: 'foll_pin',
    since: '5.6',
    commit: 'eddb1c228f79',
    title: 'mm/gup: introduce pin_user_pages*() and FOLL_PIN',
    effect: 'pin_user_pages*() exist and set FOLL_PIN; before 5.6 they map to get_user_pages*() with the same flags.',
    status: 'RECALLED',
  },
  {
    name: 'pin_counting_bias',
    since: '5.7',
    commit: '3faa52c03f44',
    title: 'mm/gup: track FOLL_PIN pages',
    effect: 'FOLL_PIN adds GUP_PIN_COUNTING_BIAS (1024) to a small folio refcount (exact _pincount for large folios); page_maybe_dma_pinned() reads it, with false positives.',
    status: 'VERIFIED',
  },
  {
    name: 'arch_make_page_accessible_gup',
    since: '5.7',
    commit: 'f28d43636d6f',
    title: 'mm/gup/writeback: add callbacks for inaccessible pages',
    effect: 'FOLL_PIN (not FOLL_GET) calls arch_make_page_accessible() on each page (matters with s390_pv).',
    status: 'VERIFIED',
  },
  {
    name: 'arch_make_page_accessible_writeback',
    since: '5.7',
    commit: 'f28d43636d6f',
    title: 'mm/gup/writeback: add callbacks for inaccessible pages',
    effect: 'writeback start (__test_set_page_writeback) calls arch_make_page_accessible() (matters with s390_pv).',
    status: 'VERIFIED',
  },
  {
    name: 's390_pv',
    since: 'arch',
    commit: '214d9bbcd3a6',
    title: 's390/mm: provide memory management functions for protected KVM guests',
    effect: 'the machine is s390 with protected virtualization: sys make_secure() can give a page to a protected guest.',
    status: 'RECALLED',
  },
  {
    name: 'gup_force_cow_break',
    since: '5.8',
    until: '5.9',
    commit: '17839856fd58',
    title: "gup: document and work around 'COW can break either way' issue",
    effect: 'a read GUP (FOLL_GET|FOLL_PIN) on a COW mapping is turned into a write (FOLL_WRITE), breaking COW at GUP time; reverted by a308c71bf1e6 in 5.9.',
    status: 'VERIFIED',
  },
  {
    name: 'wp_reuse_page_count',
    since: '5.9',
    commit: '09854ba94c6a',
    title: 'mm: do_wp_page() simplification',
    effect: 'do_wp_page() reuses an anon page only if page_count()==1 (was: reuse_swap_page(), i.e. mapcount==1).',
    status: 'VERIFIED',
  },
  {
    name: 'fork_early_cow_pinned',
    since: '5.9',
    commit: '70e806e4e645',
    title: 'mm: Do early cow for pinned pages during fork() for ptes',
    effect: 'copy_present_pte() gives the child a copy of an anon page when the parent mm has_pinned and page_maybe_dma_pinned(); the parent keeps its writable pte.',
    status: 'VERIFIED',
  },
  {
    name: 'gup_fast_write_protect_seq',
    since: '5.11',
    commit: '57efa1fe5957',
    title: 'mm/gup: prevent gup_fast from racing with COW during fork',
    effect: 'copy_page_range() makes mm->write_protect_seq odd while it write-protects; GUP-fast falls back to the slow path if it is odd, and unpins and falls back if it changed during the walk.',
    status: 'RECALLED',
  },
  {
    name: 'hugetlb_fork_early_cow_pinned',
    since: '5.12',
    commit: '4eae4efa2c29',
    title: 'hugetlb: do early cow when page pinned on src mm',
    effect: 'copy_hugetlb_page_range() gives the child a copy of a maybe-pinned private hugetlb page at fork (v4 posted 2021-02-08; merged between 5.12-rc2 and -rc3).',
    status: 'INFERRED',
  },
  {
    name: 'no_swapcache_pinned',
    since: '5.9',
    commit: 'feb889fb40fa',
    title: "mm: don't put pinned pages into the swap cache",
    effect: 'reclaim skips a maybe-pinned anon page instead of adding it to the swap cache.',
    status: 'VERIFIED',
  },
  {
    name: 'ext4_bufferless_warn',
    since: '5.18',
    commit: 'cc5095747edf',
    title: "ext4: don't BUG if someone dirty pages without asking ext4 first",
    effect: 'ext4 writeback of a dirty page without buffers warns, clears dirty and skips the page (data dropped) instead of BUG().',
    status: 'VERIFIED',
  },
  {
    name: 'page_anon_exclusive',
    since: '5.19',
    commit: '6c287605fd56',
    title: 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive',
    effect: 'anon pages carry PageAnonExclusive: do_wp_page reuses exclusive pages; fork (page_try_dup_anon_rmap) copies exclusive maybe-pinned pages and clears the bit otherwise.',
    status: 'RECALLED',
  },
  {
    name: 'gup_unshare_anon',
    since: '5.19',
    commit: 'a7f226604170',
    title: 'mm/gup: trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared anonymous page',
    effect: 'gup_must_unshare(): a R/O FOLL_PIN of a !PageAnonExclusive anon page returns -EMLINK and faults with FAULT_FLAG_UNSHARE first.',
    status: 'VERIFIED',
  },
  {
    name: 'foll_force_anon_exclusive',
    since: '6.0',
    commit: '5535be309971',
    title: 'mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW',
    effect: 'a FOLL_FORCE write follows a R/O pte only in a private, VM_MAYWRITE, !VM_WRITE vma on a PageAnonExclusive anon page (replaces gup_foll_cow).',
    status: 'RECALLED',
  },
  {
    name: 'gup_unshare_cow_mapping',
    since: '6.2',
    commit: '8d6a0ac09a16',
    title: 'mm: extend FAULT_FLAG_UNSHARE support to anything in a COW mapping (reliable R/O long-term pinning)',
    effect: 'gup_must_unshare() also fires for non-anon pages when FOLL_LONGTERM in a COW mapping (GUP-fast falls back); the unshare fault gives an exclusive anon copy.',
    status: 'INFERRED',
  },
  {
    name: 'dio_foll_pin',
    since: '6.3',
    commit: '1ccf164ec866',
    title: 'block: Use iov_iter_extract_pages() and page pinning in direct-io.c (bio/iomap: "block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages")',
    effect: 'O_DIRECT takes FOLL_PIN references on user memory (was FOLL_GET).',
    status: 'RECALLED',
  },
  {
    name: 'writable_file_mapping_check',
    since: '6.5',
    commit: 'b2cac248191b',
    title: 'mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings',
    effect: 'check_vma_flags(): FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE on a file vma that needs dirty tracking (writable_file_mapping_allowed) is -EFAULT.',
    status: 'VERIFIED',
  },
  {
    name: 'gup_fast_longterm_file_check',
    since: '6.5',
    commit: 'a6e79df92e4a',
    title: 'mm/gup: disallow FOLL_LONGTERM GUP-fast writing to file-backed mappings',
    effect: 'folio_fast_pin_allowed(): GUP-fast refuses FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE on folios that are not anon, shmem or hugetlb and falls back to the slow path.',
    status: 'VERIFIED',
  },
  {
    name: 'guest_memfd',
    since: '6.8',
    commit: 'a7800aa80ea4',
    title: 'KVM: Add KVM_CREATE_GUEST_MEMFD ioctl() for guest-specific backing memory',
    effect: 'guest_memfd() (and memfd_restricted()) create a file with no user mapping whose mapping is unmovable (AS_UNMOVABLE, 0003e2a41468): migration fails with EINVAL.',
    status: 'VERIFIED',
  },
  {
    name: 'upm_v10',
    since: 'never',
    commit: 'v10 series (Chao Peng, 2022-12)',
    title: 'mm: Introduce memfd_restricted system call to create restricted user memory',
    effect: 'memfd_restricted() creates shmem-backed memory with no user mapping; KVM releases its page reference after mapping (kvm_release_pfn_clean) and migration sends no notification.',
    status: 'VERIFIED',
  },
  {
    name: 'restricted_aops',
    since: 'never',
    commit: 'Kirill A. Shutemov, 2023-01-23 (seed 004)',
    title: 'restrictedmem: own address_space_operations',
    effect: 'restricted memory migration returns -EBUSY; memory failure notifies the bindings (error_remove_page).',
    status: 'VERIFIED',
  },
];

export const KNOB_BY_NAME: ReadonlyMap<string, Knob> = new Map(KNOBS.map((k) => [k.name, k]));
