// What differs between two snapshots at the same step (side-by-side view).
// Elements are matched by identity: folio id, process + address, pin id,
// file + page index, secondary + address.

import type { Folio, Pte, Snapshot } from './api.js';

/** key -> human description of what differs ("only in 5.9" or "refcount 2 vs 1, ...") */
export type DiffMap = Map<string, string>;

const FOLIO_FIELDS: (keyof Folio)[] = [
  'value',
  'refcount',
  'mapcount',
  'pincount',
  'pins',
  'anon',
  'exclusive',
  'dirty',
  'writeback',
  'buffers',
  'lru',
  'swapcache',
  'large',
  'hugetlb',
  'ksm',
  'secure',
  'freed',
  'file',
  'index',
];
const PTE_FIELDS: (keyof Pte)[] = ['present', 'write', 'dirty', 'folio', 'pmd', 'special', 'swap', 'migration', 'hwpoison'];

function fmt(v: unknown): string {
  return v === undefined || v === null ? '—' : typeof v === 'string' ? `'${v}'` : String(v);
}

function fields<T>(a: T, b: T, keys: (keyof T)[]): string {
  const out: string[] = [];
  for (const k of keys) {
    const x = a[k] ?? null;
    const y = b[k] ?? null;
    // a flag one kernel does not have at all (PageAnonExclusive before 5.19) is not a difference
    if (k === 'exclusive' && (x === null || y === null)) continue;
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${String(k)} ${fmt(x)} ↔ ${fmt(y)}`);
  }
  return out.join('; ');
}

export const folioKey = (id: number) => `folio:${id}`;
export const pteKey = (proc: string, va: number) => `pte:${proc}:${va}`;
export const vmaKey = (proc: string, start: number) => `vma:${proc}:${start}`;
export const pinKey = (id: number) => `pin:${id}`;
export const slotKey = (file: string, i: number) => `slot:${file}:${i}`;
export const diskKey = (file: string, i: number) => `disk:${file}:${i}`;
export const spteKey = (sec: string, va: number) => `spte:${sec}:${va}`;
export const procKey = (proc: string) => `proc:${proc}`;

/** Everything in `a` that is missing from or different in `b`. */
export function diffSnapshots(a: Snapshot, b: Snapshot, otherName: string): DiffMap {
  const d: DiffMap = new Map();
  const only = `missing in ${otherName}`;
  const bf = new Map(b.folios.map((f) => [f.id, f]));
  for (const f of a.folios) {
    const g = bf.get(f.id);
    if (!g) d.set(folioKey(f.id), only);
    else {
      const s = fields(f, g, FOLIO_FIELDS);
      if (s) d.set(folioKey(f.id), s);
    }
  }
  const bp = new Map(b.procs.map((p) => [p.name, p]));
  for (const p of a.procs) {
    const q = bp.get(p.name);
    if (!q) {
      d.set(procKey(p.name), only);
      for (const t of p.ptes) d.set(pteKey(p.name, t.va), only);
      for (const v of p.vmas) d.set(vmaKey(p.name, v.start), only);
      continue;
    }
    if (p.alive !== q.alive) d.set(procKey(p.name), `alive ${p.alive} ↔ ${q.alive}`);
    const qv = new Map(q.vmas.map((v) => [v.start, v]));
    for (const v of p.vmas) {
      const w = qv.get(v.start);
      if (!w) d.set(vmaKey(p.name, v.start), only);
      else {
        const s = fields(v, w, ['pages', 'prot', 'shared', 'file', 'flags']);
        if (s) d.set(vmaKey(p.name, v.start), s);
      }
    }
    const qt = new Map(q.ptes.map((t) => [t.va, t]));
    for (const t of p.ptes) {
      const u = qt.get(t.va);
      if (!u) d.set(pteKey(p.name, t.va), only);
      else {
        const s = fields(t, u, PTE_FIELDS);
        if (s) d.set(pteKey(p.name, t.va), s);
      }
    }
  }
  const bpin = new Map(b.pins.map((p) => [p.id, p]));
  for (const p of a.pins) {
    const q = bpin.get(p.id);
    if (!q) d.set(pinKey(p.id), only);
    else {
      const s = fields(p, q, ['active', 'folios', 'foll', 'kind', 'pages']);
      if (s) d.set(pinKey(p.id), s);
    }
  }
  const bfile = new Map(b.files.map((f) => [f.name, f]));
  for (const f of a.files) {
    const g = bfile.get(f.name);
    const n = Math.max(f.cache.length, f.disk.length);
    for (let i = 0; i < n; i++) {
      const c = f.cache[i] ?? null;
      const c2 = g ? (g.cache[i] ?? null) : undefined;
      if (c2 === undefined) d.set(slotKey(f.name, i), only);
      else if (c !== c2) d.set(slotKey(f.name, i), `cached folio ${fmt(c)} ↔ ${fmt(c2)}`);
      const k = f.disk[i];
      const k2 = g?.disk[i];
      if (k !== k2) d.set(diskKey(f.name, i), `disk ${fmt(k)} ↔ ${fmt(k2)}`);
    }
  }
  const bs = new Map(b.secondaries.map((s) => [s.name, s]));
  for (const s of a.secondaries) {
    const t = bs.get(s.name);
    const tm = new Map((t?.sptes ?? []).map((e) => [e.va, e]));
    for (const e of s.sptes) {
      const f = tm.get(e.va);
      if (!f) d.set(spteKey(s.name, e.va), only);
      else if (f.folio !== e.folio || f.write !== e.write) d.set(spteKey(s.name, e.va), fields(e, f, ['folio', 'write']));
    }
  }
  return d;
}

/** A diff key as a reader names the thing: "folio #1", "A's PTE at 0x10000000". */
export function keyLabel(key: string, addr: (va: number) => string): string {
  const [kind, a, b] = key.split(':');
  switch (kind) {
    case 'folio':
      return `folio #${a}`;
    case 'pte':
      return `${a}'s PTE ${addr(Number(b))}`;
    case 'vma':
      return `${a}'s VMA at ${addr(Number(b))}`;
    case 'proc':
      return `process ${a}`;
    case 'pin':
      return `pin #${a}`;
    case 'slot':
      return `${a} page ${b} in the page cache`;
    case 'disk':
      return `${a} page ${b} on disk`;
    case 'spte':
      return `${a}'s SPTE ${addr(Number(b))}`;
    default:
      return key;
  }
}
