// A readable picture of the model's state, for the web page's step view:
// processes -> VMAs -> PTEs -> folios -> files, pins as edges, SPTEs. It reads
// the flat state through the Kernel accessors and names things the way the
// scenario does; it changes nothing.

import type { Kernel } from '../model/kernel.js';
import type { Run } from '../interp/interpreter.js';
import { follNames } from '../model/folio.js';
import { VIOLATION_BIT } from '../model/kernel.js';
import { VIOLATION_KINDS } from '../lang/ops.js';
import {
  E_FOLIO,
  F_COMPOUND,
  F_INDEX,
  F_MAPPING,
  F_PINCOUNT,
  F_PINS,
  F_VALUE,
  FS_EXT4,
  FS_GUEST,
  FS_HUGETLBFS,
  FS_P2PDMA,
  FS_SECRETMEM,
  FS_TMPFS,
  H_NEXT_FILE,
  H_NEXT_FOLIO,
  H_NEXT_PIN,
  K_FOLL,
  K_KIND,
  K_NPAGES,
  K_OWNER,
  K_STATE,
  K_VA,
  PG_ALIVE,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DIRTY,
  PG_FREED,
  PG_HUGETLB,
  PG_KSM,
  PG_LARGE,
  PG_LRU,
  PG_PRIVATE,
  PG_SECURE,
  PG_SWAPCACHE,
  PG_WRITEBACK,
  PG_ZERO,
  PIN_ACTIVE,
  PIN_KIND_DIO,
  PIN_KIND_PIPE,
  PTE_DIRTY,
  PTE_HWPOISON,
  PTE_MIGRATION,
  PTE_PMD,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_WRITE,
  S_FLAGS,
  S_FOLIO,
  SPTE_WRITE,
  T_FILE,
  T_PIN,
  T_PIPE,
  VM_DONTCOPY,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_MERGEABLE,
  VM_READ,
  VM_SHARED,
  VM_WIPEONFORK,
  VM_WRITE,
  showValue,
} from '../model/state.js';

export interface Snapshot {
  procs: {
    name: string;
    alive: boolean;
    vmas: { start: number; pages: number; prot: string; shared: boolean; file: string | null; flags: string[] }[];
    ptes: { va: number; present: boolean; write: boolean; dirty: boolean; pmd: boolean; special: boolean; swap: boolean; migration: boolean; hwpoison: boolean; folio: number | null }[];
  }[];
  folios: {
    id: number;
    refcount: number;
    mapcount: number;
    pincount: number;
    pins: number;
    anon: boolean;
    /** PageAnonExclusive; null on kernels without the bit (before 5.19) */
    exclusive: boolean | null;
    dirty: boolean;
    writeback: boolean;
    buffers: boolean;
    lru: boolean;
    swapcache: boolean;
    large: boolean;
    hugetlb: boolean;
    zero: boolean;
    freed: boolean;
    ksm: boolean;
    secure: boolean;
    value: string;
    file: string | null;
    index: number | null;
    head: number | null;
  }[];
  files: { name: string; fs: string; size: number; cache: (number | null)[]; disk: string[] }[];
  pins: { id: number; name: string | null; kind: 'gup' | 'pipe' | 'dio'; owner: string; va: number; pages: number; foll: string; active: boolean; folios: number[] }[];
  devices: string[];
  secondaries: { name: string; of: string; sptes: { va: number; folio: number; write: boolean }[] }[];
  violations: string[];
}

const FS_NAME: Record<number, string> = {
  [FS_EXT4]: 'ext4',
  [FS_TMPFS]: 'tmpfs',
  [FS_HUGETLBFS]: 'hugetlbfs',
  [FS_GUEST]: 'guest_memfd',
  [FS_SECRETMEM]: 'secretmem',
  [FS_P2PDMA]: 'p2pdma',
};

