// pinlab's test kernels (`pinlab vm build 6.1|6.12`, and on first use of
// `--vm 6.1-pinlab` / `6.12-pinlab`): Debian's linux-source-<branch>, `make
// tinyconfig` plus kernel/pinlab.config, with pinlab's pinning test device
// (kernel/pinlab_test.c) built in, `make bzImage`. The image is cached under
// the VM cache, keyed by the source package version, the fragment, the driver
// and the compiler; the build tree is removed afterwards.

import { execFile, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cached, cacheRoot, sha256, withCacheLock } from './cache.js';
import { linuxSourceTarball, VmError, type KernelArtifacts } from './debian.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const KDIR = join(REPO, 'kernel');

/** The branches pinlab builds test kernels of. */
export const TEST_KERNEL_BRANCHES = ['6.1', '6.12'];

/** The build tools, with the Debian package of each; missing ones are installed with apt-get. */
const BUILD_TOOLS: [string, string][] = [
  ['make', 'make'],
  ['gcc', 'gcc'],
  ['flex', 'flex'],
  ['bison', 'bison'],
  ['bc', 'bc'],
  ['perl', 'perl'],
  ['xz', 'xz-utils'],
];

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

async function ensureBuildTools(log: (s: string) => void): Promise<void> {
  const missing = BUILD_TOOLS.filter(([c]) => !have(c)).map(([, p]) => p);
  // libelf (objtool) has no command to look for
  if (!existsSync('/usr/include/libelf.h') && !existsSync('/usr/include/gelf.h')) missing.push('libelf-dev');
  if (!missing.length) return;
  if (process.getuid?.() !== 0) throw new VmError(`building a test kernel needs ${missing.join(', ')}: apt-get install ${missing.join(' ')}`);
  log(`installing the kernel build tools: ${missing.join(' ')}`);
  try {
    await run('apt-get', ['install', '-y', '-q', ...missing], { maxBuffer: 64 << 20 });
  } catch (e) {
    throw new VmError(`apt-get install ${missing.join(' ')} failed: ${((e as { stderr?: string }).stderr ?? String(e)).trim().split('\n').slice(-2).join('; ')}`);
  }
}

