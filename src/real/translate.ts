// Translate a scenario into commands for the native runner (native/pinlab-real.c,
// protocol in native/PROTOCOL.md): the user-space-expressible part of the
// language. Every step either becomes commands or is "not runnable" with the
// reason. Nothing here knows the model: this layer sits beside the interpreter.

import type { Arg, Call, Scenario, Step, ValueLit } from '../lang/ast.js';
import type { CheckedInfo } from '../lang/check.js';
import { encodeChar } from '../model/state.js';
import { MADV as MADV_BY_NAME, MAP_BY_NAME, PROT_BY_NAME } from '../model/mmap.js';
import { flagBits, flagNames } from '../interp/interpreter.js';

/** One wire command without its seq: [actor, op, ...args]. */
export type Cmd = [number, string, ...(string | number)[]];

export interface RealStep {
  line: number;
  /** the step's source text */
  text: string;
  /** the result name the step assigns (synthetic `@L<line>` for unnamed calls) */
  name: string;
  /** what the value is: content (compare), handle (compare ok/errno), status */
  kind: 'value' | 'handle' | 'status';
  cmds: Cmd[];
  notRunnable?: string;
  /**
   * When the runner performs another call than the step's (io_uring registration
   * or a VFIO mapping for pin_user_pages*, a VFIO unmap for an unpin), that call in
   * the language: the model runs it too, and the scenario counts only if the model
   * finds the two equivalent on the profile (differential.ts).
   */
  standIn?: Call;
}

/** What the kernel and the place the runner runs in allow (the runner's `caps` command). */
export interface RealCaps {
  /** a throwaway guest: whole-machine operations are allowed */
  machine: boolean;
  /** memfd_secret() works (5.14+, and secretmem.enable on 6.1) */
  secretmem: boolean;
  /** two NUMA nodes: migrate() is move_pages(2) to the other one */
  numa: boolean;
  swap: boolean;
  ksm: boolean;
  hwpoison: boolean;
  /** a memory cgroup whose memory.reclaim reclaims the scenario's pages */
  reclaim: boolean;
  hugetlb: boolean;
  /** VFIO with QEMU's edu device behind an IOMMU: long-term pins with or without FOLL_WRITE, real DMA */
  vfio: boolean;
  /** pinlab's pinning test device (its test kernels): GUP of any kind and flags, device access, a secondary MMU */
  pinlab: boolean;
  /** a spare memory block to online as ZONE_MOVABLE for `memory movable` (machine) */
  movable: boolean;
  /** a PCI device whose P2PDMA memory user space can map (p2pmem/allocate) */
  p2pmem: boolean;
}

/** caps when nothing was asked: the host as before (no whole-machine operation) */
export const DEFAULT_CAPS: RealCaps = { machine: false, secretmem: false, numa: false, swap: false, ksm: false, hwpoison: false, reclaim: false, hugetlb: true, vfio: false, pinlab: false, movable: false, p2pmem: false };

/** The runner's caps bitmask (native/pinlab-real.c caps()). */
export function capsFromBits(b: number): RealCaps {
  return {
    machine: (b & 1) !== 0,
    secretmem: (b & 2) !== 0,
    numa: (b & 4) !== 0,
    swap: (b & 8) !== 0,
    ksm: (b & 16) !== 0,
    hwpoison: (b & 32) !== 0,
    reclaim: (b & 64) !== 0,
    hugetlb: (b & 128) !== 0,
    vfio: (b & 256) !== 0,
    pinlab: (b & 512) !== 0,
    movable: (b & 1024) !== 0,
    p2pmem: (b & 2048) !== 0,
  };
}

const IN_A_GUEST = 'it touches the whole machine: it runs in a throwaway guest (pinlab real --vm)';

export interface Translation {
  steps: RealStep[];
  /** commands the controller runs before the first step (files) */
  setup: Cmd[];
  /** hugetlb pages the scenario needs reserved */
  hugetlbPages: number;
  /** a reason the whole scenario cannot run (par/background), if any */
  scenarioReason?: string;
}

const PAGE = 4096;
const THP_UNIT = 1 << 20; // HPAGE_PMD_NR (2) model pages = one 2 MiB PMD
const HUGETLB_UNIT = 2 << 20;
const PMD_SIZE = 2 << 20;