/** The state of a run, named as the scenario names things. */
export function snapshot(run: Run): Snapshot {
  const k: Kernel = run.k;
  const pr = run.pr;
  const s = k.s;
  const L = k.L;
  // names of run-time results that denote files, pins and pipes
  const fileName = new Map<number, string>(pr.sc.files.map((f, i) => [i, f.name.name]));
  const pinName = new Map<number, string>();
  for (const name of pr.resultIndex.keys()) {
    const r = run.result(name);
    if (r.tag === T_FILE && !fileName.has(r.val)) fileName.set(r.val, name);
    if (r.tag === T_PIN || r.tag === T_PIPE) pinName.set(r.val, name);
  }
  const fname = (fi: number) => fileName.get(fi) ?? `file ${fi}`;

  const procs: Snapshot['procs'] = [];
  for (let p = 0; p < L.d.procs; p++) {
    const name = pr.info.processes[p] ?? `process ${p}`;
    const vmas: Snapshot['procs'][number]['vmas'] = [];
    const ptes: Snapshot['procs'][number]['ptes'] = [];
    let cur: (typeof vmas)[number] | null = null;
    let curKey = '';
    for (let va = 0; va < L.d.vpages; va++) {
      const vmf = k.vmFlags(p, va);
      if (!vmf) {
        cur = null;
        continue;
      }
      const fi = k.vmFile(p, va);
      const key = `${vmf}|${fi}|${va - k.vmPgoff(p, va)}`;
      if (!cur || key !== curKey) {
        const flags: string[] = [];
        if (vmf & VM_DONTCOPY) flags.push('DONTFORK');
        if (vmf & VM_WIPEONFORK) flags.push('WIPEONFORK');
        if (vmf & VM_HUGEPAGE) flags.push('HUGEPAGE');
        if (vmf & VM_HUGETLB) flags.push('HUGETLB');
        if (vmf & VM_MERGEABLE) flags.push('MERGEABLE');
        cur = {
          start: va,
          pages: 0,
          prot: `${vmf & VM_READ ? 'r' : '-'}${vmf & VM_WRITE ? 'w' : '-'}`,
          shared: (vmf & VM_SHARED) !== 0,
          file: fi >= 0 ? fname(fi) : null,
          flags,
        };
        curKey = key;
        vmas.push(cur);
      }
      cur.pages++;
      const bits = k.pte(p, va);
      if (bits) {
        const o = L.pte(p, va);
        ptes.push({
          va,
          present: (bits & PTE_PRESENT) !== 0,
          write: (bits & PTE_WRITE) !== 0,
          dirty: (bits & PTE_DIRTY) !== 0,
          pmd: (bits & PTE_PMD) !== 0,
          special: (bits & PTE_SPECIAL) !== 0,
          swap: (bits & PTE_SWAP) !== 0,
          migration: (bits & PTE_MIGRATION) !== 0,
          hwpoison: (bits & PTE_HWPOISON) !== 0,
          folio: bits & (PTE_PRESENT | PTE_MIGRATION) ? s[o + E_FOLIO]! - 1 : null,
        });
      }
    }
    procs.push({ name, alive: k.procAlive(p), vmas, ptes });
  }

  const folios: Snapshot['folios'] = [];
  for (let f = 0; f < s[H_NEXT_FOLIO]!; f++) {
    if (!k.ftest(f, PG_ALIVE | PG_FREED)) continue;
    const m = k.fget(f, F_MAPPING);
    const tail = s[L.folio(f) + F_COMPOUND]! < 0;
    folios.push({
      id: f,
      refcount: k.fget(f, 1),
      mapcount: k.folioMapcount(f),
      pincount: k.fget(f, F_PINCOUNT),
      pins: k.fget(f, F_PINS),
      anon: k.ftest(f, PG_ANON),
      exclusive: k.on('page_anon_exclusive') ? k.ftest(f, PG_ANON_EXCLUSIVE) : null, // the bit exists from 5.19
      dirty: k.ftest(f, PG_DIRTY),
      writeback: k.ftest(f, PG_WRITEBACK),
      buffers: k.ftest(f, PG_PRIVATE),
      lru: k.ftest(f, PG_LRU),
      swapcache: k.ftest(f, PG_SWAPCACHE),
      large: k.ftest(f, PG_LARGE),
      hugetlb: k.ftest(f, PG_HUGETLB),
      zero: f === 0 || k.ftest(f, PG_ZERO),
      freed: k.ftest(f, PG_FREED),
      ksm: k.ftest(f, PG_KSM),
      secure: k.ftest(f, PG_SECURE),
      value: showValue(k.fget(f, F_VALUE)),
      file: m > 0 ? fname(m - 1) : null,
      index: m > 0 ? k.fget(f, F_INDEX) : null,
      head: tail ? k.head(f) : null,
    });
  }

  const files: Snapshot['files'] = [];
  for (let fi = 0; fi < s[H_NEXT_FILE]!; fi++) {
    const size = k.fileSize(fi);
    const cache: (number | null)[] = [];
    const disk: string[] = [];
    for (let i = 0; i < Math.min(size, L.d.filePages); i++) {
      const c = k.cachedFolio(fi, i);
      cache.push(c >= 0 ? c : null);
      disk.push(showValue(k.disk(fi, i)));
    }
    files.push({ name: fname(fi), fs: FS_NAME[k.fileFs(fi)] ?? 'fs', size, cache, disk });
  }

  const pins: Snapshot['pins'] = [];
  for (let h = 0; h < s[H_NEXT_PIN]!; h++) {
    const o = L.pin(h);
    const n = s[o + K_NPAGES]!;
    const fs: number[] = [];
    for (let i = 0; i < n; i++) fs.push(s[L.pinPage(h, i)]! - 1);
    const kind = s[o + K_KIND] === PIN_KIND_PIPE ? 'pipe' : s[o + K_KIND] === PIN_KIND_DIO ? 'dio' : 'gup';
    pins.push({
      id: h,
      name: pinName.get(h) ?? null,
      kind,
      owner: pr.info.processes[s[o + K_OWNER]! - 1] ?? '?',
      va: s[o + K_VA]!,
      pages: n,
      foll: follNames(s[o + K_FOLL]!),
      active: s[o + K_STATE] === PIN_ACTIVE,
      folios: fs,
    });
  }

  const secondaries = pr.sc.secondaries.map((sec, x) => {
    const sptes: { va: number; folio: number; write: boolean }[] = [];
    for (let va = 0; va < L.d.vpages; va++) {
      const o = L.spte(x, va);
      if (s[o + S_FOLIO]! > 0) sptes.push({ va, folio: s[o + S_FOLIO]! - 1, write: (s[o + S_FLAGS]! & SPTE_WRITE) !== 0 });
    }
    return { name: sec.name.name, of: sec.of.name, sptes };
  });

  return {
    procs,
    folios,
    files,
    pins,
    devices: pr.sc.devices.map((d) => d.name),
    secondaries,
    violations: VIOLATION_KINDS.filter((v) => s[0]! & VIOLATION_BIT[v]),
  };
}
