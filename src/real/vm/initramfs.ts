// The guest's initramfs (a gzipped cpio "newc" archive, the format the kernel
// unpacks into its rootfs): busybox, the statically linked native runner, the
// kernel's own modules for a virtio disk with ext4, and /init, which prepares
// the throwaway machine and hands the second serial port to the runner's agent.
// Also the disk images: an ext4 file system for the scenarios' "disk" files and
// a swap device (both attached with snapshot=on, so they stay pristine).

import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { cached, cacheRoot, sha256 } from './cache.js';
import { VmError, type KernelArtifacts } from './debian.js';

const run = promisify(execFile);

interface Entry {
  name: string;
  mode: number;
  data?: Buffer;
  rdev?: [number, number];
}

/** A cpio "newc" archive (the initramfs format in Documentation/driver-api/early-userspace). */
export function cpioNewc(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  let ino = 1;
  const one = (e: Entry) => {
    const name = Buffer.from(e.name + '\0');
    const data = e.data ?? Buffer.alloc(0);
    const head =
      '070701' +
      [ino++, e.mode, 0, 0, 1, 0, data.length, 0, 0, e.rdev?.[0] ?? 0, e.rdev?.[1] ?? 0, name.length, 0].map(hex).join('');
    parts.push(Buffer.from(head), name, pad4(110 + name.length), data, pad4(data.length));
  };
  for (const e of entries) one(e);
  one({ name: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(parts);
}

const DIR = 0o040755;
const EXE = 0o100755;
const FILE = 0o100644;
const CHR = 0o020600;

/**
 * /init: mount the pseudo file systems, load the modules, mount the ext4 disk
 * on /mnt, turn on swap, set THP to "madvise" (the model's mode), turn NUMA
 * balancing off (it would move pages by itself), enable the memory cgroup for
 * the runner's per-session reclaim, then run the agent on ttyS1. If the agent
 * exits, init exits and the kernel panics; with panic=-1 and -no-reboot QEMU
 * ends.
 */
export const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /mnt /tmp
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup && echo +memory > /sys/fs/cgroup/cgroup.subtree_control
for m in $(cat /modules); do insmod /lib/modules/$m $(cat /lib/modules/$m.args 2>/dev/null) || echo "pinlab-init: insmod $m failed"; done
# the ext4 disk is virtio (vda, swap on vdb) or, on pinlab's test kernels, NVMe (nvme0n1, swap on vda)
i=0; while [ ! -b /dev/vdb ] && ! { [ -b /dev/nvme0n1 ] && [ -b /dev/vda ]; } && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
if [ -b /dev/nvme0n1 ]; then disk=/dev/nvme0n1; swap=/dev/vda; else disk=/dev/vda; swap=/dev/vdb; fi
mount -t ext4 $disk /mnt || echo "pinlab-init: cannot mount the ext4 disk"
mkswap $swap >/dev/null && swapon $swap || echo "pinlab-init: no swap"
# a memory block of node 0 taken offline now, onlined as ZONE_MOVABLE for a \`memory movable\` scenario (zone_movable)
for b in $(ls -d /sys/devices/system/node/node0/memory* 2>/dev/null | sed 's/.*memory//' | sort -rn); do
  [ "$b" = 0 ] && break
  if echo offline > /sys/devices/system/memory/memory$b/state 2>/dev/null; then echo $b > /movable_block; break; fi
done
# QEMU's edu device (1234:11e8) to vfio-pci: VFIO pins pages for it, and it DMAs to them through the IOMMU
echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id 2>/dev/null || echo "pinlab-init: no vfio-pci"
echo madvise > /sys/kernel/mm/transparent_hugepage/enabled
echo 0 > /proc/sys/kernel/numa_balancing 2>/dev/null
echo "pinlab-init: $(uname -r) ready"
exec /pinlab-real --serve /dev/ttyS1 /mnt
`;

/**
 * Module parameters. vfio_iommu_type1 refuses to attach a group when the IOMMU
 * cannot remap interrupts (QEMU's intel-iommu under TCG, intremap=off) unless
 * told this machine is not worth protecting -- true of a throwaway guest.
 */
const MODULE_ARGS: Record<string, string> = { 'vfio_iommu_type1.ko': 'allow_unsafe_interrupts=1' };

const SOURCE = fileURLToPath(new URL('../../../../native/pinlab-real.c', import.meta.url));

/** native/pinlab-real.c linked statically for the guest (cached by source and compiler). */
export async function staticRunner(log: (s: string) => void): Promise<string> {
  let src: Buffer;
  try {
    // the runner and the test device's interface it includes
    src = Buffer.concat([readFileSync(SOURCE), readFileSync(join(dirname(SOURCE), '..', 'kernel', 'pinlab_test.h'))]);
  } catch {
    throw new VmError(`cannot read ${SOURCE}: pinlab real --vm builds the guest's runner from it`);
  }
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const out = join(cacheRoot(), 'runner', sha256(src, cc).slice(0, 16), 'pinlab-real');
  await cached(out, async (tmp) => {
    log('building the static runner for the guest');
    try {
      await run('cc', ['-static', '-O2', '-Wall', '-o', tmp, SOURCE]);
    } catch (e) {
      const err = ((e as { stderr?: string }).stderr ?? '').trim();
      const first = err.split('\n').find((l) => /error/.test(l)) ?? err.split('\n').pop();
      throw new VmError(/cannot find -lc|crt1\.o|libc\.a/.test(err) ? 'cc -static cannot link: install libc6-dev (the static libc)' : `cc -static failed on ${SOURCE}: ${first}`);
    }
  });
  return out;
}

