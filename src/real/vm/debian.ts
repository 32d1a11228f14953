// Debian's prebuilt kernels for `pinlab real --vm`: resolve the newest
// linux-image package of a branch, download it with apt into pinlab's cache
// (never installed: no /boot, no dpkg database), and keep only what a guest
// needs -- the kernel image and the modules for a virtio disk with ext4.
// apt runs with private package lists under the cache, so the machine's own
// apt state is never touched.

import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cached, cacheRoot, sha256 } from './cache.js';

const run = promisify(execFile);

/** A user-facing failure of the VM machinery: printed as is, exit status 2. */
export class VmError extends Error {}

/** The Debian kernel branches a guest can run, and how their package names look. */
export const DEBIAN_KERNELS: Record<string, { prefix: string; pattern: RegExp }> = {
  '6.1': { prefix: 'linux-image-6.1.0-', pattern: /^linux-image-6\.1\.0-(\d+)-amd64-unsigned$/ },
  '6.12': { prefix: 'linux-image-6.12.', pattern: /^linux-image-6\.12\.(\d+)\+deb12-amd64-unsigned$/ },
};

/** Modules a guest loads (with their dependencies) unless the kernel has them built in. */
const WANTED_MODULES = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4', 'vfio_iommu_type1', 'vfio_pci', 'hwpoison_inject'];

export interface KernelArtifacts {
  /** e.g. `6.1` */
  branch: string;
  pkg: string;
  version: string;
  /** `uname -r` of the kernel, e.g. `6.1.0-57-amd64` */
  release: string;
  dir: string;
  vmlinuz: string;
  /** module files relative to `dir/modules`, in load order */
  modules: string[];
  /** one of pinlab's own test kernels (tinyconfig, the pinning test device built in, no modules) */
  testKernel?: boolean;
}

