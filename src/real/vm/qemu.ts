// A throwaway QEMU guest running one Debian kernel, and the sessions pinlab
// runs in it. The guest's second serial port carries the native runner's
// JSON-lines protocol (native/PROTOCOL.md): the agent (actor -2) opens and
// closes sessions, and inside a session every line is the same command the
// host runner takes. TCG unless KVM really works (this machine's /dev/kvm
// cannot run stock kernels). QEMU runs under the runner's --pdeathsig, so it
// dies with pinlab even on SIGKILL; SIGINT/SIGTERM kill every guest and remove
// its temporary directory before pinlab exits.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Cmd } from '../translate.js';
import { RUNNER, runnerAvailable, type Reply, type Runner } from '../native.js';
import { VmError, type KernelArtifacts } from './debian.js';
import { onCleanup } from '../host_settings.js';

// at least 512 MiB of usable RAM: below that hugepage_init() clears every THP flag (use_zero_page included)
export const GUEST_MEMORY_MIB = 768;

export interface GuestOptions {
  kernel: KernelArtifacts;
  initrd: string;
  disk: string;
  swap: string;
  /** boot timeout in ms (TCG is slow, and two guests share two cores) */
  bootTimeoutMs?: number;
  log?: (s: string) => void;
}

const live = new Set<Guest>();
let handlersInstalled = false;

/** Kill every guest (SIGINT/SIGTERM/exit), synchronously. */
export function killAllGuests(): void {
  for (const g of live) g.kill();
}

/** Through the process-wide registry (host_settings), which owns the exit and signal handlers. */
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  onCleanup(killAllGuests);
}

/** Temporary directories of guests whose pinlab was SIGKILLed (QEMU died with it, by --pdeathsig): remove them. */
function removeStaleDirs(): void {
  for (const d of readdirSync(tmpdir())) {
    const m = /^pinlab-vm-(\d+)-/.exec(d);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(tmpdir(), d), { recursive: true, force: true });
    }
  }
}

export function qemuBinary(): string {
  const r = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  if (r.status !== 0 || !p) throw new VmError('qemu-system-x86_64 not found: install the Debian package qemu-system-x86 (apt-get install qemu-system-x86)');
  return p;
}

/** Does KVM really work here? (This machine's /dev/kvm is a paravirtual one that stock kernels cannot use.) */
function kvmUsable(): boolean {
  if (process.env.PINLAB_VM_ACCEL) return process.env.PINLAB_VM_ACCEL === 'kvm';
  return false;
}

export class Guest {
  readonly name: string;
  release = '';
  version = '';
  private qemu: ChildProcess;
  private sock: Socket | null = null;
  private waiters = new Map<number, (r: Reply & Record<string, unknown>) => void>();
  private seq = 1_000_000;
  private tmp: string;
  private exited: Promise<number | null>;
  private dead = false;
  readonly bootMs: number = 0;