/** The initramfs for one kernel (cached by kernel package, runner, busybox and /init). */
export async function initramfs(k: KernelArtifacts, runner: string, bb: { path: string; version: string }): Promise<string> {
  const runnerBytes = readFileSync(runner);
  const key = sha256(k.pkg, k.version, runnerBytes, bb.version, INIT, k.modules.join(','), JSON.stringify(MODULE_ARGS)).slice(0, 16);
  return cached(join(cacheRoot(), 'initrd', `${key}.cpio.gz`), (tmp) => {
    const entries: Entry[] = [
      ...['bin', 'dev', 'proc', 'sys', 'mnt', 'tmp', 'lib', 'lib/modules'].map((name) => ({ name, mode: DIR })),
      { name: 'dev/console', mode: CHR, rdev: [5, 1] },
      { name: 'init', mode: EXE, data: Buffer.from(INIT) },
      { name: 'bin/busybox', mode: EXE, data: readFileSync(bb.path) },
      { name: 'pinlab-real', mode: EXE, data: runnerBytes },
      { name: 'modules', mode: FILE, data: Buffer.from(k.modules.join('\n') + '\n') },
      ...k.modules.map((m) => ({ name: `lib/modules/${m}`, mode: FILE, data: readFileSync(join(k.dir, 'modules', m)) })),
      ...k.modules.filter((m) => MODULE_ARGS[m]).map((m) => ({ name: `lib/modules/${m}.args`, mode: FILE, data: Buffer.from(MODULE_ARGS[m]!) })),
    ];
    writeFileSync(tmp, gzipSync(cpioNewc(entries), { level: 6 }));
  });
}

/**
 * The ext4 disk (64 MiB) and a swap disk (64 MiB, made with mkswap in the guest), cached.
 * The ext4 block is the page size, as pinlab's model has it (one block per page): mke2fs would pick 1 KiB
 * blocks for so small a filesystem, and a page then has holes. Those change what the kernel does -- e.g.
 * a page dirtied over holes and lost to memory_failure() leaves delayed-allocation blocks that 6.8+ O_DIRECT
 * reads refuse with EIO forever (874eaba96d39, ec9d669eba4c) -- which the model cannot express.
 */
export async function diskImages(): Promise<{ ext4: string; swap: string }> {
  const ext4 = await cached(join(cacheRoot(), 'disk', 'ext4-64M-4k.img'), async (tmp) => {
    try {
      await run('mkfs.ext4', ['-q', '-F', '-b', '4096', tmp, '64M']);
    } catch (e) {
      throw new VmError(`mkfs.ext4 failed: ${((e as { stderr?: string }).stderr ?? String(e)).trim()}`);
    }
  });
  const swap = await cached(join(cacheRoot(), 'disk', 'swap-64M.img'), (tmp) => {
    const fd = openSync(tmp, 'w');
    ftruncateSync(fd, 64 << 20);
    closeSync(fd);
  });
  return { ext4, swap };
}
