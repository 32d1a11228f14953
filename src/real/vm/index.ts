// `pinlab real --vm`: a Debian kernel in a throwaway QEMU guest as a target of
// the differential run. Preparing (download, extract, initramfs, disks) is
// cached; booting is per run.

import { freemem } from 'node:os';
import { hostProfile, probeCaps, type Target } from '../differential.js';
import { busybox, checkHostTools, DEBIAN_KERNELS, kernelArtifacts, VmError } from './debian.js';
import { TEST_KERNEL_BRANCHES, testKernelArtifacts } from './build.js';
import { diskImages, initramfs, staticRunner } from './initramfs.js';
import { withCacheLock } from './cache.js';
import { Guest, GUEST_MEMORY_MIB, qemuBinary, type GuestOptions } from './qemu.js';

export { VmError } from './debian.js';
/** Debian's kernels as shipped, and pinlab's own test kernels (the pinning test device built in) */
export const VM_BRANCHES = [...Object.keys(DEBIAN_KERNELS), ...TEST_KERNEL_BRANCHES.map((b) => `${b}-pinlab`)];

/** Everything a guest of this branch needs, downloaded or built once and cached. */
export async function prepareGuest(branch: string, log: (s: string) => void): Promise<GuestOptions> {
  checkHostTools();
  qemuBinary();
  return withCacheLock(async () => {
    const kernel = branch.endsWith('-pinlab') ? await testKernelArtifacts(branch.replace(/-pinlab$/, ''), log) : await kernelArtifacts(branch, log);
    const runner = await staticRunner(log);
    const bb = await busybox(log);
    const initrd = await initramfs(kernel, runner, bb);
    const { ext4, swap } = await diskImages();
    return { kernel, initrd, disk: ext4, swap, log };
  }, (pid) => log(`waiting for pinlab process ${pid}, which holds the cache lock (building or downloading)`));
}

/** Boot a guest and describe it as a target: its release, profile and caps. */
export async function bootTarget(opts: GuestOptions): Promise<{ target: Target; guest: Guest }> {
  const guest = await Guest.boot(opts);
  try {
    const s = await guest.session();
    const caps = await probeCaps(s);
    await s.close();
    const target: Target = {
      name: opts.kernel.branch,
      release: guest.release,
      version: guest.version,
      profile: hostProfile(guest.release).profile,
      caps,
      bootMs: guest.bootMs,
      open: () => guest.session(),
      // the guest is ours: set nr_hugepages to what this scenario needs (0 gives the last one's back)
      hugetlb: async (r, pages) => {
        const rep = await r.send([-1, 'hugepages', pages]);
        if (!rep.ok) return { reason: `cannot set nr_hugepages in the guest: ${rep.errno ?? rep.error}` };
        if ((rep.value ?? 0) < pages) return { reason: `the guest could reserve only ${rep.value} of ${pages} huge pages` };
        return { restore: async () => {} };
      },
    };
    return { target, guest };
  } catch (e) {
    guest.kill();
    throw e;
  }
}

/** How many guests fit at once in this machine's free memory (each takes its RAM plus QEMU's own). */
export function guestsThatFit(): number {
  return Math.max(1, Math.floor(freemem() / ((GUEST_MEMORY_MIB + 256) << 20)));
}

/** Parse `--vm LIST`: host, 6.1, 6.12, 6.1-pinlab, 6.12-pinlab, all. */
export function parseVmList(list: string): string[] {
  const items = list.split(/[\s,]+/).filter(Boolean);
  if (!items.length) throw new VmError('--vm: give host, all, or kernels from ' + VM_BRANCHES.join(', '));
  const out: string[] = [];
  for (const it of items) {
    if (it === 'all') out.push('host', ...VM_BRANCHES);
    else if (it === 'host' || VM_BRANCHES.includes(it)) out.push(it);
    else throw new VmError(`--vm: unknown kernel '${it}' (known: host, ${VM_BRANCHES.join(', ')}, all)`);
  }
  return [...new Set(out)];
}
