// What `pinlab real` changes on this machine, and how the machine gets it back.
//
// Every change is recorded in a journal before it is made: a setting (a
// /proc/sys or /sys/kernel/mm file: its value before, the value written), a
// temporary directory, an ext4 image of pinlab's own and its mount point. The
// journal is /var/tmp/pinlab-restore-UID-PID.json, written, fsynced and renamed
// into place at each change, and removed once everything is given back.
//
// Everything is given back on a normal exit, an uncaught error and SIGINT,
// SIGTERM, SIGHUP (then pinlab exits 128+signal). That is one process-wide
// registry: other cleanups (the native runners, QEMU guests) register here
// instead of installing handlers of their own, and run first. After a SIGKILL
// nothing can run; the next `pinlab real` finds the journal of a process that
// is gone (pid not running, or running with another start time), restores what
// it lists and says so on stderr. A journal from before a reboot only has its
// files and directories removed: the kernel's settings were reset by the boot.
//
// A number (nr_hugepages) is given back relative to what is there now: the
// change this process made is subtracted, so two runs that overlap each get
// back exactly what they took, in either order.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statfsSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';

/** Where journals are kept (survives a SIGKILL; a reboot is detected by boot id). */
export const JOURNAL_DIR = '/var/tmp';

type Entry =
  | { kind: 'setting'; path: string; original: string; written: string; applied: boolean; actual?: string }
  | { kind: 'dir'; path: string }
  | { kind: 'mount'; mountpoint: string; image: string };

interface Journal {
  pid: number;
  /** field 22 of /proc/PID/stat: tells this process from a later one with the same pid */
  start: string;
  boot: string;
  entries: Entry[];
}

const uid = process.getuid?.() ?? -1;
const entries: Entry[] = [];
const cleanups = new Set<() => void>();
let handlersInstalled = false;

export function journalPath(pid = process.pid): string {
  return join(JOURNAL_DIR, `pinlab-restore-${uid}-${pid}.json`);
}

