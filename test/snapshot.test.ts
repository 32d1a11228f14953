// pinlab's startup snapshot (scripts/snapshot.mjs, scripts/snapshot-prologue.cjs): bin/pinlab.cjs's sh header
// starts node from it when its stamp names the node on the PATH, and the commands answer from it exactly as
// without it (PINLAB_NO_SNAPSHOT=1: from the code cache); a tree moved after the build still finds its own
// files, and a stale stamp falls back. `sh -x` shows which way the header went.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { tempDir } from './tmp.js';
import { familyByName } from '../bench/families.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/pinlab.cjs');
const { START_FLAGS, RUNTIME_FLAGS } = createRequire(import.meta.url)(join(root, 'bin/v8-flags.cjs')) as { START_FLAGS: string[]; RUNTIME_FLAGS: string[] };
type Snapshot = { buildSnapshot(dir: string, bundleText: string, startFlags: string[], runtimeFlags: string[]): void; nodeStamp(path: string): string };
const snapshot = async () => (await import(pathToFileURL(join(root, 'scripts/snapshot.mjs')).href)) as Snapshot;

/**
 * Run the command through its header with `sh -x`: its answer, and how node was started (`started`, sh's
 * trace of the exec, whose words are not quoted) and whether from a snapshot (`snapshot`).
 */