function aptOptions(root: string): string[] {
  return ['-q', '-o', `Dir::State::Lists=${join(root, 'apt', 'lists')}`, '-o', `Dir::Cache=${join(root, 'apt', 'cache')}`, '-o', 'Debug::NoLocking=1'];
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** The tools the VM path needs on the host, with the Debian package to install for each. */
export function checkHostTools(): void {
  const need: [string, string][] = [
    ['apt-get', 'apt (pinlab downloads Debian kernels with it)'],
    ['dpkg-deb', 'dpkg'],
    ['mkfs.ext4', 'e2fsprogs'],
    ['xz', 'xz-utils'],
    ['cc', 'gcc and libc6-dev (the guest runner is linked statically)'],
  ];
  const missing = need.filter(([c]) => !have(c));
  if (missing.length) throw new VmError(`pinlab real --vm needs ${missing.map(([c, p]) => `${c} (Debian package: ${p})`).join(', ')}`);
}

/** Refresh the private package lists when missing or older than a day. */
async function ensureLists(root: string, log: (s: string) => void): Promise<void> {
  const lists = join(root, 'apt', 'lists');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  mkdirSync(join(root, 'apt', 'cache', 'archives', 'partial'), { recursive: true });
  const stamp = join(root, 'apt', 'updated');
  if (existsSync(stamp) && Date.now() - statSync(stamp).mtimeMs < 86_400_000 && readdirSync(lists).some((f) => f.includes('Packages'))) return;
  log("updating pinlab's private apt package lists");
  try {
    await run('apt-get', [...aptOptions(root), 'update'], { maxBuffer: 16 << 20 });
  } catch (e) {
    const msg = ((e as { stderr?: string }).stderr ?? String(e)).trim().split('\n').slice(-3).join('; ');
    throw new VmError(`cannot reach Debian's package mirror (apt-get update: ${msg}); pinlab real --vm downloads its kernels with apt`);
  }
  writeFileSync(stamp, new Date().toISOString());
}

/** The newest package whose name matches, and its version. */
async function resolve(root: string, prefix: string, pattern: RegExp): Promise<{ pkg: string; version: string }> {
  const { stdout } = await run('apt-cache', [...aptOptions(root), 'pkgnames', prefix], { maxBuffer: 16 << 20 });
  const cands = stdout
    .split('\n')
    .map((n) => n.trim())
    .filter((n) => pattern.test(n))
    .sort((a, b) => Number(pattern.exec(b)![1] ?? 0) - Number(pattern.exec(a)![1] ?? 0));
  if (!cands.length) throw new VmError(`no package matching ${pattern.source} in Debian's package lists`);
  const pkg = cands[0]!;
  const show = await run('apt-cache', [...aptOptions(root), 'show', '--no-all-versions', pkg], { maxBuffer: 16 << 20 });
  const version = /^Version: (.+)$/m.exec(show.stdout)?.[1];
  if (!version) throw new VmError(`apt-cache show ${pkg}: no version`);
  return { pkg, version };
}

/** apt-get download into dir; the .deb's path. */
async function download(root: string, pkg: string, version: string, dir: string, log: (s: string) => void): Promise<string> {
  mkdirSync(dir, { recursive: true });
  log(`downloading ${pkg} ${version}`);
  try {
    await run('apt-get', [...aptOptions(root), 'download', `${pkg}=${version}`], { cwd: dir, maxBuffer: 16 << 20 });
  } catch (e) {
    const msg = ((e as { stderr?: string }).stderr ?? String(e)).trim().split('\n').slice(-2).join('; ');
    throw new VmError(`cannot download ${pkg} ${version} from Debian's mirror: ${msg}`);
  }
  const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
  if (!deb) throw new VmError(`apt-get download ${pkg} produced no .deb`);
  return join(dir, deb);
}

/** Unpack a .deb's files (dpkg-deb | tar), without installing it. */
async function unpack(deb: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await run('sh', ['-c', `dpkg-deb --fsys-tarfile "$0" | tar -x -C "$1"`, deb, dir], { maxBuffer: 16 << 20 });
}

/** A module file's bytes (decompressed). */
function moduleBytes(path: string): Buffer {
  if (path.endsWith('.ko')) return readFileSync(path);
  if (path.endsWith('.xz')) return spawnSync('xz', ['-dc', path], { maxBuffer: 256 << 20 }).stdout;
  if (path.endsWith('.zst')) {
    const r = spawnSync('zstd', ['-dc', path], { maxBuffer: 256 << 20 });
    if (r.status !== 0) throw new VmError(`${path} is zstd-compressed: install zstd`);
    return r.stdout;
  }
  throw new VmError(`unknown module format: ${path}`);
}

/** The `depends=` list of a module's .modinfo section. */
export function moduleDepends(ko: Buffer): string[] {
  const key = Buffer.from('\0depends=');
  const at = ko.indexOf(key);
  if (at < 0) return [];
  const end = ko.indexOf(0, at + key.length);
  return ko
    .subarray(at + key.length, end)
    .toString()
    .split(',')
    .filter(Boolean);
}

const modName = (file: string) => file.replace(/\.ko(\.xz|\.zst|\.gz)?$/, '').replace(/-/g, '_');

/** Resolve WANTED_MODULES and their dependencies in an unpacked kernel: load order, decompressed, copied to out. */
function collectModules(unpacked: string, release: string, out: string): string[] {
  const base = join(unpacked, 'lib', 'modules', release);
  const builtin = new Set(
    readFileSync(join(base, 'modules.builtin'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => modName(l.split('/').pop()!)),
  );
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (/\.ko(\.xz|\.zst)?$/.test(e.name)) files.set(modName(e.name), join(d, e.name));
    }
  };
  walk(join(base, 'kernel'));
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || builtin.has(name)) return;
    seen.add(name);
    const f = files.get(name);
    if (!f) throw new VmError(`module ${name} is neither built into ${release} nor shipped with it`);
    const bytes = moduleBytes(f);
    for (const d of moduleDepends(bytes)) visit(d.replace(/-/g, '_'));
    writeFileSync(join(out, `${name}.ko`), bytes);
    order.push(`${name}.ko`);
  };
  mkdirSync(out, { recursive: true });
  for (const m of WANTED_MODULES) visit(m);
  return order;
}