function compilerId(): string {
  return spawnSync('gcc', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? 'gcc';
}

/** What the cached image depends on: the driver, its header, the fragment. */
function ingredients(): { driver: string; header: string; fragment: string } {
  return {
    driver: readFileSync(join(KDIR, 'pinlab_test.c'), 'utf8'),
    header: readFileSync(join(KDIR, 'pinlab_test.h'), 'utf8'),
    fragment: readFileSync(join(KDIR, 'pinlab.config'), 'utf8'),
  };
}

const KCONFIG = `
config PINLAB_TEST
	bool "pinlab's pinning test device (debugfs: pinlab)"
	depends on DEBUG_FS
	select MMU_NOTIFIER
	help
	  GUP with any flags, device reads and writes through held pages, a
	  KVM-like secondary MMU and kernel-side work on demand, for pinlab's
	  differential tests. Only for throwaway test kernels.
`;

/** Run make (or another build step) in dir, logging progress; on failure the last lines of its output. */
function buildStep(dir: string, args: string[], logFile: string, progress: (s: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('make', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let last = Date.now();
    const onData = (b: Buffer) => {
      appendFileSync(logFile, b);
      lines += b.toString().split('\n').length - 1;
      if (Date.now() - last > 15_000) {
        last = Date.now();
        progress(`make ${args.join(' ')}: ${lines} lines of output so far`);
      }
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    p.on('error', reject);
    p.on('close', (code) => {
      if (code === 0) return resolve();
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
      reject(new VmError(`the test kernel build failed (make ${args.join(' ')}, exit ${code}); the last lines of ${logFile}:\n${tail}`));
    });
  });
}

/** A SIGKILLed build leaves `<dir>.tmp-<pid>` (a whole kernel tree): remove those whose process is gone. */
function removeStaleBuilds(dir: string): void {
  const parent = dirname(dir);
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    const m = /\.tmp-(\d+)$/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
}

/**
 * The test kernel of a branch: built once (3-5 minutes on 2 cores), then
 * cached. Returns the same shape as a Debian kernel, with no modules.
 */
export async function testKernelArtifacts(branch: string, log: (s: string) => void): Promise<KernelArtifacts> {
  // one build per key at a time: a second pinlab process waits for the first and then finds it cached
  return withCacheLock(
    () => buildTestKernel(branch, log),
    (pid) => log(`waiting for pinlab process ${pid}, which holds the cache lock (it may be building this kernel)`),
  );
}

async function buildTestKernel(branch: string, log: (s: string) => void): Promise<KernelArtifacts> {
  if (!TEST_KERNEL_BRANCHES.includes(branch)) throw new VmError(`no test kernel for '${branch}' (known: ${TEST_KERNEL_BRANCHES.join(', ')})`);
  const src = await linuxSourceTarball(branch, log);
  const ing = ingredients();
  const key = sha256(src.version, ing.driver, ing.header, ing.fragment, KCONFIG, compilerId()).slice(0, 16);
  const dir = join(cacheRoot(), 'test-kernels', `${branch}-pinlab_${src.version.replace(/[^A-Za-z0-9.+~-]/g, '_')}_${key}`);
  removeStaleBuilds(dir);
  await cached(dir, async (tmp) => {
    await ensureBuildTools(log);
    const t0 = Date.now();
    const work = join(tmp, 'build');
    mkdirSync(work, { recursive: true });
    // the log outlives a failed build (the tree does not): the error names it
    const logFile = join(cacheRoot(), 'test-kernels', `${branch}-pinlab-build.log`);
    writeFileSync(logFile, '');
    log(`building the ${branch} test kernel from ${src.top} ${src.version} (tinyconfig + kernel/pinlab.config + the pinning test device; 3-5 minutes on 2 cores)`);
    await run('tar', ['-xJf', src.tarball, '-C', work], { maxBuffer: 16 << 20 });
    const tree = join(work, src.top);
    copyFileSync(join(KDIR, 'pinlab_test.c'), join(tree, 'mm', 'pinlab_test.c'));
    copyFileSync(join(KDIR, 'pinlab_test.h'), join(tree, 'mm', 'pinlab_test.h'));
    appendFileSync(join(tree, 'mm', 'Kconfig'), KCONFIG);
    appendFileSync(join(tree, 'mm', 'Makefile'), '\nobj-$(CONFIG_PINLAB_TEST) += pinlab_test.o\n');
    writeFileSync(join(tree, 'pinlab.config'), ing.fragment);
    await buildStep(tree, ['tinyconfig'], logFile, log);
    try {
      await run('sh', ['scripts/kconfig/merge_config.sh', '-m', '.config', 'pinlab.config'], { cwd: tree, maxBuffer: 16 << 20 });
    } catch (e) {
      throw new VmError(`merge_config.sh failed: ${((e as { stderr?: string }).stderr ?? String(e)).trim()}`);
    }
    await buildStep(tree, ['olddefconfig'], logFile, log);
    // every option the fragment asks for must have survived olddefconfig (a dependency can drop one silently)
    const config = readFileSync(join(tree, '.config'), 'utf8');
    const lost = ing.fragment
      .split('\n')
      .map((l) => /^(CONFIG_[A-Z0-9_]+)=y$/.exec(l.trim())?.[1])
      .filter((c): c is string => !!c && !config.includes(`${c}=y`));
    if (lost.length) throw new VmError(`the test kernel's configuration lost ${lost.join(', ')} (a dependency is missing from kernel/pinlab.config)`);
    await buildStep(tree, [`-j${Math.max(1, cpus().length)}`, 'bzImage'], logFile, log);
    copyFileSync(join(tree, 'arch', 'x86', 'boot', 'bzImage'), join(tmp, 'bzImage'));
    const release = readFileSync(join(tree, 'include', 'config', 'kernel.release'), 'utf8').trim();
    copyFileSync(join(tree, '.config'), join(tmp, 'config'));
    rmSync(work, { recursive: true, force: true });
    const meta: KernelArtifacts = { branch: `${branch}-pinlab`, pkg: src.top, version: src.version, release, dir, vmlinuz: join(dir, 'bzImage'), modules: [], testKernel: true };
    writeFileSync(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2));
    writeFileSync(join(tmp, 'build-seconds'), String(Math.round((Date.now() - t0) / 1000)));
    log(`the ${branch} test kernel is built (${Math.round((Date.now() - t0) / 1000)} s)`);
  });
  return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as KernelArtifacts;
}