function viaHeader(cmd: string, args: string[], env: Record<string, string> = {}, cwd = root) {
  const r = spawnSync('/bin/sh', ['-x', cmd, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ...env } });
  const trace = r.stderr.split('\n').filter((l) => l.startsWith('+ '));
  const started = trace.find((l) => l.startsWith('+ exec node'));
  assert.ok(started, `the header exec'd no node:\n${r.stderr}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('+ ')).join('\n'), started, snapshot: started.includes(' --snapshot-blob ') };
}
/** Whether the header started node from the snapshot at `blob`. */
const fromBlob = (r: { started: string }, blob: string) => r.started.includes(` --snapshot-blob ${blob} `);

const scenario3x3 = (): string => {
  const f = join(tempDir('pinlab-snap-'), 'odirect-3x3.pin');
  writeFileSync(f, familyByName('odirect-writeback')!.scenario(3, 3));
  return f;
};

test("the build made the snapshot and a stamp naming this node, and the header starts node from it", async () => {
  const stamp = readFileSync(join(root, 'dist/src/pinlab.blob.node'), 'utf8').trim();
  assert.equal(stamp, (await snapshot()).nodeStamp(process.execPath));
  const r = viaHeader(bin, ['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fromBlob(r, `${join(root, 'bin')}/../dist/src/pinlab.blob`), `not from the snapshot: ${r.started}`);
  assert.equal(r.stdout.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  // and not with PINLAB_NO_SNAPSHOT, nor with NODE_OPTIONS, whose V8 flags may not be the snapshot's (--jitless: node would stop, exit 14)
  assert.equal(viaHeader(bin, ['--version'], { PINLAB_NO_SNAPSHOT: '1' }).snapshot, false);
  const jitless = viaHeader(bin, ['--version'], { NODE_OPTIONS: '--jitless' });
  assert.equal(jitless.snapshot, false);
  assert.equal(jitless.status, 0, jitless.stderr);
});

test('the stamp is checked against the node exec runs: another node first on the PATH falls back, a link to the same node does not', () => {
  const dir = tempDir('pinlab-snap-');
  // an entry that would glob, an empty one (the working directory, root: no node there), then the PATH
  const odd = viaHeader(bin, ['--version'], { PATH: `${dir}/*::${process.env.PATH}` });
  assert.equal(odd.status, 0, odd.stderr);
  assert.equal(odd.snapshot, true, odd.started);
  // a node that is not the stamp's comes first (a wrapper of the same node): the code cache, the same answer
  const other = join(dir, 'node');
  writeFileSync(other, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "$@"\n`);
  chmodSync(other, 0o755);
  const wrapped = viaHeader(bin, ['--version'], { PATH: `${dir}:${process.env.PATH}` });
  assert.equal(wrapped.snapshot, false, wrapped.started);
  assert.equal(wrapped.status, 0, wrapped.stderr);
  assert.equal(wrapped.stdout, odd.stdout);
  // a link to the stamp's node is that node
  rmSync(other);
  symlinkSync(process.execPath, other);
  assert.equal(viaHeader(bin, ['--version'], { PATH: `${dir}:${process.env.PATH}` }).snapshot, true);
});

test('from the snapshot, every kind of command answers exactly as without it: output, errors and status', () => {
  const odirect = scenario3x3();
  const bad = join(tempDir('pinlab-snap-'), 'bad.pin');
  writeFileSync(bad, 'scenario bad\nA: x = mmap(\n');
  // (the environment and the working directory of a command are its own, not the build's: module set-up reads none of them)
  const shared: { args: string[]; env?: Record<string, string>; cwd?: string }[] = [
    { args: ['check', 'corpus/real'], env: { PINLAB_NO_SHARE: '1' } },
    { args: ['check', 'real'], cwd: join(root, 'corpus') },
    { args: ['run', 'corpus/24-dirty-cow-race.pin', '--json'], env: { PINLAB_EXPLORE: 'no-symmetry-pins' } },
  ];
  const commands: string[][] = [
    ['--help'],
    ['profiles', '--json'],
    ['run', 'corpus/real/r01-pin-fork-child-alive-parent-write.pin', '--json'],
    ['check', 'corpus/real', 'corpus/24-dirty-cow-race.pin', '--json'],
    ['check', 'corpus/real', '--jobs', '2', '--json'], // piscina, imported on demand (bin/dynamic-import.cjs)
    ['run', '--jobs', '2', odirect, '--json'], // the explorer's worker threads (the bundle's import.meta.url)
    ['bisect', 'corpus/real/r01-pin-fork-child-alive-parent-write.pin'],
    ['real', 'corpus/real/r01-pin-fork-child-alive-parent-write.pin', '--json'], // the compiled tree, child processes
    ['run', bad], // file:line:column, exit 2
    ['run', '--kernel', 'nosuch', 'corpus/real/r01-pin-fork-child-alive-parent-write.pin'],
    ['nosuch'],
  ];
  const strip = (s: string) => s.replace(/"(ms|elapsedMs|timeMs|seconds|wallMs)": [\d.]+/g, '"$1": 0').replace(/in \d+ ms/g, 'in N ms');
  const cases: { args: string[]; env?: Record<string, string>; cwd?: string }[] = [...commands.map((args) => ({ args })), ...shared];
  for (const { args, env = {}, cwd = root } of cases) {
    const a = viaHeader(bin, args, env, cwd);
    const b = viaHeader(bin, args, { ...env, PINLAB_NO_SNAPSHOT: '1' }, cwd);
    assert.ok(a.snapshot && !b.snapshot, args.join(' '));
    assert.equal(a.status, b.status, `${args.join(' ')}: ${a.stderr}`);
    assert.equal(strip(a.stdout), strip(b.stdout), args.join(' '));
    assert.equal(strip(a.stderr), strip(b.stderr), args.join(' '));
    assert.doesNotMatch(a.stderr, /internal error|Cannot find module|ERR_/, args.join(' '));
  }
});

test('through a symlink to the command (node_modules/.bin/pinlab, as npx runs it) the header finds the snapshot beside the real file', () => {
  const link = join(tempDir('pinlab-snap-'), 'pinlab');
  symlinkSync(bin, link);
  const r = viaHeader(link, ['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fromBlob(r, `${join(root, 'bin')}/../dist/src/pinlab.blob`), r.started);
});

test('a tree moved after its snapshot was built finds its own files; a stale stamp falls back to the code cache', async () => {
  // a copy of the command (bin/), its bundle, and links to the compiled tree and node_modules, built in a/
  const top = tempDir('pinlab-snap-');
  const a = join(top, 'a');
  mkdirSync(join(a, 'bin'), { recursive: true });
  mkdirSync(join(a, 'dist/src'), { recursive: true });
  for (const f of readdirSync(join(root, 'bin'))) copyFileSync(join(root, 'bin', f), join(a, 'bin', f));
  for (const f of readdirSync(join(root, 'dist/src'))) {
    if (/^pinlab\.blob|\.v8cache$/.test(f)) continue;
    if (f === 'pinlab-bundle.cjs') copyFileSync(join(root, 'dist/src', f), join(a, 'dist/src', f));
    else symlinkSync(join(root, 'dist/src', f), join(a, 'dist/src', f));
  }
  symlinkSync(join(root, 'node_modules'), join(a, 'node_modules'));
  symlinkSync(join(root, 'package.json'), join(a, 'package.json'));
  (await snapshot()).buildSnapshot(join(a, 'dist/src'), readFileSync(join(a, 'dist/src/pinlab-bundle.cjs'), 'utf8'), START_FLAGS, RUNTIME_FLAGS);
  // moved to b/: the snapshot holds a/'s paths, which are gone
  const b = join(top, 'b');
  renameSync(a, b);
  const moved = join(b, 'bin/pinlab.cjs');
  const odirect = scenario3x3();
  const want = viaHeader(bin, ['run', '--jobs', '2', odirect, '--json'], { PINLAB_NO_SNAPSHOT: '1' });
  assert.equal(want.status, 0, want.stderr);
  const got = viaHeader(moved, ['run', '--jobs', '2', odirect, '--json']);
  assert.ok(fromBlob(got, `${b}/bin/../dist/src/pinlab.blob`), got.started);
  assert.equal(got.status, 0, got.stderr);
  assert.equal(got.stdout, want.stdout);
  const jobs = viaHeader(moved, ['check', 'corpus/real', '--jobs', '2']);
  assert.ok(jobs.snapshot);
  assert.equal(jobs.status, 0, jobs.stderr);
  // a stamp that names another node: the header takes the code cache, with the same answer
  writeFileSync(join(b, 'dist/src/pinlab.blob.node'), '0 0 0 0 0\n');
  const stale = viaHeader(moved, ['run', '--jobs', '2', odirect, '--json']);
  assert.equal(stale.snapshot, false);
  assert.equal(stale.status, 0, stale.stderr);
  assert.equal(stale.stdout, want.stdout);
});
