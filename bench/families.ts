// Scenario families for the pinlab / SPIN benchmark (bench/spin.bench.ts).
//
// Each family has two models of the same race at size A×B: a pinlab scenario
// generated here, and a Promela model in bench/spin/<family>.pml taking the
// size as preprocessor macros (`spin -DN=.. -DW=.. -a`). The Promela models
// mirror pinlab's model (src/model/*.ts) on one kernel profile segment for
// segment: one d_step is one pinlab transition (a thread running from one
// preemption point to the next). bench/README.md says where they differ.

export interface Family {
  /** the name used on the command line and in the tables */
  name: string;
  /** one line: what races what */
  what: string;
  /** the pinlab kernel profile the scenario is explored on */
  kernel: string;
  /** the two size parameters, e.g. ['N readers', 'W writebacks'] */
  dims: [string, string];
  /** sizes run by default, smallest first */
  sizes: [number, number][];
  /** the violation kind both models look for */
  violation: string;
  /** whether that violation is reachable (both models must agree with this) */
  expectViolation: boolean;
  /** the Promela file, relative to bench/spin/ */
  pml: string;
  /** `-D` macros for `spin -a` at size a×b */
  defines(a: number, b: number): string[];
  /** the pinlab scenario text at size a×b */
  scenario(a: number, b: number): string;
}

/** `par { T1 } { T2 } …`, each thread a list of statements. */
function par(threads: string[][]): string[] {
  const out = ['par {'];
  threads.forEach((t, i) => {
    if (i > 0) out.push('} {');
    for (const s of t) out.push(`  ${s}`);
  });
  out.push('}');
  return out;
}

/**
 * N O_DIRECT readers into two MAP_SHARED ext4 pages racing W background
 * writebacks, checking for untracked dirtying (the short-term form of the
 * long-term pin problem: corpus/threads/t003, corpus/50). Page i is the only
 * page of ext4 file f_i, mapped shared and written once by A (page_mkwrite:
 * buffers, dirty). Reader r reads src page 0 into x_(r mod 2): GUP-fast
 * FOLL_PIN|FOLL_WRITE (or the slow path's write fault after writeback
 * write-protected the PTE), the DMA, then unpin dirty. Writeback w writes back
 * f_(w mod 2): page_mkclean + clear dirty, then the I/O. A reader pinned before
 * the clean dirties the page behind ext4's back: UNTRACKED_DIRTY.
 */
export const odirectWriteback: Family = {
  name: 'odirect-writeback',
  what: 'N O_DIRECT readers into two MAP_SHARED ext4 pages x W writebacks (UNTRACKED_DIRTY)',
  kernel: '6.18',
  dims: ['N readers', 'W writebacks'],
  sizes: [
    [2, 2],
    [3, 2],
    [3, 3],
    [4, 2],
    [4, 3],
    [5, 3],
  ],
  violation: 'UNTRACKED_DIRTY',
  expectViolation: true,
  pml: 'odirect_writeback.pml',
  defines: (n, w) => [`-DN=${n}`, `-DW=${w}`],
  scenario(n, w) {
    const lines = [
      `scenario bench-odirect-writeback-${n}x${w}`,
      'source bench/families.ts (issue 14): corpus/threads/t003 and corpus/50 scaled to N readers and W writebacks',
      `kernels ${this.kernel}`,
      '',
      "file src on ext4 pages 1 = 's'",
      "file f0 on ext4 pages 1 = 'd'",
      "file f1 on ext4 pages 1 = 'd'",
      'A: x0 = mmap(f0, 1, PROT_READ|PROT_WRITE, MAP_SHARED)',
      'A: x1 = mmap(f1, 1, PROT_READ|PROT_WRITE, MAP_SHARED)',
      "A: x0[0] = 'a'",
      "A: x1[0] = 'a'",
      ...par([
        ...Array.from({ length: n }, (_, r) => [`A: odirect_read(src, 0, x${r % 2})`]),
        ...Array.from({ length: w }, (_, j) => [`sys: writeback(f${j % 2})`]),
      ]),
      '',
      'exists violation(UNTRACKED_DIRTY)',
    ];
    return lines.join('\n') + '\n';
  },
};

/**
 * P GUP-fast long-term write pins, one page each, racing F forks of the same
 * process (corpus/51 scaled), on 6.18 without write_protect_seq (57efa1fe5957):
 * a pin that lands between copy_present_pte()'s decision and its write-protect
 * leaves the page shared with the child; A's next write COWs away from the
 * pinned page and the device's write is lost (DMA_LOST). Each pin is GUP-fast
 * (P2 between reading the PTE and grabbing the folio) falling back to the slow
 * path (write fault, COW, P1); each fork copies the P PTEs (P7 per PTE and
 * inside copy_present_pte), holding mmap_lock for write.
 */
export const forkGupFast: Family = {
  name: 'fork-gup-fast',
  what: 'P GUP-fast FOLL_LONGTERM write pins x F forks, 6.18 without write_protect_seq (DMA_LOST)',
  kernel: '6.18-gup_fast_write_protect_seq',
  dims: ['P pins', 'F forks'],
  sizes: [
    [1, 1],
    [2, 1],
    [1, 2],
    [2, 2],
    [3, 1],
    [3, 2],
    [4, 2],
    [4, 3],
  ],
  violation: 'DMA_LOST',
  expectViolation: true,
  pml: 'fork_gup_fast.pml',
  defines: (p, f) => [`-DP=${p}`, `-DF=${f}`],
  scenario(p, f) {
    const pages = Array.from({ length: p }, (_, i) => i);
    const lines = [
      `scenario bench-fork-gup-fast-${p}x${f}`,
      'source bench/families.ts (issue 14): corpus/51 (57efa1fe5957) scaled to P pins and F forks',
      `kernels ${this.kernel}`,
      '',
      'device dev',
      ...pages.flatMap((i) => [`A: x${i} = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)`, `A: x${i}[0] = 'a'`]),
      ...par([
        ...pages.map((i) => [`A: p${i} = pin_user_pages_fast(x${i}, 1, FOLL_WRITE|FOLL_LONGTERM)`]),
        ...Array.from({ length: f }, (_, j) => [`A: B${j} = fork()`]),
      ]),
      ...pages.flatMap((i) => [`A: x${i}[0] = 'b'`, `dev: dma_write(p${i}, 0, 'c')`]),
      '',
      'exists violation(DMA_LOST)',
    ];
    return lines.join('\n') + '\n';
  },
};

export const FAMILIES: Family[] = [odirectWriteback, forkGupFast];

export function familyByName(name: string): Family | undefined {
  return FAMILIES.find((f) => f.name === name);
}