/** The kernel of a branch: newest package, downloaded and reduced to vmlinuz + modules (cached). */
export async function kernelArtifacts(branch: string, log: (s: string) => void): Promise<KernelArtifacts> {
  const spec = DEBIAN_KERNELS[branch];
  if (!spec) throw new VmError(`no Debian kernel '${branch}' (known: ${Object.keys(DEBIAN_KERNELS).join(', ')})`);
  const root = cacheRoot();
  let pkg: string;
  let version: string;
  try {
    await ensureLists(root, log);
    ({ pkg, version } = await resolve(root, spec.prefix, spec.pattern));
  } catch (e) {
    // offline: the newest kernel of that branch already in the cache will do
    const kdir = join(root, 'kernels');
    const have = existsSync(kdir) ? readdirSync(kdir).filter((d) => spec.pattern.test(d.split('_')[0]!)).sort() : [];
    if (!have.length) throw e;
    const meta = JSON.parse(readFileSync(join(kdir, have[have.length - 1]!, 'meta.json'), 'utf8')) as KernelArtifacts;
    log(`${(e as Error).message}; using the cached ${meta.pkg} ${meta.version}`);
    return meta;
  }
  // keyed by the package and the module list, so a change to WANTED_MODULES re-extracts
  const dir = join(root, 'kernels', `${pkg}_${version}_${sha256(WANTED_MODULES.join(',')).slice(0, 8)}`);
  await cached(dir, async (tmp) => {
    const deb = await download(root, pkg, version, join(tmp, 'deb'), log);
    const ex = join(tmp, 'unpacked');
    log(`unpacking ${pkg}`);
    await unpack(deb, ex);
    const vm = readdirSync(join(ex, 'boot')).find((f) => f.startsWith('vmlinuz-'));
    if (!vm) throw new VmError(`${pkg} has no boot/vmlinuz-*`);
    const release = vm.slice('vmlinuz-'.length);
    copyFileSync(join(ex, 'boot', vm), join(tmp, 'vmlinuz'));
    const modules = collectModules(ex, release, join(tmp, 'modules'));
    rmSync(ex, { recursive: true, force: true });
    rmSync(join(tmp, 'deb'), { recursive: true, force: true });
    const meta: KernelArtifacts = { branch, pkg, version, release, dir, vmlinuz: join(dir, 'vmlinuz'), modules };
    writeFileSync(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2));
  });
  return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as KernelArtifacts;
}

/** busybox from Debian's busybox-static (cached by version): the guest's shell and tools. */
export async function busybox(log: (s: string) => void): Promise<{ path: string; version: string }> {
  const root = cacheRoot();
  let version: string;
  try {
    await ensureLists(root, log);
    ({ version } = await resolve(root, 'busybox-static', /^busybox-static()$/));
  } catch (e) {
    const bdir = join(root, 'busybox');
    const have = existsSync(bdir) ? readdirSync(bdir).filter((d) => existsSync(join(bdir, d, 'busybox'))) : [];
    if (!have.length) throw e;
    return { path: join(bdir, have.sort().pop()!, 'busybox'), version: have.sort().pop()! };
  }
  const dir = join(root, 'busybox', version.replace(/[^A-Za-z0-9.+~-]/g, '_'));
  await cached(dir, async (tmp) => {
    const deb = await download(root, 'busybox-static', version, join(tmp, 'deb'), log);
    const ex = join(tmp, 'unpacked');
    await unpack(deb, ex);
    copyFileSync(join(ex, 'bin', 'busybox'), join(tmp, 'busybox'));
    rmSync(ex, { recursive: true, force: true });
    rmSync(join(tmp, 'deb'), { recursive: true, force: true });
  });
  return { path: join(dir, 'busybox'), version };
}

/**
 * Debian's linux-source-<branch> tarball (linux-source-6.12.tar.xz), cached by
 * package version: bench/selftests builds the kernel's own selftests from it.
 */
export async function linuxSourceTarball(branch: string, log: (s: string) => void): Promise<{ tarball: string; version: string; top: string }> {
  const root = cacheRoot();
  const name = `linux-source-${branch}`;
  const escaped = branch.replace(/\./g, '\\.');
  const { pkg, version } = await (async () => {
    await ensureLists(root, log);
    return resolve(root, name, new RegExp(`^linux-source-${escaped}()$`));
  })();
  const dir = join(root, 'source', `${pkg}_${version.replace(/[^A-Za-z0-9.+~-]/g, '_')}`);
  await cached(dir, async (tmp) => {
    const deb = await download(root, pkg, version, join(tmp, 'deb'), log);
    const ex = join(tmp, 'unpacked');
    log(`unpacking ${pkg}`);
    await unpack(deb, ex);
    const tar = join(ex, 'usr', 'src', `${name}.tar.xz`);
    if (!existsSync(tar)) throw new VmError(`${pkg} has no usr/src/${name}.tar.xz`);
    copyFileSync(tar, join(tmp, `${name}.tar.xz`));
    rmSync(ex, { recursive: true, force: true });
    rmSync(join(tmp, 'deb'), { recursive: true, force: true });
  });
  return { tarball: join(dir, `${name}.tar.xz`), version, top: name };
}
