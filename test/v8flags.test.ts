// The node flags pinlab's command starts with (bin/v8-flags.cjs): said twice, in the sh header of
// bin/pinlab.cjs and in START_FLAGS (which the SPIN bench starts its pinlab child with), so they must agree;
// and the command started through its header takes the code cache the build made under those flags.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/pinlab.cjs');
const { START_FLAGS: V8_FLAGS } = createRequire(import.meta.url)(join(root, 'bin/v8-flags.cjs')) as { START_FLAGS: string[] };

test("bin/pinlab.cjs's sh header starts node with exactly bin/v8-flags.cjs's START_FLAGS, from the snapshot or not", () => {
  const [first, second] = readFileSync(bin, 'utf8').split('\n');
  assert.equal(first, '#!/bin/sh');
  assert.ok(second!.startsWith("':' //; "), `unexpected second line: ${second}`);
  // two ways out (test/snapshot.test.ts): `exec node FLAGS --snapshot-blob "$b" "$0" "$@"`, else `exec node FLAGS "$0" "$@"`
  const execs = [...second!.matchAll(/exec node((?: [^ ]+)*?)( --snapshot-blob "\$b")? "\$0" "\$@"/g)];
  assert.equal(execs.length, 2, second);
  assert.deepEqual(
    execs.map((m) => !!m[2]),
    [true, false],
  );
  for (const m of execs) assert.deepEqual(m[1]!.trim().split(/\s+/).filter(Boolean), V8_FLAGS);
  assert.ok(second!.endsWith('exec node --max-semi-space-size=2 "$0" "$@"'.replace('--max-semi-space-size=2', V8_FLAGS.join(' '))), second);
});

test('the sh header runs under a POSIX sh without GNU env (BusyBox too, when it is installed)', () => {
  for (const sh of ['/bin/sh', '/bin/dash', '/bin/busybox'].filter((p) => existsSync(p))) {
    const args = sh.endsWith('busybox') ? ['sh', bin, '--help'] : [bin, '--help'];
    const r = spawnSync(sh, args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `${sh}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: pinlab/, sh);
  }
});

test('the command run through its sh header answers, from the code cache the build made under its flags (the cache is not rewritten)', () => {
  const cache = join(root, 'dist/src', 'pinlab-bundle.cjs.start-flags.v8cache');
  assert.ok(existsSync(cache), `the build made ${cache}`);
  const before = statSync(cache).mtimeMs;
  // (PINLAB_NO_SNAPSHOT: from the code cache, not from the startup snapshot)
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8', env: { ...process.env, PINLAB_NO_SNAPSHOT: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: pinlab/);
  assert.equal(statSync(cache).mtimeMs, before, 'V8 rejected the cache: it was made under other flags');
});

test('node started with other flags compiles the bundle without a cache and leaves no cache file behind', () => {
  const caches = () => readdirSync(join(root, 'dist/src')).filter((f) => f.endsWith('.v8cache')).sort();
  const before = caches();
  const r = spawnSync(process.execPath, ['--stack-size=2000', bin, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: pinlab/);
  assert.deepEqual(caches(), before);
});

test('PINLAB_V8_DEFAULTS=1 runs with V8\'s own settings: the command answers the same, and no cache is written', () => {
  const caches = () => readdirSync(join(root, 'dist/src')).filter((f) => f.endsWith('.v8cache')).sort();
  const before = caches();
  const args = [bin, 'check', 'corpus/real/r01-pin-fork-child-alive-parent-write.pin', '--json'];
  const plain = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  const defaults = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, PINLAB_V8_DEFAULTS: '1' } });
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(defaults.status, plain.status, defaults.stderr);
  assert.equal(defaults.stdout, plain.stdout);
  assert.deepEqual(caches(), before);
});