  private constructor(opts: GuestOptions) {
    this.name = opts.kernel.branch;
    removeStaleDirs();
    this.tmp = mkdtempSync(join(tmpdir(), `pinlab-vm-${process.pid}-${opts.kernel.branch}-`));
    const half = GUEST_MEMORY_MIB / 2;
    const test = opts.kernel.testKernel === true;
    const args = [
      '-accel', kvmUsable() ? 'kvm' : 'tcg',
      // q35 with an emulated IOMMU, so that VFIO can pin pages for QEMU's "edu" PCI device and the device can DMA to them;
      // pinlab's test kernels have their own pinning test device instead (and no ACPI, IOMMU or VFIO)
      '-machine', 'q35', ...(test ? [] : ['-device', 'intel-iommu,intremap=off']),
      '-m', String(GUEST_MEMORY_MIB), '-smp', '1',
      '-nodefaults', '-display', 'none', '-monitor', 'none', '-no-reboot',
      // two NUMA nodes (node 1 has memory and no CPU): migrate() is move_pages(2) to the other node
      '-object', `memory-backend-ram,id=m0,size=${half}M`, '-object', `memory-backend-ram,id=m1,size=${half}M`,
      '-numa', 'node,nodeid=0,cpus=0,memdev=m0', '-numa', 'node,nodeid=1,memdev=m1',
      '-kernel', opts.kernel.vmlinuz, '-initrd', opts.initrd,
      // a test kernel has no ACPI to read QEMU's NUMA layout from: numa=fake=2 makes the two nodes itself
      '-append', `console=ttyS0 quiet panic=-1 transparent_hugepage=madvise numa_balancing=disable ${test ? 'numa=fake=2' : 'intel_iommu=on'}`,
      ...(test ? [] : ['-device', 'edu']),
      // a test kernel's ext4 disk is an NVMe namespace whose controller has a memory buffer (CMB) it publishes as p2pmem
      ...(test
        ? ['-drive', `file=${opts.disk},format=raw,if=none,id=nvm,snapshot=on`, '-device', 'nvme,serial=pinlab,drive=nvm,cmb_size_mb=16']
        : ['-drive', `file=${opts.disk},format=raw,if=virtio,snapshot=on`]),
      '-drive', `file=${opts.swap},format=raw,if=virtio,snapshot=on`,
      '-serial', `file:${join(this.tmp, 'console.log')}`,
      '-serial', `unix:${join(this.tmp, 'data.sock')},server=on,wait=off`,
    ];
    const qemu = qemuBinary();
    // under the runner's --pdeathsig, QEMU dies with pinlab whatever kills pinlab
    this.qemu = runnerAvailable() ? spawn(RUNNER, ['--pdeathsig', qemu, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(qemu, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.qemu.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    this.exited = new Promise((res) =>
      this.qemu.once('exit', (code) => {
        this.dead = true;
        if (stderr.trim()) this.consoleExtra = stderr.trim();
        for (const w of this.waiters.values()) w({ seq: -1, error: 'the guest exited' });
        this.waiters.clear();
        res(code);
      }),
    );
    live.add(this);
    installHandlers();
  }
  private consoleExtra = '';

  /** The last lines the guest printed on its console (and QEMU on stderr). */
  consoleTail(n = 15): string {
    let text = '';
    try {
      text = readFileSync(join(this.tmp, 'console.log'), 'utf8');
    } catch {
      /* nothing yet */
    }
    const lines = (text + (this.consoleExtra ? `\n${this.consoleExtra}` : '')).split(/\r?\n/).filter((l) => l.trim());
    return lines.length ? lines.slice(-n).map((l) => `    ${l}`).join('\n') : '    (nothing yet: the kernel boots with "quiet")';
  }

  /** Boot a guest and wait until its agent answers. */
  static async boot(opts: GuestOptions): Promise<Guest> {
    const g = new Guest(opts);
    const t0 = Date.now();
    // PINLAB_VM_BOOT_TIMEOUT (seconds) overrides the default, e.g. for a slow machine
    const env = Number(process.env.PINLAB_VM_BOOT_TIMEOUT);
    const timeout = opts.bootTimeoutMs ?? (env > 0 ? env * 1000 : 240_000);
    try {
      // the socket appears when QEMU starts listening
      const sockPath = join(g.tmp, 'data.sock');
      while (!existsSync(sockPath)) {
        if (g.dead) throw new VmError(`QEMU exited before it started (${opts.kernel.pkg}):\n${g.consoleTail()}`);
        if (Date.now() - t0 > 20_000) throw new VmError(`QEMU did not create its socket in 20 s:\n${g.consoleTail()}`);
        await sleep(20);
      }
      await g.connect(sockPath);
      // hello every second until the agent answers (bytes sent before it opened the port are flushed)
      for (;;) {
        if (g.dead) throw new VmError(`the ${opts.kernel.branch} guest (${opts.kernel.pkg} ${opts.kernel.version}) stopped while booting; its last console lines:\n${g.consoleTail()}`);
        if (Date.now() - t0 > timeout) throw new VmError(`the ${opts.kernel.branch} guest did not answer within ${timeout / 1000} s; its last console lines:\n${g.consoleTail()}`);
        const r = await g.agent('hello', 1000);
        if (r.ok && typeof r.release === 'string') {
          g.release = r.release;
          g.version = String(r.version ?? '');
          (g as { bootMs: number }).bootMs = Date.now() - t0;
          return g;
        }
      }
    } catch (e) {
      g.kill();
      throw e;
    }
  }

  private connect(path: string): Promise<void> {
    return new Promise((res, rej) => {
      const s = connect(path);
      s.once('connect', () => {
        this.sock = s;
        const rl = createInterface({ input: s });
        rl.on('line', (line) => {
          let r: (Reply & Record<string, unknown>) | null = null;
          try {
            r = JSON.parse(line);
          } catch {
            return; // echo of our own bytes before the agent set raw mode, or noise
          }
          if (!r || typeof r !== 'object' || typeof r.seq !== 'number') return;
          const w = this.waiters.get(r.seq);
          if (w) {
            this.waiters.delete(r.seq);
            w(r);
          }
        });
        s.on('error', () => {});
        res();
      });
      s.once('error', (e) => rej(new VmError(`cannot connect to the guest's serial port: ${e.message}`)));
    });
  }

  /** Send one line and wait for the reply with its seq (or a timeout). */
  request(cmd: (string | number)[], timeoutMs: number): Promise<Reply & Record<string, unknown>> {
    const seq = ++this.seq;
    return new Promise((res) => {
      if (this.dead || !this.sock) return res({ seq, error: 'the guest is not running' });
      const timer = setTimeout(() => {
        this.waiters.delete(seq);
        res({ seq, error: `timeout after ${timeoutMs / 1000} s` });
      }, timeoutMs);
      this.waiters.set(seq, (r) => {
        clearTimeout(timer);
        res(r);
      });
      this.sock.write(JSON.stringify([seq, ...cmd]) + '\n');
    });
  }

  agent(op: string, timeoutMs = 30_000): Promise<Reply & Record<string, unknown>> {
    return this.request([-2, op], timeoutMs);
  }

  /** A fresh session: a --machine controller in its own directory on the guest's ext4 disk. */
  async session(): Promise<GuestSession> {
    const r = await this.agent('open');
    if (!r.ok) throw new VmError(`the ${this.name} guest could not open a session: ${r.error ?? r.errno}`);
    return new GuestSession(this);
  }

  /** Power the guest off (waiting for the agent's acknowledgement first), then kill what is left. */
  async shutdown(): Promise<void> {
    if (!this.dead) {
      await this.agent('poweroff', 10_000);
      const t = setTimeout(() => this.qemu.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(t);
    }
    this.kill();
  }

  /** Kill QEMU and remove the temporary directory (idempotent, synchronous). */
  kill(): void {
    if (!this.dead) {
      try {
        this.qemu.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.sock?.destroy();
    rmSync(this.tmp, { recursive: true, force: true });
    live.delete(this);
  }
}

/** One scenario's session in a guest: the Runner interface over the serial port. */
export class GuestSession implements Runner {
  constructor(private g: Guest) {}
  send(cmd: Cmd, timeoutMs = 90_000): Promise<Reply> {
    return this.g.request(cmd, timeoutMs);
  }
  async close(): Promise<void> {
    await this.g.agent('close', 30_000);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
