// Build a bare model for unit and property tests, without the language.
import { Kernel } from '../src/model/kernel.js';
import { apply, type ModelOp, type OpResult } from '../src/model/api.js';
import { parseProfileText } from '../src/profiles/profiles.js';
import { FI_FS, FI_SIZE, FS_EXT4, FS_TMPFS, FS_HUGETLBFS, H_NEXT_FILE, type Dims, encodeChar } from '../src/model/state.js';

export const DIMS: Dims = {
  procs: 3,
  vpages: 8,
  folios: 400,
  files: 10,
  filePages: 4,
  pins: 40,
  pinPages: 4,
  secondaries: 1,
  swapSlots: 200,
  results: 1,
};

/** A model on a profile with the first process alive and files: 0 ext4, 1 tmpfs, 2 hugetlbfs (2 pages each, filled 'd'). */
export function mk(profile: string, dims: Dims = DIMS): Kernel {
  const k = new Kernel(dims, parseProfileText(profile).knobs);
  k.secondaryOwner = dims.secondaries ? [0] : [];
  k.s[k.L.proc(0)] = 1;
  [FS_EXT4, FS_TMPFS, FS_HUGETLBFS].forEach((fs, fi) => {
    k.s[k.L.file(fi) + FI_FS] = fs;
    k.s[k.L.file(fi) + FI_SIZE] = 2;
    for (let i = 0; i < 2; i++) k.setDisk(fi, i, encodeChar('d'));
  });
  k.s[H_NEXT_FILE] = 3;
  return k;
}

export const names = (p: number) => ['A', 'B', 'C'][p] ?? `P${p}`;

export function run(k: Kernel, op: ModelOp): OpResult {
  return apply(k, op, names);
}

export function must<T extends OpResult['kind']>(r: OpResult, kind: T): Extract<OpResult, { kind: T }> {
  if (r.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(r)}`);
  return r as Extract<OpResult, { kind: T }>;
}

export const c = encodeChar;
