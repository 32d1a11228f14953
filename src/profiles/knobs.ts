// Kernel behaviour knobs: each is one mechanism that changed across versions,
// with the commit that changed it. A profile (profiles.ts) is a set of knobs.
// The model only ever asks "is knob K on?"; it never asks for a version.
// Sources: ../shared/research/kernel-history.md (VERIFIED/RECALLED tags kept).

/** A change (or its removal) taken into a long-term stable branch. */
export interface Backport {
  /** the first stable release of the branch that has it, e.g. `6.1.13` */
  release: string;
  /** the branch's own commit, when found ('' otherwise) */
  commit: string;
  /** where this was read (changelog, stable review mail, source) */
  evidence: string;
  /** the backport is of the knob's removal (`until`): the knob is off in the branch */
  removes?: boolean;
}

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
  /** where the change was read: the source at which versions (file:line), the patch mails */
  evidence: string;
  /** LTS branches (profiles.ts LTS) whose base predates `since` (or `until`) but that took the change as a backport */
  backports?: Partial<Record<string, Backport>>;
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
    evidence: 'Code read in 5.10.262 mm/gup.c:388-392 (can_follow_write_pte: FOLL_FORCE && FOLL_COW && pte_dirty) and :915 (faultin_page sets FOLL_COW), 5.15.224 mm/gup.c:492-496; gone in 6.1.192. 4.9 from the commit date (2016-10-13, after 4.8) and the stable postings; removal 5535be309971 in 6.0 (5.19.6 backport).',
  },
  {
    name: 'madv_wipeonfork',
    since: '4.14',
    commit: 'd2cd9ede6e19',
    title: 'mm,fork: introduce MADV_WIPEONFORK',
    effect: 'MADV_WIPEONFORK/MADV_KEEPONFORK exist; dup_mmap gives the child an empty copy of a VM_WIPEONFORK vma.',
    status: 'VERIFIED',
    evidence: 'Sha and date from the patch mails; code read in 5.4.291, 5.10.262 and 6.12.117 (kernel/fork.c dup_mmap: VM_WIPEONFORK -> empty copy). 4.13 absence from mail dates only.',
  },
  {
    name: 'foll_longterm',
    since: '4.15',
    commit: '2bb6d2837083',
    title: 'mm: introduce get_user_pages_longterm (the FOLL_LONGTERM flag, and GUP-fast support for it, came with 932f4a630a69 in 5.2)',
    effect: 'FOLL_LONGTERM exists; before it the flag is dropped and the report says so.',
    status: 'VERIFIED',
    evidence: 'Sha/title from Fixes: tags (2bb6d2837083, 932f4a630a69); FOLL_LONGTERM with check_and_migrate_cma_pages read in 5.4.291 mm/gup.c:1570-1620. Release boundaries (4.15 function, 5.2 flag) from mail dates (no 4.15/5.2 tree); no profile lies between 4.9 (without) and 5.7 (with), so none depends on them.',
  },
  {
    name: 'io_uring',
    since: '5.1',
    commit: 'edafccee56ff',
    title: 'io_uring: add support for pre-mapped user IO buffers',
    effect: 'io_uring_register_buffers exists: a FOLL_WRITE|FOLL_LONGTERM pin of the buffer.',
    status: 'VERIFIED',
    evidence: 'Fixes: tag (edafccee56ff); io_sqe_buffer_register read in 5.4.291 fs/io_uring.c (get_user_pages FOLL_WRITE|FOLL_LONGTERM), 5.10.262 io_uring/io_uring.c:8945 and 6.1.192 io_uring/rsrc.c:1006 (pin_user_pages), 6.12.117 io_uring/memmap.c:134 (pin_user_pages_fast).',
  },
  {
    name: 'io_uring_vma_file_check',
    since: '5.1',
    until: '6.5',
    commit: 'edafccee56ff',
    title: 'io_uring: own check rejecting file-backed, non-hugetlbfs buffers with -EOPNOTSUPP',
    effect: 'io_uring_register_buffers fails with EOPNOTSUPP when a vma has a file that is not hugetlbfs or shmem (shmem accepted from 5.14, 40dad765c045); removed by 34ed8d0dcd69 "io_uring: rsrc: delegate VMA file-backed check to GUP" (6.5, not backported: 6.1.192 io_uring/rsrc.c:979 still checks).',
    status: 'VERIFIED',
    evidence: 'Order read in 5.10.262 io_uring/io_uring.c:8943-8975 and 6.1.192 io_uring/rsrc.c:979-1046: pin_user_pages() first, then the vm_file check, unpin_user_pages() on refusal. Removal 34ed8d0dcd69 (6.5): u6.5 io_uring/rsrc.c:1036-1073 has no VMA check; not in 6.1.192.',
  },
  {
    name: 'io_uring_shmem_buffers',
    since: '5.14',
    commit: '40dad765c045',
    title: 'io_uring: enable shmem/memfd memory registration',
    effect: "io_uring's own VMA check (io_uring_vma_file_check) accepts shmem VMAs (tmpfs files, memfd, MAP_SHARED|MAP_ANONYMOUS) besides hugetlbfs; before, they got -EOPNOTSUPP.",
    status: 'VERIFIED',
    evidence: '40dad765c045 RFC diff (mail) and liburing#358; vma_is_shmem() test present in 5.10.262 (via the 5.10.162 io_uring import) and 5.15.224, absent in 5.4.291.',
    backports: {
      '5.10': {
        release: '5.10.162',
        commit: '788d0824269b',
        evidence: 'with "io_uring: import 5.15-stable io_uring" (Debian linux-source-5.10 changelog, ChangeLog-5.10.162); 5.10.262 io_uring/io_uring.c has the vma_is_shmem() test',
      },
    },
  },
  {
    name: 'io_uring_same_file_buffers',
    since: '6.3',
    until: '6.4',
    commit: 'edd478269640',
    title: 'io_uring/rsrc: disallow multi-source reg buffers (reverted in 6.4 by 3c85cc43c8e7)',
    effect: 'io_sqe_buffer_register() refuses (-EINVAL) a buffer whose pages come from mappings of different files (or anon and a file). Mainline had it only in 6.3; the revert was not taken by the stable branches, which keep it.',
    status: 'VERIFIED',
    evidence: 'Stable review mails "[PATCH 6.1 662/885]" and "[PATCH 5.10 376/529]" (commit edd478269640 upstream); -EINVAL test read in 5.15.224 io_uring/io_uring.c:9185, 6.1.192 io_uring/rsrc.c, u6.2; revert 3c85cc43c8e7 in the 6.4 io_uring pull.',
    backports: {
      '5.10': { release: '5.10.173', commit: '72783d2af89b', evidence: '"[PATCH 5.10 376/529]" (commit edd478269640 upstream); Debian ChangeLog-5.10.173; revlist ending "Linux 5.10.173"' },
      '5.15': { release: '5.15.99', commit: 'dde0d0dfbde2', evidence: 'revlist before "Linux 5.15.99"; 5.15.224 io_uring/io_uring.c:9185' },
      '6.1': { release: '6.1.16', commit: '68f703ad0355', evidence: '"[PATCH 6.1 662/885]" (commit edd478269640 upstream); Debian ChangeLog-6.1.16; 6.1.192 io_uring/rsrc.c' },
    },
  },
  {
    name: 'longterm_migrate_cma',
    since: '5.1',
    commit: '9a4e9f3b2d73',
    title: 'mm: update get_user_pages_longterm to migrate pages allocated from CMA region',
    effect: 'a FOLL_LONGTERM GUP migrates pages out of CMA before pinning them (check_and_migrate_cma_pages); before, they were pinned in place.',
    status: 'VERIFIED',
    evidence: 'check_and_migrate_cma_pages() read in 5.4.291 and 5.10.262 mm/gup.c; sha/title from mails; 5.1 from mail dates.',
  },
  {
    name: 'longterm_migrate_movable',
    since: '5.13',
    commit: 'd1e153fea2a8',
    title: 'mm/gup: migrate pinned pages out of movable zone',
    effect: 'folio_is_longterm_pinnable() is false in ZONE_MOVABLE too: FOLL_LONGTERM migrates such pages first, and GUP-fast falls back to the slow path for them.',
    status: 'VERIFIED',
    evidence: 'is_pinnable_page()/folio_is_longterm_pinnable() read: absent in 5.10.262, present in 5.15.224 and 6.12.117 include/linux/mm.h:1993-2012.',
  },
  {
    name: 'longterm_migrate_fail_error',
    since: '5.13',
    commit: 'f0f4463837da',
    title: 'mm/gup: return an error on migration failure',
    effect:
      'a FOLL_LONGTERM GUP whose unpinnable (CMA, later ZONE_MOVABLE) folio fails to migrate returns an error (-ENOMEM) with nothing pinned; before, check_and_migrate_cma_pages() took the pages again without migration and pinned them where they were.',
    status: 'VERIFIED',
    evidence: 'Pavel Tatashin\'s series (with 6e7f34ebb8d2 "mm/gup: check for isolation errors"); 5.4.291 mm/gup.c check_and_migrate_cma_pages(): "some of the pages failed migration. Do get_user_pages without migration"; 5.10.262 mm/gup.c returns the error (backport 5.10.38, Debian changelog).',
    backports: {
      '5.10': { release: '5.10.38', commit: '096c9482cea2', evidence: 'revlist ending at "Linux 5.10.38"; Debian ChangeLog-5.10.38' },
    },
  },
  {
    name: 'foll_pin',
    since: '5.6',
    commit: 'eddb1c228f79',
    title: 'mm/gup: introduce pin_user_pages*() and FOLL_PIN',
    effect: 'pin_user_pages*() exist and set FOLL_PIN; before 5.6 they map to get_user_pages*() with the same flags.',
    status: 'VERIFIED',
    evidence: 'Fixes: tag (eddb1c228f79); FOLL_PIN absent in 5.4.291, present in 5.10.262 include/linux/mm.h:2838; 5.6-rc1 date.',
  },
  {
    name: 'pin_counting_bias',
    since: '5.7',
    commit: '3faa52c03f44',
    title: 'mm/gup: track FOLL_PIN pages',
    effect: 'FOLL_PIN adds GUP_PIN_COUNTING_BIAS (1024) to a small folio refcount (exact _pincount for large folios); page_maybe_dma_pinned() reads it, with false positives.',
    status: 'VERIFIED',
    evidence: 'Fixes: tags and a 5.7-rc regression report (3faa52c03f44); try_grab_page() read in 5.10.262 mm/gup.c:197-226 (GUP_PIN_COUNTING_BIAS, hpage_pincount), page_maybe_dma_pinned include/linux/mm.h:1274-1290; absent in 5.4.291.',
  },
  {
    name: 'arch_make_page_accessible_gup',
    since: '5.7',
    commit: 'f28d43636d6f',
    title: 'mm/gup/writeback: add callbacks for inaccessible pages',
    effect: 'FOLL_PIN (not FOLL_GET) calls arch_make_page_accessible() on each page (matters with s390_pv).',
    status: 'VERIFIED',
    evidence: 'Fixes: tags (f28d43636d6f); FOLL_PIN-only call read in 5.10.262 mm/gup.c:496-508, :2213-2224, 6.1.192 :648-659, 6.12.117 :919-930.',
  },
  {
    name: 'arch_make_page_accessible_writeback',
    since: '5.7',
    commit: 'f28d43636d6f',
    title: 'mm/gup/writeback: add callbacks for inaccessible pages',
    effect: 'writeback start (__test_set_page_writeback) calls arch_make_page_accessible() (matters with s390_pv).',
    status: 'VERIFIED',
    evidence: 'Fixes: tags (f28d43636d6f); __test_set_page_writeback() calls arch_make_page_accessible() in 5.10.262 mm/page-writeback.c:2834-2839, 6.1.192 :3031, 6.12.117 :3164; only s390 implements it (6.12 arch/s390/include/asm/page.h:178).',
  },
  {
    name: 's390_pv',
    since: 'arch',
    commit: '214d9bbcd3a6',
    title: 's390/mm: provide memory management functions for protected KVM guests',
    effect: 'the machine is s390 with protected virtualization: sys make_secure() can give a page to a protected guest.',
    status: 'VERIFIED',
    evidence: 'Fixes: tags (214d9bbcd3a6, v4 05/36 of the PV series); make_secure_pte()/gmap_make_secure() read in 5.10.262 arch/s390/kernel/uv.c:169-311 and 6.12.117 (make_folio_secure).',
  },
  {
    name: 'x86_sev',
    since: 'arch',
    commit: 'seed 001 (Dave Hansen, 2020-04-15)',
    title: 'x86 SEV: encrypted guest pages the host cannot make accessible',
    effect: 'make_secure() encrypts a page for the guest; nothing can make it accessible again (no arch_make_page_accessible), so any host CPU access, device DMA or writeback I/O of it is SECURE_ACCESS: the host must not map it at all.',
    status: 'VERIFIED',
    evidence: 'Dave Hansen, 2020-04-15, <3ae46945-0c7b-03cd-700a-a6fe8003c6ab@intel.com> (seed 001): SEV pages are ciphertext to the host, which may need to leave them out of its direct map; 6.12.117 x86 has no arch_make_page_accessible. The model\'s abstraction: every host access is SECURE_ACCESS.',
  },
  {
    name: 'gup_force_cow_break',
    since: '5.8',
    until: '5.9',
    commit: '17839856fd58',
    title: "gup: document and work around 'COW can break either way' issue",
    effect: 'a read GUP (FOLL_GET|FOLL_PIN) on a COW mapping is turned into a write (FOLL_WRITE), breaking COW at GUP time; reverted by a308c71bf1e6 in 5.9.',
    status: 'VERIFIED',
    evidence: '17839856fd58 quoted in Peter Xu\'s revert a308c71bf1e6 (mail); the CVE-2020-29374 text dates the 5.7.3 backport (so 5.8-rc1); the revert sits in the simplify-do_wp_page merge between 5.9-rc3 and -rc4. Code read in 5.4.291 mm/gup.c:167-180 (5.4.y kept it).',
  },
  {
    name: 'wp_reuse_page_count',
    since: '5.9',
    commit: '09854ba94c6a',
    title: 'mm: do_wp_page() simplification',
    effect: 'do_wp_page() reuses an anon page only if page_count()==1 (was: reuse_swap_page(), i.e. mapcount==1).',
    status: 'VERIFIED',
    evidence: '09854ba94c6a in the 5.9-rc4 announcement; do_wp_page read in 5.4.291 mm/memory.c:2740-2780 (reuse_swap_page), 5.10.262 :3191-3199 and 5.15.224 :3343-3351 (`page_count(page) != 1` -> copy).',
  },
  {
    name: 'wp_reuse_swapcache',
    since: '5.18',
    commit: '53a05ad9f21d',
    title: 'mm: optimize do_wp_page() for exclusive pages in the swapcache',
    effect:
      'do_wp_page(): a page whose only other reference is the swap cache is reused after try_to_free_swap() succeeds (no other swap PTE names the slot); 5.9-5.17 copied every swap-cache page (page_count != 1).',
    status: 'VERIFIED',
    evidence: 'u5.19 (5.19.17) mm/memory.c:3426-3432 `if (page_count(page) > 1 + PageSwapCache(page)) goto copy; ... try_to_free_swap(page); ... page_count(page) != 1`; 5.10.262 :3191 and 5.15.224 :3343 `page_count(page) != 1` -> copy; the 5.18 merge-window revlist.',
  },
  {
    name: 'swapin_write_reuse_swap_page',
    since: '2.6',
    until: '5.18',
    commit: 'c145e0b47c77',
    title: 'mm: streamline COW logic in do_swap_page() (removed reuse_swap_page() from the swap-in write fault)',
    effect:
      'do_swap_page() on a write fault maps the page writable when reuse_swap_page() says mapcount + swap count <= 1, whatever other references it has: a page vmsplice or FOLL_GET still holds is written in place (the swap flavour of CVE-2020-29374). Not backported: 5.10.y and 5.15.y keep it.',
    status: 'VERIFIED',
    evidence: '5.4.291 mm/memory.c:3071, 5.10.262 :3509-3514, 5.15.224 :3708 `if ((vmf->flags & FAULT_FLAG_WRITE) && reuse_swap_page(page, NULL))`; reuse_swap_page() 5.10.262 mm/swapfile.c:1718-1752 (`count <= 1`, delete_from_swap_cache when 1); gone in 5.19.17; post-commit code in the patch mail.',
  },
  {
    name: 'fork_early_cow_pinned',
    since: '5.9',
    commit: '70e806e4e645',
    title: 'mm: Do early cow for pinned pages during fork() for ptes',
    effect: 'copy_present_pte() gives the child a copy of an anon page when the parent mm has_pinned and page_maybe_dma_pinned(); the parent keeps its writable pte.',
    status: 'VERIFIED',
    evidence: '70e806e4e645 in a 5.9-rc7 revlist; copy_present_page() absent in 5.4.291, present in 5.10.262 mm/memory.c:798-856.',
  },
  {
    name: 'gup_fast_write_protect_seq',
    since: '5.11',
    commit: '57efa1fe5957',
    title: 'mm/gup: prevent gup_fast from racing with COW during fork',
    effect: 'copy_page_range() makes mm->write_protect_seq odd while it write-protects; GUP-fast falls back to the slow path if it is odd, and unpins and falls back if it changed during the walk.',
    status: 'VERIFIED',
    evidence: 'Full sha in a 0-day report; copy_page_range() raw_write_seqcount_begin/end read in 5.10.262 mm/memory.c:1180-1213 and 6.12.117 :1387-1420; lockless_pages_from_mm() checks it for FOLL_PIN (5.10.262 mm/gup.c:2685-2730); absent in 5.4.291.',
    backports: {
      '5.10': {
        release: '5.10.4',
        commit: '537946556cc9',
        evidence: 'Debian linux-source-5.10 changelog (ChangeLog-5.10.4); 5.10.y sha from a revlist ending at "Linux 5.10.4"; 5.10.262 mm/gup.c lockless_pages_from_mm() reads mm->write_protect_seq',
      },
    },
  },
  {
    name: 'hugetlb_fork_early_cow_pinned',
    since: '5.12',
    commit: '4eae4efa2c29',
    title: 'hugetlb: do early cow when page pinned on src mm',
    effect: 'copy_hugetlb_page_range() gives the child a copy of a maybe-pinned private hugetlb page at fork (v4 posted 2021-02-08; merged between 5.12-rc2 and -rc3).',
    status: 'VERIFIED',
    evidence: '4eae4efa2c29 merged between 5.12-rc2 and -rc3 (mails); copy_hugetlb_page_range() page_needs_cow_for_dma read in 5.15.224 mm/hugetlb.c:4374; absent in 5.10.262.',
  },
  {
    name: 'hugetlb_lazy_fork_copy',
    since: '6.0',
    commit: 'bcd51a3c679d',
    title: 'hugetlb: lazy page table copies in fork()',
    effect:
      'vma_needs_copy() no longer copies the page tables of every hugetlb VMA at fork: like other VMAs, only those with an anon_vma (a private mapping that has had a fault) are copied; the child faults shared hugetlb pages in.',
    status: 'VERIFIED',
    evidence: '5.10.262 and 5.19.17 mm/memory.c vma_needs_copy/copy_page_range list VM_HUGETLB among the always-copied; 6.1.192 mm/memory.c:1251-1275 does not; "started to trigger after v5.19" (bisect mail naming bcd51a3c679d).',
  },
  {
    name: 'fork_early_cow_anon_only',
    since: '5.19',
    commit: 'fb3d824d1a46',
    title: 'mm/rmap: split page_dup_rmap() into page_dup_file_rmap() and page_try_dup_anon_rmap() (stable: "mm/memory: add non-anonymous page check in the copy_present_page()")',
    effect:
      "copy_present_pte() copies a maybe-pinned page for the child only if it is anonymous. From 70e806e4e645 (5.9) to 5.18, copy_present_page() had no PageAnon() test: a maybe-pinned page-cache page of a MAP_PRIVATE, VM_MAYWRITE mapping was copied for the child too (5.10.262 mm/memory.c:797-820 has the test by backport).",
    status: 'VERIFIED',
    evidence: '5.10.262 mm/memory.c copy_present_page() `if (!PageAnon(page)) return 1;` (stable fix 5.10.153); 5.19 rmap rework (page_try_dup_anon_rmap) in 5.19.17; the 5.9-5.18 code without the test read in the 70e806e4e645 diff.',
    backports: {
      '5.10': { release: '5.10.153', commit: '935a8b620210', evidence: 'stable-only fix, Debian ChangeLog-5.10.153; 5.10.262 mm/memory.c copy_present_page(): `if (!PageAnon(page)) return 1;`' },
      '5.15': { release: '5.15.173', commit: 'a5ee9fe48fa5', evidence: 'stable-only fix, signed push to linux-5.15.y ending at "Linux 5.15.173"' },
    },
  },
  {
    name: 'hugetlb_fork_early_cow_anon_only',
    since: '5.19',
    commit: 'fb3d824d1a46',
    title: 'mm/rmap: split page_dup_rmap() into page_dup_file_rmap() and page_try_dup_anon_rmap() (copy_hugetlb_page_range: page_dup_file_rmap for non-anon)',
    effect:
      'copy_hugetlb_page_range() copies a maybe-pinned hugetlb page for the child only if it is anonymous; 4eae4efa2c29 (5.12) to 5.18 copied any maybe-pinned page of a COW mapping (5.15.224 mm/hugetlb.c:4374 `page_needs_cow_for_dma(vma, ptepage)`, no PageAnon test; no stable fix).',
    status: 'VERIFIED',
    evidence: '5.15.224 mm/hugetlb.c:4374 copies any maybe-pinned page of a COW mapping (no PageAnon test); 5.19.17 copy_hugetlb_page_range() dups file pages with page_dup_file_rmap().',
  },
  {
    name: 'no_swapcache_pinned',
    since: '5.11',
    commit: 'feb889fb40fa',
    title: "mm: don't put pinned pages into the swap cache",
    effect: 'reclaim skips a maybe-pinned anon page instead of adding it to the swap cache.',
    status: 'VERIFIED',
    evidence: 'feb889fb40fa in a 5.11-rc4 revlist; the folio_maybe_dma_pinned() skip before add_to_swap read in 5.10.262 mm/vmscan.c (Debian ChangeLog-5.10.9 backport); absent in 5.4.291.',
    backports: {
      '5.10': { release: '5.10.9', commit: '72c5ce89427f', evidence: 'revlist between "Linux 5.10.8" and "Linux 5.10.9"; Debian ChangeLog-5.10.9; 5.10.262 mm/vmscan.c' },
    },
  },
  {
    name: 'vmscan_skip_pinned',
    since: '6.4',
    commit: 'd824ec2a1546',
    title: 'mm: do not reclaim private data from pinned page',
    effect:
      'shrink_folio_list(): once try_to_unmap() has unmapped a folio, a maybe-pinned one is activated instead of reclaimed, so an ext4 page keeps its buffers (and an anon page is not written to swap) while a device may still write it. Before, reclaim released the buffers of a clean pinned page (seed 003).',
    status: 'VERIFIED',
    evidence: '"[PATCH 6.2 620/663] mm: do not reclaim private data from pinned page"; the test after try_to_unmap read in 6.1.192 mm/vmscan.c:1897-1905, u6.2, u6.5 and 6.12.117; absent in 5.10.262 and 5.15.224. A Debian 6.1.0-57 guest keeps PG_private on a pinned ext4 page through reclaim.',
    backports: {
      '6.1': {
        release: '6.1.28',
        commit: '',
        evidence:
          'Debian linux-source-6.1 changelog (ChangeLog-6.1.28); 6.1.192 mm/vmscan.c:1897-1905; Debian 6.1.0-57 guest keeps PG_private on a pinned ext4 page through memory.reclaim (kpageflags). Absent from 5.10.262 and 5.15.224.',
      },
    },
  },
  {
    name: 'secretmem',
    since: '5.14',
    commit: '1507f51255c9',
    title: 'mm: introduce memfd_secret system call to create "secret" memory areas',
    effect: 'memfd_secret() exists; check_vma_flags() refuses its VMAs (-EFAULT) and GUP-fast refuses its folios, so no GUP user (O_DIRECT, vmsplice, io_uring, /proc/pid/mem) can reach it.',
    status: 'VERIFIED',
    evidence: 'memfd_secret() and vma_is_secretmem() read in 5.15.224 mm/secretmem.c:237, 6.12.117 mm/gup.c:1289 and gup_fast_folio_allowed :2833-2898; absent in 5.10.262. Default off (secretmem.enable) in 5.15/6.1/6.2, on from 6.5 (b758fe6df50d).',
  },
  {
    name: 'secretmem_enabled',
    since: '6.5',
    commit: 'b758fe6df50d',
    title: 'mm/secretmem: make it on by default',
    effect:
      'memfd_secret() works without booting with secretmem.enable=1; before (5.14-6.4, and 5.15.y/6.1.y today) it returns ENOSYS unless that parameter is given. A variant (5.18+secretmem_enabled) models a kernel booted with it.',
    status: 'VERIFIED',
    evidence: 'mm/secretmem.c `static bool secretmem_enable __ro_after_init;` in 5.15.224 :38, 6.1.192 :41, u6.2 :38; `= 1` in u6.5 :38 and 6.12.117 :40; memfd_secret() `if (!secretmem_enable || !can_set_direct_map()) return -ENOSYS;`. A Debian 6.1.0-57 guest without the parameter gives ENOSYS.',
  },
  {
    name: 'ext4_bufferless_warn',
    since: '5.18',
    commit: 'cc5095747edf',
    title: "ext4: don't BUG if someone dirty pages without asking ext4 first",
    effect: 'ext4 writeback of a dirty page without buffers warns, clears dirty and skips the page (data dropped) instead of BUG().',
    status: 'VERIFIED',
    evidence: 'AUTOSEL mail with the full upstream sha; the warning + ClearPageDirty read in 5.10.262 fs/ext4/inode.c:2053-2059, :2674-2679, 5.15.224 :2023, :2643, 6.1.192 :2053, :2670, 6.12.117 :2525-2529.',
    backports: {
      '5.10': {
        release: '5.10.110',
        commit: '330d0e44fc5a',
        evidence: 'AUTOSEL "[PATCH AUTOSEL 5.10 4/8]" (upstream cc5095747edf); Debian linux-source-5.10 changelog (ChangeLog-5.10.110); 5.10.262 fs/ext4/inode.c:2053, :2674',
      },
      '5.15': {
        release: '5.15.33',
        commit: 'a0856764dc12',
        evidence: 'signed push to linux-5.15.y ending at "Linux 5.15.33"; 5.15.224 (Ubuntu linux-source-5.15.0) fs/ext4/inode.c:2023, :2643',
      },
    },
  },
  {
    name: 'page_anon_exclusive',
    since: '5.19',
    commit: '6c287605fd56',
    title: 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive',
    effect: 'anon pages carry PageAnonExclusive: do_wp_page reuses exclusive pages; fork (page_try_dup_anon_rmap) copies exclusive maybe-pinned pages and clears the bit otherwise.',
    status: 'VERIFIED',
    evidence: 'PG_anon_exclusive absent in 5.15.224, present in 5.19.17 (include/linux/page-flags.h, mm/rmap.c page_try_dup_anon_rmap), 6.1.192 and 6.12.117.',
  },
  {
    name: 'gup_unshare_anon',
    since: '5.19',
    commit: 'a7f226604170',
    title: 'mm/gup: trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared anonymous page',
    effect: 'gup_must_unshare(): a R/O FOLL_PIN of a !PageAnonExclusive anon page returns -EMLINK and faults with FAULT_FLAG_UNSHARE first.',
    status: 'VERIFIED',
    evidence: 'gup_must_unshare() read in 5.19.17 include/linux/mm.h:3075-3095, 6.1.192 :3189-3224, 6.12.117 mm/internal.h:1373-1416; absent in 5.15.224.',
  },
  {
    name: 'foll_force_anon_exclusive',
    since: '6.0',
    commit: '5535be309971',
    title: 'mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW',
    effect: 'a FOLL_FORCE write follows a R/O pte only in a private, VM_MAYWRITE, !VM_WRITE vma on a PageAnonExclusive anon page (replaces gup_foll_cow).',
    status: 'VERIFIED',
    evidence: '5535be309971 (CVE-2022-2590) in the 6.0 window, backported to 5.19.6 (Debian changelog); can_follow_write_pte(pte, page, vma, flags) read in 6.1.192 mm/gup.c:506-541 and 6.12.117 :802ff; not in 5.10.262/5.15.224.',
  },
  {
    name: 'foll_pci_p2pdma',
    since: '6.2',
    commit: '4003f107fa2e',
    title: 'mm: introduce FOLL_PCI_P2PDMA to gate getting PCI P2PDMA pages',
    effect:
      'the FOLL_PCI_P2PDMA flag exists; try_grab_folio() refuses a P2PDMA page without it (EREMOTEIO, GUP-fast falls back); O_DIRECT passes it (5e3e3f2e15df "block: set FOLL_PCI_P2PDMA in __bio_iov_iter_get_pages()"). Before 6.2 using the flag is an error naming 6.2. (research/kernel-history.md gives 4293a0a2c4b5; the linux-next and for-6.2/block logs give 4003f107fa2e.)',
    status: 'VERIFIED',
    evidence: 'Full shas in the md-next revlist based on block for-6.2; try_grab_page() FOLL_PCI_P2PDMA refusal read in u6.2 mm/gup.c:222-223 and 6.12.117; absent in 6.1.192.',
  },
  {
    name: 'p2pdma_user_mmap',
    since: '6.2',
    commit: '7e9c7ef83d78',
    title: 'PCI/P2PDMA: Allow userspace VMA allocations through sysfs',
    effect: 'a P2PDMA BAR can be mmap()ed from /sys/bus/pci/devices/*/p2pmem/allocate (`p2pmem` in pinlab); before, there is no such file (mmap gives ENODEV).',
    status: 'VERIFIED',
    evidence: '7e9c7ef83d78 cited by mainline Fixes: tags; p2pmem_alloc_mmap() in u6.2 drivers/pci/p2pdma.c; absent in 6.1.192.',
  },
  {
    name: 'p2pdma_longterm',
    since: 'never',
    commit: '"[PATCH v5 3/4] mm/gup: allow FOLL_LONGTERM & FOLL_PCI_P2PDMA" (Martin Oliveira, 2024-08-08)',
    title: 'mm/gup: allow FOLL_LONGTERM & FOLL_PCI_P2PDMA (proposal; not merged)',
    effect:
      'is_valid_gup_args() accepts FOLL_LONGTERM together with FOLL_PCI_P2PDMA. Never merged: 6.12.117 mm/gup.c:2632 and 7.2.13 mm/gup.c:2544 still refuse the combination (WARN, EINVAL); a variant (+p2pdma_longterm) shows the proposal.',
    status: 'VERIFIED',
    evidence: 'The v5 proposal (2024-08-08) drew objections and was not merged: is_valid_gup_args() still refuses FOLL_LONGTERM|FOLL_PCI_P2PDMA in 6.12.117 mm/gup.c:2632 and 7.2.13 mm/gup.c:2544.',
  },
  {
    name: 'thp_cow_split_pmd',
    since: '5.8',
    commit: '3917c80280c9',
    title: 'thp: change CoW semantics for anon-THP',
    effect: 'a COW fault on a PMD-mapped anon THP that cannot be reused splits the PMD and copies one 4K page (do_wp_page); before, do_huge_pmd_wp_page() copied the whole huge page into a new THP.',
    status: 'VERIFIED',
    evidence: '3917c80280c9 with a "# v5.8+" stable tag; do_huge_pmd_wp_page read in 5.4.291 (copies the THP) and 5.10.262 (splits: __split_huge_pmd + VM_FAULT_FALLBACK).',
  },
  {
    name: 'thp_wp_refcount',
    since: '5.18',
    commit: '3bff7e3f1f16',
    title: 'mm/huge_memory: streamline COW logic in do_huge_pmd_wp_page() (COW fixes part 1: the COW security issue for THP and swap)',
    effect: 'do_huge_pmd_wp_page() reuses a PMD-mapped THP only if its refcount is 1 (plus the swap cache); before, reuse_swap_page()/page_trans_huge_mapcount() reused it when mapped once, whatever other references (a vmsplice-held THP kept seeing the writer: CVE-2020-29374 for THP).',
    status: 'VERIFIED',
    evidence: '3bff7e3f1f16 in the 5.18 merge-window revlist; do_huge_pmd_wp_page read in 5.15.224 (reuse_swap_page/page_trans_huge_mapcount) and 5.19.17 (page_count != 1 + swapcache -> fallback).',
  },
  {
    name: 'madv_cold',
    since: '5.4',
    commit: '9c276cc65a58',
    title: 'mm: introduce MADV_COLD',
    effect: 'MADV_COLD exists: it deactivates the pages it may (not hugetlb: EINVAL); pinlab has no LRU ages, so it changes nothing observable. Before, advice 20 is unknown (EINVAL).',
    status: 'VERIFIED',
    evidence: 'madvise_cold() in 5.4.291, 5.10.262 and 6.12.117 mm/madvise.c (can_madv_lru_vma refuses VM_HUGETLB; only pageout calls reclaim_pages); full sha and "since Linux 5.4" from the man-page patch mails.',
  },
  {
    name: 'madv_pageout',
    since: '5.4',
    commit: '1a4e58cce84e',
    title: 'mm: introduce MADV_PAGEOUT',
    effect:
      'MADV_PAGEOUT reclaims the pages of a range that this mapping alone maps (page_mapcount 1; a THP is split first, refused while it has references beyond its mappings); not on hugetlb (EINVAL). Before, advice 21 is unknown (EINVAL).',
    status: 'VERIFIED',
    evidence: 'madvise_cold_or_pageout_pte_range() read in 5.4.291, 5.10.262, 5.15, 5.19.17, 6.1.192, 6.2, 6.5, 6.8 and 6.12.117 mm/madvise.c; full sha and commit date 2019-09-25 from the syzbot bisection mail and the man-page mail.',
  },
  {
    name: 'madv_dontneed_hugetlb',
    since: '5.18',
    commit: '90e7e7f5ef3f',
    title: 'mm: enable MADV_DONTNEED for hugetlb mappings',
    effect: 'MADV_DONTNEED zaps hugetlb mappings; before, can_madv_lru_vma() made it EINVAL on a hugetlb VMA.',
    status: 'VERIFIED',
    evidence: '5.10.262 and 5.15 mm/madvise.c madvise_dontneed_free: `if (!can_madv_lru_vma(vma)) return -EINVAL`; 5.19.17 and 6.12.117 madvise_dontneed_free_valid_vma() allow VM_HUGETLB; full sha, title and commit date 2022-03-24 from the 5.18 merge revlist and the LTP mail.',
  },
  {
    name: 'mremap_hugetlb',
    since: '5.16',
    commit: '550a7d60bd5e',
    title: 'mm, hugepages: add mremap() support for hugepage backed vma',
    effect: 'mremap() moves hugetlb mappings (move_hugetlb_page_tables); before, vma_to_resize() refused a hugetlb VMA with EINVAL.',
    status: 'VERIFIED',
    evidence: '5.10.262 and 5.15 mm/mremap.c vma_to_resize: `if (is_vm_hugetlb_page(vma)) return ERR_PTR(-EINVAL)`; 5.19.17 and 6.12.117 call move_hugetlb_page_tables(); full sha in a 5.16 merge revlist, "queued for 5.16-rc2" fix mail.',
  },
  {
    name: 'madv_collapse',
    since: '6.1',
    commit: '7d8faaf15545',
    title: 'mm/madvise: introduce MADV_COLLAPSE sync hugepage collapse',
    effect: 'MADV_COLLAPSE collapses a range into THPs synchronously; a page with references beyond its mappings (pinned, GUP-held) fails with SCAN_PAGE_COUNT. Before, advice 25 is unknown (EINVAL).',
    status: 'VERIFIED',
    evidence: 'MADV_COLLAPSE absent in 5.19.17, present in 6.1.192 mm/khugepaged.c (madvise_collapse), named 6.1 by the author\'s man-page mail.',
  },
  {
    name: 'madv_collapse_eagain',
    since: '6.2',
    commit: 'ae63c898f400',
    title: 'mm/MADV_COLLAPSE: set EAGAIN on unexpected page refcount',
    effect: 'SCAN_PAGE_COUNT makes MADV_COLLAPSE fail with EAGAIN; in 6.1.0-6.1.12 it fell through to EINVAL.',
    status: 'VERIFIED',
    evidence: 'ae63c898f400 full sha in revlists; SCAN_PAGE_COUNT -> -EAGAIN read in 6.1.192 mm/khugepaged.c (6.1.13 backport, Debian changelog); a Debian 6.1.0-57 guest returns EAGAIN.',
    backports: {
      '6.1': {
        release: '6.1.13',
        commit: 'fd71c8d3b005',
        evidence: 'Debian linux-source-6.1 changelog (ChangeLog-6.1.13); 6.1.y sha from a tree merging v6.1.13 (post-receive revlist, wsa/linux renesas/bsp61); Debian 6.1.0-57 guest returns EAGAIN',
      },
    },
  },
  {
    name: 'wp_no_reuse_large',
    since: '6.9',
    commit: '781a3ca5c345',
    title: 'mm: prohibit the last subpage from reusing the entire large folio (Barry Song)',
    effect: 'do_wp_page() never reuses a non-exclusive page of a large folio ("let\'s just consistently not reuse subpages"); 5.19-6.8 reused it when the refcount was 1, i.e. when only that page was still mapped.',
    status: 'VERIFIED',
    evidence: '781a3ca5c345 in the MM updates for 6.9-rc1 pull; absent in u6.8 (6.8.12) mm/memory.c, present in 6.12.117 wp_can_reuse_anon_folio (folio_test_large -> no reuse).',
  },
  {
    name: 'wp_reuse_large_mm_id',
    since: '6.15',
    commit: '1da190f4d0a6',
    title: 'mm: Copy-on-Write (COW) reuse support for PTE-mapped THP',
    effect: '__wp_can_reuse_large_anon_folio(): a large anon folio mapped only by this mm, with no references beyond its mappings, is reused.',
    status: 'VERIFIED',
    evidence: '1da190f4d0a6 (mails: v3 patch, 6.15 pull); __wp_can_reuse_large_anon_folio() read in the v3 patch and 7.2.13 mm/memory.c.',
  },
  {
    name: 'gup_unshare_cow_mapping',
    since: '6.2',
    commit: '84209e87c696',
    title: 'mm/gup: reliable R/O long-term pinning in COW mappings (needs 8d6a0ac09a16 "mm: extend FAULT_FLAG_UNSHARE support to anything in a COW mapping")',
    effect: 'gup_must_unshare() also fires for non-anon pages when FOLL_LONGTERM in a COW mapping (GUP-fast falls back); the unshare fault gives an exclusive anon copy.',
    status: 'VERIFIED',
    evidence: 'gup_must_unshare() FOLL_LONGTERM / non-anon branch absent in 6.1.192 include/linux/mm.h:3189-3224, present in u6.2 :3242-3260 and 6.12.117 mm/internal.h:1387-1405.',
  },
  {
    name: 'dio_foll_pin',
    since: '6.5',
    commit: 'a7e689dd1c06',
    title: 'block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages (iomap/ext4 O_DIRECT; fs/direct-io.c got 1ccf164ec866 in the same 6.5 block pull)',
    effect:
      'O_DIRECT takes FOLL_PIN references on user memory (iov_iter_extract_user_pages -> pin_user_pages_fast, released by unpin_user_page: BIO_PAGE_PINNED); before, FOLL_GET (iov_iter_get_pages, put_page). 6.1.192 and 6.2.16 block/bio.c still use iov_iter_get_pages; 6.5.13 and 6.12.117 pin. Not backported to 6.1.',
    status: 'VERIFIED',
    evidence: '"Block updates for 6.5" pull (David Howells\' page pinning for dio); 6.1.192 block/bio.c:1217 and u6.2 (6.2.16) :1267-1279 still iov_iter_get_pages (FOLL_GET); u6.5 :1236-1266 and 6.12.117 :1327-1360 iov_iter_extract_pages -> pin_user_pages_fast.',
  },
  {
    name: 'writable_file_mapping_check',
    since: '6.5',
    commit: '8ac268436e6d',
    title: 'mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings',
    effect: 'check_vma_flags(): FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE on a file vma that needs dirty tracking (writable_file_mapping_allowed) is -EFAULT.',
    status: 'VERIFIED',
    evidence: '8ac268436e6d (v8 series, 6.5 window); writable_file_mapping_allowed() absent in u6.2, present in u6.5 mm/gup.c:1019-1035 and 6.12.117 :1252-1294.',
  },
  {
    name: 'gup_fast_longterm_file_check',
    since: '6.5',
    commit: 'a6e79df92e4a',
    title: 'mm/gup: disallow FOLL_LONGTERM GUP-fast writing to file-backed mappings',
    effect: 'folio_fast_pin_allowed(): GUP-fast refuses FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE on folios that are not anon, shmem or hugetlb and falls back to the slow path.',
    status: 'VERIFIED',
    evidence: 'a6e79df92e4a (same series); folio_fast_pin_allowed() absent in u6.2, present in u6.5 mm/gup.c:2454-2505, renamed gup_fast_folio_allowed() in u6.8 and 6.12.117 :2833.',
  },
  {
    name: 'guest_memfd',
    since: '6.8',
    commit: 'a7800aa80ea4',
    title: 'KVM: Add KVM_CREATE_GUEST_MEMFD ioctl() for guest-specific backing memory',
    effect: 'guest_memfd() (and memfd_restricted()) create a file with no user mapping whose mapping is unmovable (AS_UNMOVABLE, 0003e2a41468; AS_INACCESSIBLE from 6.11, 27e6a24a4cf3): move_to_new_folio() refuses migration with EOPNOTSUPP, and compaction never isolates its folios.',
    status: 'VERIFIED',
    evidence: 'virt/kvm/guest_memfd.c absent in u6.5, present in u6.8 (6.8.12) :361-367 (mapping_set_unmovable) and 6.12.117 :437-443 (mapping_set_inaccessible); migration refused in mm/migrate.c move_to_new_folio (u6.8 :974-977, 6.12.117 :1076-1077).',
  },
  {
    name: 'upm_v10',
    since: 'never',
    commit: 'v10 series (Chao Peng, 2022-12)',
    title: 'mm: Introduce memfd_restricted system call to create restricted user memory',
    effect: 'memfd_restricted() creates shmem-backed memory with no user mapping; KVM releases its page reference after mapping (kvm_release_pfn_clean) and migration sends no notification.',
    status: 'VERIFIED',
    evidence: '"[PATCH v10 1/9] mm: Introduce memfd_restricted system call" (Chao Peng, 2022-12-02) and the thread (kvm_release_pfn_clean, no migration notification).',
  },
  {
    name: 'restricted_aops',
    since: 'never',
    commit: 'Kirill A. Shutemov, 2023-01-23 (seed 004)',
    title: 'restrictedmem: own address_space_operations',
    effect: 'restricted memory migration returns -EBUSY; memory failure notifies the bindings (error_remove_page).',
    status: 'VERIFIED',
    evidence: 'Kirill A. Shutemov, 2023-01-23, <20230123154334.mmbdpniy76zsec5m@box> (seed 004): restricted_aops with migrate_folio -> -EBUSY and error_remove_page notifying the bindings.',
  },
];

export const KNOB_BY_NAME: ReadonlyMap<string, Knob> = new Map(KNOBS.map((k) => [k.name, k]));