const PROT = PROT_BY_NAME;
const MAPF = MAP_BY_NAME;
const MADV: Record<string, number> = MADV_BY_NAME;

const names = flagNames;
const bits = flagBits;
function int(a: Arg | undefined): number {
  return a && a.kind === 'int' ? a.n : 0;
}
/** `x+N`: N pages into the mapping (0 for a plain name) */
function pageOffset(a: Arg | undefined): number {
  return a?.kind === 'name' && a.offset ? a.offset.n : 0;
}

function nameOf(a: Arg | undefined): string {
  return a && a.kind === 'name' ? a.name : '';
}
/** FOLL_* names as an argument (0 for none). */
function flagsArg(ns: string[], pos: Call['pos']): Arg {
  if (!ns.length) return { kind: 'int', n: 0, pos };
  if (ns.length === 1) return { kind: 'name', name: ns[0]!, pos };
  return { kind: 'flags', names: ns.map((name) => ({ name, pos })), pos };
}
function value(v: ValueLit | Arg): number {
  if (v.kind === 'char') return encodeChar(v.ch);
  if (v.kind === 'int') return v.n | 0;
  throw new Error('not a value');
}

class NotRunnable extends Error {}

/** The device's GUP call kinds (kernel/pinlab_test.h). */
const DEV_GUP_KIND: Record<string, number> = {
  get_user_pages: 0,
  get_user_pages_fast: 1,
  get_user_pages_remote: 2,
  pin_user_pages: 3,
  pin_user_pages_fast: 4,
  pin_user_pages_remote: 5,
};
/** pinlab's FOLL_* bits for the device (kernel/pinlab_test.h); a name not here has no door even there. */
const DEV_FOLL: Record<string, number> = {
  FOLL_WRITE: 0x01,
  FOLL_FORCE: 0x02,
  FOLL_LONGTERM: 0x04,
  FOLL_ANON: 0x08,
  FOLL_TOUCH: 0x10,
  FOLL_REMOTE: 0x20,
  FOLL_PCI_P2PDMA: 0x40,
  FOLL_GET: 0x80,
};