function readTrim(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

function bootId(): string {
  try {
    return readTrim('/proc/sys/kernel/random/boot_id');
  } catch {
    return '';
  }
}

function startTime(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Write this process's journal (or remove it when nothing is left to give back): write, fsync, rename. */
function save(): void {
  const path = journalPath();
  if (!entries.length) {
    rmSync(path, { force: true });
    return;
  }
  const j: Journal = { pid: process.pid, start: startTime(process.pid) ?? '', boot: bootId(), entries };
  const tmp = `${path}.tmp`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, JSON.stringify(j) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function record(e: Entry): void {
  installHandlers();
  entries.push(e);
  try {
    save();
  } catch (err) {
    entries.pop();
    throw new Error(`cannot record what to restore in ${journalPath()} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}), so nothing was changed`);
  }
}

function forget(e: Entry): void {
  const i = entries.indexOf(e);
  if (i < 0) return;
  entries.splice(i, 1);
  try {
    save();
  } catch {
    // the journal stays as it was: the next start finds nothing left to do for this entry
  }
}

/** Give one entry back; a line saying what was done. Throws when it could not be. */
function restoreEntry(e: Entry): string {
  switch (e.kind) {
    case 'setting': {
      const now = readTrim(e.path);
      let to = e.original;
      const [o, a, n] = [e.original, e.actual ?? e.written, now].map(Number) as [number, number, number];
      // relative: take off what this process added (another run may have added its own since)
      if (e.applied && [o, a, n].every(Number.isSafeInteger)) to = String(Math.max(0, n - (a - o)));
      if (to !== now) writeFileSync(e.path, to);
      const after = readTrim(e.path);
      if (after !== to) throw new Error(`${e.path} is ${after} after writing ${to}`);
      return `${e.path} ${now} -> ${to}`;
    }
    case 'dir':
      rmSync(e.path, { recursive: true, force: true, maxRetries: 3 });
      return `removed ${e.path}`;
    case 'mount': {
      if (mounted(e.mountpoint)) {
        // a runner that was just told to stop may still hold a file open there: detach it then (the loop
        // device is freed with the file system, as `mount -o loop` sets autoclear)
        if (run('umount', [e.mountpoint]) !== null && mounted(e.mountpoint)) {
          const err = run('umount', ['-l', e.mountpoint]);
          if (err !== null) throw new Error(`cannot unmount ${e.mountpoint}: ${err}`);
        }
      }
      if (existsSync(e.mountpoint)) rmdirSync(e.mountpoint);
      rmSync(e.image, { force: true });
      return `unmounted and removed ${e.mountpoint} (${e.image})`;
    }
  }
}

/** Run cleanups and give back everything this process changed, synchronously; idempotent. */
export function restoreAll(): void {
  for (const f of [...cleanups]) {
    cleanups.delete(f);
    try {
      f();
    } catch {
      // a process that is already gone
    }
  }
  for (const e of [...entries].reverse()) {
    try {
      restoreEntry(e);
      forget(e);
    } catch (err) {
      process.stderr.write(`pinlab real: could not restore: ${(err as Error).message} (left in ${journalPath()} for the next start)\n`);
    }
  }
}

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', restoreAll);
  process.on('uncaughtExceptionMonitor', restoreAll);
  for (const [sig, n] of Object.entries(SIGNALS)) {
    process.on(sig, () => {
      restoreAll();
      process.exit(128 + n);
    });
  }
}

/**
 * Run `f` (synchronously) when pinlab ends, however it ends short of SIGKILL: before
 * the recorded changes are given back. Returns the function that unregisters it.
 */
export function onCleanup(f: () => void): () => void {
  installHandlers();
  cleanups.add(f);
  return () => cleanups.delete(f);
}

/** Write `value` to a setting, having recorded what to restore; restore() gives it back. */
export function changeSetting(path: string, value: string): { actual: string; restore: () => void } {
  const e: Entry = { kind: 'setting', path, original: readTrim(path), written: value, applied: false };
  record(e);
  try {
    writeFileSync(path, value);
  } catch (err) {
    forget(e);
    throw err;
  }
  e.applied = true;
  e.actual = readTrim(path);
  try {
    save();
  } catch {
    // recorded as written-but-not-read-back: the next start writes the original value
  }
  return {
    actual: e.actual,
    restore: () => {
      if (!entries.includes(e)) return;
      restoreEntry(e);
      forget(e);
    },
  };
}

/** A fresh directory `BASE/PREFIX<pid>-<random>`, recorded first; remove() deletes it and its contents. */
export function tempDir(base: string, prefix: string): { path: string; remove: () => void } {
  const path = join(base, `${prefix}${process.pid}-${randomBytes(4).toString('hex')}`);
  const e: Entry = { kind: 'dir', path };
  record(e);
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    forget(e);
    throw err;
  }
  return {
    path,
    remove: () => {
      rmSync(path, { recursive: true, force: true, maxRetries: 3 });
      forget(e);
    },
  };
}

const SBIN = '/usr/local/sbin:/usr/sbin:/sbin';

/** Run a program; null on success, else what it said. */
function run(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH ?? ''}:${SBIN}` } });
  if (r.error) return `${cmd}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`;
  return r.status === 0 ? null : `${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout).trim() || `exit ${r.status}`}`;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function mountTable(): { point: string; fstype: string }[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const f = l.split(' ');
        const sep = f.indexOf('-');
        return { point: unescapeMount(f[4] ?? ''), fstype: f[sep + 1] ?? '' };
      });
  } catch {
    return [];
  }
}

function mounted(dir: string): boolean {
  return mountTable().some((m) => m.point === dir);
}

const EXT4_MAGIC = 0xef53;

/** The file system a directory is on: whether it is ext4 (ext2/3/4 share the magic), and its name. */
export function fileSystemOf(dir: string): { ext4: boolean; name: string } {
  const type = statfsSync(dir).type;
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    // statfs worked; the name is only for the message
  }
  let best = { point: '', fstype: '' };
  for (const m of mountTable()) if ((real === m.point || real.startsWith(m.point === '/' ? '/' : `${m.point}/`)) && m.point.length >= best.point.length) best = m;
  return { ext4: type === EXT4_MAGIC, name: best.fstype || `a file system with statfs magic 0x${type.toString(16)}` };
}

/**
 * An ext4 file system of pinlab's own: a sparse image in `base`, made with mkfs.ext4 and
 * loop-mounted next to it (root only). Recorded before it is made; remove() unmounts it and
 * deletes both.
 */
export function mountExt4Image(base: string, mib = 256): { dir: string; remove: () => void } {
  const mountpoint = join(base, `pinlab-ext4-${process.pid}-${randomBytes(4).toString('hex')}`);
  const e: Entry = { kind: 'mount', mountpoint, image: `${mountpoint}.img` };
  record(e);
  const remove = () => {
    if (!entries.includes(e)) return;
    restoreEntry(e);
    forget(e);
  };
  try {
    writeFileSync(e.image, '', { mode: 0o600, flag: 'wx' });
    truncateSync(e.image, mib << 20);
    let err = run('mkfs.ext4', ['-q', '-F', '-E', 'nodiscard', e.image]);
    if (err) throw new Error(err);
    mkdirSync(mountpoint, { mode: 0o700 });
    err = run('mount', ['-t', 'ext4', '-o', 'loop', e.image, mountpoint]);
    if (err) throw new Error(err);
    return { dir: mountpoint, remove };
  } catch (err) {
    try {
      remove();
    } catch {
      // left in the journal for the next start
    }
    throw err;
  }
}

const SETTING_DIRS = ['/proc/sys/vm/', '/sys/kernel/mm/'];

/** Only what pinlab itself would have recorded is acted on. */
function plausible(e: Entry): boolean {
  if (e.kind === 'setting') return typeof e.path === 'string' && SETTING_DIRS.some((d) => e.path.startsWith(d)) && !e.path.includes('..') && typeof e.original === 'string';
  if (e.kind === 'dir') return typeof e.path === 'string' && e.path.startsWith('/') && basename(e.path).startsWith('pinlab-') && !e.path.includes('/../');
  if (e.kind === 'mount') return typeof e.mountpoint === 'string' && basename(e.mountpoint).startsWith('pinlab-ext4-') && e.image === `${e.mountpoint}.img` && !e.mountpoint.includes('/../');
  return false;
}

function gone(pid: number, start: string, sameBoot: boolean): boolean {
  if (!sameBoot) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  const st = startTime(pid);
  return st === null || st !== start;
}

/**
 * Journals left by runs of this user that did not finish (SIGKILL, a crash, a power cut): give back
 * what they list. Lines saying what was done, for stderr.
 */
export function recoverStale(): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(JOURNAL_DIR);
  } catch {
    return out;
  }
  const boot = bootId();
  for (const name of names) {
    const m = /^pinlab-restore-(\d+)-(\d+)\.json(?:\.recovering-(\d+)|\.tmp)?$/.exec(name);
    if (!m || Number(m[1]) !== uid || Number(m[2]) === process.pid) continue;
    const path = join(JOURNAL_DIR, name);
    try {
      const st = lstatSync(path);
      if (!st.isFile() || st.uid !== uid) continue;
      if (name.endsWith('.tmp')) {
        // a journal being replaced when its process died: the complete one is beside it
        if (startTime(Number(m[2])) === null) rmSync(path, { force: true });
        continue;
      }
      if (m[3]) {
        // another start was recovering it: leave it unless that one is gone too
        try {
          process.kill(Number(m[3]), 0);
          continue;
        } catch {
          // gone
        }
      }
      const j = JSON.parse(readFileSync(path, 'utf8')) as Journal;
      const sameBoot = j.boot === boot;
      if (!gone(Number(m[2]), String(j.start), sameBoot)) continue;
      // claim it: of two starts at once, one rename succeeds
      const claimed = `${join(JOURNAL_DIR, `pinlab-restore-${uid}-${m[2]}.json`)}.recovering-${process.pid}`;
      renameSync(path, claimed);
      const left: Entry[] = [];
      const done: string[] = [];
      for (const e of (Array.isArray(j.entries) ? j.entries : []).reverse()) {
        if (!plausible(e)) continue;
        if ((e.kind === 'setting' || e.kind === 'mount') && !sameBoot) {
          if (e.kind === 'mount') rmSync(e.image, { force: true });
          if (e.kind === 'mount' && existsSync(e.mountpoint)) rmdirSync(e.mountpoint);
          continue; // the boot reset the setting and the mount
        }
        try {
          done.push(restoreEntry(e));
        } catch (err) {
          left.push(e);
          done.push(`could not restore: ${(err as Error).message}`);
        }
      }
      if (left.length) writeFileSync(join(JOURNAL_DIR, `pinlab-restore-${uid}-${m[2]}.json`), JSON.stringify({ ...j, entries: left.reverse() }) + '\n', { mode: 0o600 });
      rmSync(claimed, { force: true });
      if (done.length) out.push(`an earlier run (pid ${m[2]}) ended without giving back what it changed: ${done.join('; ')}`);
    } catch (err) {
      out.push(`cannot recover ${path}: ${(err as Error).message}`);
    }
  }
  return out;
}