/** Translate a checked scenario for a runner with these caps. */
export function translate(sc: Scenario, info: CheckedInfo, caps: RealCaps = DEFAULT_CAPS): Translation {
  const out: Translation = { steps: [], setup: [], hugetlbPages: 0 };
  if (sc.body.some((b) => b.kind === 'par') || sc.background.length)
    out.scenarioReason = 'a race (par/background): interleavings cannot be forced on the real kernel; the explorer settles it';
  if (sc.memory === 'movable' && caps.movable) {
    // pages then come from ZONE_MOVABLE first (the zonelist's highest zone of the local node)
    out.setup.push([-1, 'zone_movable']);
  } else if (sc.memory && sc.memory !== 'normal')
    out.scenarioReason = `memory ${sc.memory}: the zone of a page cannot be chosen from user space${sc.memory === 'movable' ? ' (a guest with a spare memory block can: --vm)' : ''}`;

  const procIndex = new Map(info.processes.map((p, i) => [p, i] as const));
  const fileUnit = new Map<string, number>();
  const fileFs = new Map<string, string>();
  for (const f of sc.files) {
    fileUnit.set(f.name.name, PAGE);
    fileFs.set(f.name.name, f.fs);
    if (f.fs === 'hugetlbfs') {
      if (!caps.hugetlb) continue; // reported at first use
      // memfd_create(MFD_HUGETLB) in the controller: hugetlbfs without a mount
      fileUnit.set(f.name.name, HUGETLB_UNIT);
      out.hugetlbPages += f.pages;
      out.setup.push([-1, 'file', f.name.name, 'hugetlb', f.pages, HUGETLB_UNIT, value(f.fill)]);
      continue;
    }
    out.setup.push([-1, 'file', f.name.name, f.fs === 'ext4' ? 'disk' : 'tmpfs', f.pages, PAGE, value(f.fill)]);
  }
  const steps: Step[] = [];
  for (const b of sc.body) if (b.kind === 'step') steps.push(b);
  else for (const t of b.threads) steps.push(...t);

  // which mappings become THP areas (MADV_HUGEPAGE / MADV_COLLAPSE anywhere on them)
  const thpNames = new Set<string>();
  for (const st of steps)
    if (st.stmt.kind === 'call' && st.stmt.call.name === 'madvise' && /^MADV_(HUGEPAGE|COLLAPSE)$/.test(nameOf(st.stmt.call.args[2])))
      thpNames.add(nameOf(st.stmt.call.args[0]));

  const unit = new Map<string, number>(); // mapping -> bytes per model page
  const pinOwner = new Map<string, number>(); // pin -> the actor whose runner holds it
  const uringPins = new Set<string>();
  const vfioPins = new Map<string, boolean>(); // VFIO-backed pin -> mapped writable
  const devPins = new Set<string>(); // pins the test device holds
  const devGets = new Set<string>(); // ... of them, FOLL_GET references (get_user_pages*)
  const released = new Set<string>(); // handles given back: another release or a DMA through one is misuse
  // pins released with unpin_user_pages_dirty_lock somewhere: io_uring cannot stand in for them
  const dirtyUnpinned = new Set<string>();
  for (const st of steps)
    if (st.stmt.kind === 'call' && st.stmt.call.name === 'unpin_user_pages_dirty_lock') dirtyUnpinned.add(nameOf(st.stmt.call.args[0]));
  const dead = new Map<string, number>(); // results of not-runnable steps -> their line
  const holders = new Map<string, Set<number>>(); // mapping -> the live processes that have it
  /** The process a sys operation on mapping n goes through: the lowest-numbered live one that maps it (the interpreter's ownerOfVa). */
  const holderOf = (n: string): number => {
    const h = [...(holders.get(n) ?? [])].sort((x, y) => x - y);
    if (!h.length) throw new NotRunnable(`no live process maps ${n}`);
    return h[0]!;
  };

  /** The kernel's own work (`sys:`): writeback anywhere; the rest only where it cannot disturb a machine anybody uses. */
  const translateSys = (rs: RealStep, c: Call): void => {
    const ar = c.args;
    const machine = (why: string, ok: boolean) => {
      if (!caps.machine) throw new NotRunnable(`${c.name}(): ${IN_A_GUEST}`);
      if (!ok) throw new NotRunnable(`${c.name}() needs ${why}, which this guest lacks`);
    };
    switch (c.name) {
      case 'writeback':
        rs.cmds.push([-1, 'writeback', nameOf(ar[0])]);
        return;
      case 'drop_caches':
        machine('', true);
        rs.cmds.push([-1, 'drop_caches']);
        return;
      case 'compact':
        machine('', true);
        rs.cmds.push([-1, 'compact']);
        return;
      case 'reclaim':
        machine('a swap device and a memory cgroup', caps.swap && caps.reclaim);
        rs.cmds.push([-1, 'reclaim']);
        return;
      case 'ksm_scan':
        machine('KSM', caps.ksm);
        rs.cmds.push([-1, 'ksm_scan']);
        return;
      case 'migrate': {
        const x = nameOf(ar[0]);
        if (!unit.has(x)) throw new NotRunnable('migrating a page-cache page that no process maps has no user-space door (move_pages works on addresses)');
        needMapping(x);
        if (!caps.numa) throw new NotRunnable('migrate() is move_pages(2) to another NUMA node, and this machine has one node (a guest has two: pinlab real --vm)');
        rs.kind = 'handle';
        rs.cmds.push([holderOf(x), 'migrate', x, int(ar[1])]);
        return;
      }
      case 'memory_failure': {
        const x = nameOf(ar[0]);
        if (!unit.has(x)) throw new NotRunnable('poisoning a page-cache page that no process maps has no user-space door (MADV_HWPOISON works on addresses)');
        needMapping(x);
        machine('CONFIG_MEMORY_FAILURE', caps.hwpoison);
        rs.kind = 'handle';
        rs.cmds.push([holderOf(x), 'hwpoison', x, int(ar[1])]);
        return;
      }
      default:
        throw new NotRunnable(NOT_RUNNABLE[c.name] ?? `${c.name} has no user-space equivalent`);
    }
  };
  const needMapping = (n: string): number => {
    if (dead.has(n)) throw new NotRunnable(`depends on line ${dead.get(n)}, which is not runnable`);
    const u = unit.get(n);
    if (u === undefined) throw new NotRunnable(`${n} is not a mapping the runner created`);
    return u;
  };

  for (const st of steps) {
    const text = (sc.lines[st.line - 1] ?? '').replace(/#.*$/, '').trim();
    const actor = st.actor.name;
    const a = procIndex.get(actor);
    const rs: RealStep = { line: st.line, text, name: '', kind: 'status', cmds: [] };
    out.steps.push(rs);
    try {
      const useName = (n: string) => {
        if (dead.has(n)) throw new NotRunnable(`depends on line ${dead.get(n)}, which is not runnable`);
      };
      if (st.stmt.kind === 'store') {
        rs.name = `@L${st.line}`;
        needMapping(st.stmt.mapping.name);
        rs.cmds.push([a!, 'store', st.stmt.mapping.name, st.stmt.index, value(st.stmt.value)]);
        continue;
      }
      if (st.stmt.kind === 'load') {
        rs.name = st.stmt.target.name;
        rs.kind = 'value';
        needMapping(st.stmt.mapping.name);
        rs.cmds.push([a!, 'load', st.stmt.mapping.name, st.stmt.index]);
        continue;
      }
      const c: Call = st.stmt.call;
      rs.name = st.stmt.target?.name ?? `@L${st.line}`;
      if (info.actors.get(actor) === 'secondary') {
        // the device's secondary MMU (mmu_interval_notifier, faults as KVM's), run in its owner's mm
        if (!caps.pinlab) throw new NotRunnable('a secondary MMU needs a KVM guest, or the pinning test device of pinlab\'s test kernels (--vm 6.12-pinlab)');
        const si = sc.secondaries.findIndex((s) => s.name.name === actor);
        const owner = procIndex.get(sc.secondaries[si]!.of.name);
        const x = nameOf(c.args[0]);
        if (!unit.has(x)) throw new NotRunnable('a secondary MMU on guest-private memory needs KVM (guest_memfd)');
        needMapping(x);
        if (owner === undefined || si > 3) throw new NotRunnable('at most 4 secondary MMUs');
        const op = c.name === 'map' ? 0 : c.name === 'read' ? 1 : 2;
        if (op === 1) rs.kind = 'value';
        rs.cmds.push([owner, 'dev_smmu', x, int(c.args[1]), si, op, op === 2 ? value(c.args[2]!) : 0]);
        continue;
      }
      const ar = c.args;
      for (const x of ar) if (x.kind === 'name') useName(x.name);
      if (actor === 'sys') {
        translateSys(rs, c);
        continue;
      }
      switch (c.name) {
        case 'mmap': {
          rs.kind = 'handle';
          const backing = nameOf(ar[0]);
          const flags = bits(ar[3], MAPF);
          const huge = (flags & MAPF.MAP_HUGETLB!) !== 0 || fileFs.get(backing) === 'hugetlbfs';
          if (fileFs.get(backing) === 'hugetlbfs' && !caps.hugetlb) throw new NotRunnable('hugetlbfs files need huge pages, and this kernel has no hugetlb');
          let u = PAGE;
          let align = 0;
          if (huge) {
            u = HUGETLB_UNIT;
            out.hugetlbPages += int(ar[1]) * 2; // this mapping, and a copy for fork's early COW of a pinned page
          } else if (thpNames.has(rs.name)) {
            if (backing !== 'anon') throw new NotRunnable('THP on file mappings is not in the model');
            u = THP_UNIT;
            align = PMD_SIZE;
          }
          unit.set(rs.name, u);
          holders.set(rs.name, new Set([a!]));
          rs.cmds.push([a!, 'mmap', rs.name, backing, int(ar[1]), u, bits(ar[2], PROT), flags, align]);
          break;
        }
        case 'munmap':
          needMapping(nameOf(ar[0]));
          rs.cmds.push([a!, 'munmap', nameOf(ar[0]), pageOffset(ar[0]), int(ar[1])]);
          break;
        case 'mprotect':
          needMapping(nameOf(ar[0]));
          rs.cmds.push([a!, 'mprotect', nameOf(ar[0]), pageOffset(ar[0]), int(ar[1]), bits(ar[2], PROT)]);
          break;
        case 'madvise': {
          needMapping(nameOf(ar[0]));
          const adv = nameOf(ar[2]);
          if (MADV[adv] === undefined) throw new NotRunnable(`${adv} has no number here`);
          if ((adv === 'MADV_MERGEABLE' || adv === 'MADV_UNMERGEABLE') && !caps.ksm) throw new NotRunnable(`KSM merging needs ksmd: ${IN_A_GUEST}`);
          rs.cmds.push([a!, 'madvise', nameOf(ar[0]), pageOffset(ar[0]), int(ar[1]), MADV[adv]!]);
          break;
        }
        case 'mremap':
          rs.kind = 'handle';
          unit.set(rs.name, needMapping(nameOf(ar[0])));
          holders.set(rs.name, new Set([a!]));
          holders.get(nameOf(ar[0]))?.delete(a!);
          rs.cmds.push([a!, 'mremap', nameOf(ar[0]), rs.name, int(ar[1])]);
          break;
        case 'fork': {
          rs.kind = 'handle';
          const child = procIndex.get(rs.name);
          if (child === undefined || child > 7) throw new NotRunnable('more than 8 processes');
          rs.cmds.push([a!, 'fork', child]);
          for (const h of holders.values()) if (h.has(a!)) h.add(child);
          break;
        }
        case 'exit':
          rs.cmds.push([a!, 'exit']);
          for (const h of holders.values()) h.delete(a!);
          break;
        case 'write':
          rs.cmds.push([a!, 'write', nameOf(ar[0]), int(ar[1]), value(ar[2]!)]);
          break;
        case 'read':
          rs.kind = 'value';
          rs.cmds.push([a!, 'read', nameOf(ar[0]), int(ar[1])]);
          break;
        case 'ftruncate':
          rs.cmds.push([a!, 'ftruncate', nameOf(ar[0]), int(ar[1])]);
          break;
        case 'fsync':
          rs.cmds.push([a!, 'fsync', nameOf(ar[0])]);
          break;
        case 'p2pmem':
          // sysfs p2pmem/allocate of a PCI device with P2PDMA memory (the test kernels' NVMe CMB); each mmap allocates
          if (!caps.p2pmem)
            throw new NotRunnable(
              caps.pinlab
                ? 'this kernel has P2PDMA memory (the NVMe CMB) but no user-space door to it: p2pmem/allocate comes with 6.2 (7e9c7ef83d78)'
                : NOT_RUNNABLE[c.name]!,
            );
          rs.kind = 'handle';
          fileUnit.set(rs.name, PAGE);
          fileFs.set(rs.name, 'p2pmem');
          rs.cmds.push([a!, 'p2pmem', rs.name, int(ar[0])]);
          break;
        case 'memfd_create':
          rs.kind = 'handle';
          fileUnit.set(rs.name, PAGE);
          fileFs.set(rs.name, 'tmpfs');
          rs.cmds.push([a!, 'memfd', rs.name, int(ar[0]), PAGE]);
          break;
        case 'memfd_secret':
          // run even where secretmem is off: ENOSYS is what the model predicts there too
          rs.kind = 'handle';
          fileUnit.set(rs.name, PAGE);
          fileFs.set(rs.name, 'secretmem');
          rs.cmds.push([a!, 'memfd_secret', rs.name, int(ar[0]), PAGE]);
          break;
        case 'vmsplice':
          rs.kind = 'handle';
          needMapping(nameOf(ar[0]));
          rs.cmds.push([a!, 'vmsplice', rs.name, nameOf(ar[0]), 0, int(ar[1])]);
          break;
        case 'read_pipe':
          rs.kind = 'value';
          rs.cmds.push([a!, 'read_pipe', nameOf(ar[0]), int(ar[1])]);
          break;
        case 'io_uring_register_buffers':
          rs.kind = 'handle';
          needMapping(nameOf(ar[0]));
          rs.cmds.push([a!, 'uring_register', rs.name, nameOf(ar[0]), 0, int(ar[1])]);
          pinOwner.set(rs.name, a!);
          uringPins.add(rs.name);
          break;
        case 'get_user_pages':
        case 'get_user_pages_fast':
        case 'get_user_pages_remote':
        case 'pin_user_pages':
        case 'pin_user_pages_fast':
        case 'pin_user_pages_remote': {
          const remote = c.name.endsWith('_remote');
          if (caps.pinlab) {
            // the device makes the very call, with the very flags, in the caller's process (a remote one in the target's)
            const owner = remote ? procIndex.get(nameOf(ar[0])) : a;
            const xa = remote ? ar.slice(1) : ar;
            const x = nameOf(xa[0]);
            rs.kind = 'handle';
            needMapping(x);
            if (owner === undefined) throw new NotRunnable(`${nameOf(ar[0])} is not a process the runner started`);
            const foll = names(xa[2]);
            const bad = foll.filter((f) => DEV_FOLL[f] === undefined);
            if (bad.length) throw new NotRunnable(`${bad.join('|')} cannot be passed to the device`);
            const fb = foll.reduce((m, f) => m | DEV_FOLL[f]!, 0);
            rs.cmds.push([owner, 'dev_gup', rs.name, x, 0, int(xa[1]), DEV_GUP_KIND[c.name]!, fb, owner]);
            pinOwner.set(rs.name, owner);
            devPins.add(rs.name);
            if (c.name.startsWith('get_')) devGets.add(rs.name);
            break;
          }
          if (!c.name.startsWith('pin_')) throw new NotRunnable(NOT_RUNNABLE[c.name] ?? `${c.name} has no user-space equivalent`);
          const owner = remote ? procIndex.get(nameOf(ar[0])) : a;
          const xa = remote ? ar.slice(1) : ar;
          const x = nameOf(xa[0]);
          const foll = names(xa[2]);
          rs.kind = 'handle';
          needMapping(x);
          if (owner === undefined) throw new NotRunnable(`${nameOf(ar[0])} is not a process the runner started`);
          const other = foll.filter((f) => f !== 'FOLL_WRITE' && f !== 'FOLL_LONGTERM');
          const write = foll.includes('FOLL_WRITE');
          // io_uring registration is pin_user_pages(_fast)(FOLL_WRITE|FOLL_LONGTERM) of the caller (io_pin_pages)
          if (!remote && write && foll.includes('FOLL_LONGTERM') && !other.length && !dirtyUnpinned.has(rs.name) && !caps.vfio) {
            rs.cmds.push([a!, 'uring_register', rs.name, x, 0, int(xa[1])]);
            rs.standIn = { ...c, name: 'io_uring_register_buffers', args: [xa[0]!, xa[1]!] };
            pinOwner.set(rs.name, a!);
            uringPins.add(rs.name);
            break;
          }
          // VFIO_IOMMU_MAP_DMA is pin_user_pages_remote(FOLL_LONGTERM [| FOLL_WRITE]) of the mapping process
          if (caps.vfio && !other.length) {
            rs.cmds.push([owner, 'vfio_pin', rs.name, x, 0, int(xa[1]), write ? 1 : 0]);
            const procArg: Arg = remote ? ar[0]! : { kind: 'name', name: actor, pos: c.pos };
            rs.standIn = { ...c, name: 'pin_user_pages_remote', args: [procArg, xa[0]!, xa[1]!, flagsArg([...foll.filter((f) => f !== 'FOLL_LONGTERM'), 'FOLL_LONGTERM'], c.pos)] };
            pinOwner.set(rs.name, owner);
            vfioPins.set(rs.name, write);
            break;
          }
          throw new NotRunnable(
            `${c.name}(${foll.join('|') || '0'}) has no user-space equivalent here (io_uring registration is FOLL_WRITE|FOLL_LONGTERM; a guest's VFIO mapping is FOLL_LONGTERM with or without FOLL_WRITE: pinlab real --vm)`,
          );
        }
        case 'put_pages':
        case 'unpin_user_pages':
        case 'unpin_user_pages_dirty_lock': {
          const pin = nameOf(ar[0]);
          if (released.has(pin)) throw new NotRunnable(MISUSE);
          released.add(pin);
          if (devPins.has(pin)) {
            if ((c.name === 'put_pages') !== devGets.has(pin)) throw new NotRunnable(MISUSE);
            rs.cmds.push([-1, 'dev_release', pin, c.name === 'put_pages' ? 2 : c.name === 'unpin_user_pages_dirty_lock' ? 1 : 0]);
            break;
          }
          if (c.name === 'put_pages') throw new NotRunnable(NOT_RUNNABLE[c.name]!);
          if (vfioPins.has(pin)) {
            // vfio_unmap_unpin() -> put_pfn(): unpin_user_pages_dirty_lock(page, 1, prot & IOMMU_WRITE)
            rs.cmds.push([pinOwner.get(pin)!, 'vfio_unpin', pin]);
            rs.standIn = { ...c, name: vfioPins.get(pin) ? 'unpin_user_pages_dirty_lock' : 'unpin_user_pages' };
            break;
          }
          if (!uringPins.has(pin)) throw new NotRunnable('only io_uring- or VFIO-backed pins can be released from user space');
          if (c.name === 'unpin_user_pages_dirty_lock') throw new NotRunnable('io_uring unregistration does not dirty the pages');
          rs.cmds.push([pinOwner.get(pin)!, 'uring_unregister', pin]);
          break;
        }
        case 'dma_write':
        case 'dma_read': {
          const p = nameOf(ar[0]);
          if (released.has(p)) throw new NotRunnable(MISUSE);
          if (devPins.has(p)) {
            if (c.name === 'dma_read') rs.kind = 'value';
            rs.cmds.push([-1, 'dev_dma', p, int(ar[1]), c.name === 'dma_write' ? 1 : 0, c.name === 'dma_write' ? value(ar[2]!) : 0]);
            break;
          }
          if (!uringPins.has(p) && !vfioPins.has(p)) throw new NotRunnable('the device is io_uring READ_FIXED/WRITE_FIXED on a registered buffer, or the edu device through a VFIO mapping');
          if (c.name === 'dma_write' && vfioPins.get(p) === false)
            throw new NotRunnable('a device write through a read-only pin: a VFIO mapping without IOMMU_WRITE makes the IOMMU refuse it, where a driver holding a FOLL_PIN page can write it');
          if (c.name === 'dma_read') rs.kind = 'value';
          rs.cmds.push(c.name === 'dma_write' ? [pinOwner.get(p)!, 'dma_write', p, int(ar[1]), value(ar[2]!)] : [pinOwner.get(p)!, 'dma_read', p, int(ar[1])]);
          break;
        }
        case 'odirect_read':
        case 'odirect_write':
          needMapping(nameOf(ar[2]));
          if (fileFs.get(nameOf(ar[0])) !== 'ext4') throw new NotRunnable('O_DIRECT needs a disk file (tmpfs has no O_DIRECT before 6.6, and the model treats it as a disk)');
          rs.cmds.push([a!, c.name, nameOf(ar[0]), int(ar[1]), nameOf(ar[2]), 0]);
          break;
        case 'proc_mem_write':
          needMapping(nameOf(ar[0]));
          rs.cmds.push([a!, 'proc_mem_write', nameOf(ar[0]), int(ar[1]), value(ar[2]!)]);
          break;
        case 'process_vm_writev': {
          const target = procIndex.get(nameOf(ar[0]));
          needMapping(nameOf(ar[1]));
          rs.cmds.push([a!, 'process_vm_writev', target!, nameOf(ar[1]), int(ar[2]), value(ar[3]!)]);
          break;
        }
        default:
          throw new NotRunnable(NOT_RUNNABLE[c.name] ?? `${c.name} has no user-space equivalent`);
      }
    } catch (e) {
      if (!(e instanceof NotRunnable)) throw e;
      rs.notRunnable = e.message;
      rs.cmds = [];
      dead.set(rs.name, st.line);
    }
  }
  return out;
}

/** A release or device access the kernel would not survive (the api misuse violations): never run. */
const MISUSE = 'a misuse the kernel cannot refuse and would be corrupted by (a second release, a mismatched release, or a device access after release); the test device refuses it';

const NOT_RUNNABLE: Record<string, string> = {
  get_user_pages: 'a FOLL_GET reference with arbitrary flags has no user-space equivalent',
  get_user_pages_fast: 'a FOLL_GET reference with arbitrary flags has no user-space equivalent',
  pin_user_pages_remote: 'a remote pin has no user-space equivalent',
  get_user_pages_remote: 'a remote GUP has no user-space equivalent',
  put_pages: 'only io_uring-backed pins can be released from user space',
  make_secure: 's390 protected virtualization is not available on x86',
  memfd_restricted: 'memfd_restricted was never merged',
  guest_memfd: 'guest_memfd needs a KVM VM',
  p2pmem: 'no P2PDMA-capable PCI device on this machine (pinlab\'s test kernels have one: --vm 6.12-pinlab)',
  map: 'a secondary MMU needs a KVM guest',
};
