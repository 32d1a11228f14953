// The CLI end to end: exit statuses, error shape, and the worker pool giving
// the same answer as one thread.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli.js');
const pinlab = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });

test('check --jobs 2 (piscina workers) gives exactly the single-threaded JSON', () => {
  const files = ['corpus/real', 'corpus/24-dirty-cow-race.pin', 'corpus/41-longterm-pin-writeback-race.pin'];
  const one = pinlab('check', ...files, '--json', '--jobs', '1');
  const two = pinlab('check', ...files, '--json', '--jobs', '2');
  assert.equal(one.status, 0, one.stderr);
  assert.equal(two.status, 0, two.stderr);
  assert.equal(two.stdout, one.stdout);
  assert.ok(JSON.parse(one.stdout).length >= 14);
  // a file a task, with --kernel; and one file, a profile a task
  for (const args of [[...files, '--kernel', '6.1,6.12'], ['corpus/24-dirty-cow-race.pin']]) {
    const a = pinlab('check', ...args, '--json', '--jobs', '1');
    const b = pinlab('check', ...args, '--json', '--jobs', '2');
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, a.status, b.stderr);
    assert.equal(b.stdout, a.stdout, args.join(' '));
  }
  assert.ok((JSON.parse(pinlab('check', 'corpus/24-dirty-cow-race.pin', '--json').stdout) as { results: unknown[] }[])[0]!.results.length > 1);
});

test('check --jobs 2 reads each file once: a scenario on a pipe (/dev/stdin) runs, or reports its error, as with one thread', () => {
  // (through sh's pipe: node's own stdin pipe is a socket, which /dev/stdin cannot open)
  const dir = tempDir('pinlab-pipe-');
  const onPipe = (text: string, ...args: string[]) => {
    const f = join(dir, 'in.pin');
    writeFileSync(f, text);
    return spawnSync('/bin/sh', ['-c', 'f=$1; shift; cat "$f" | exec "$@"', 'sh', f, process.execPath, cli, 'check', '/dev/stdin', ...args], { cwd: root, encoding: 'utf8' });
  };
  const good = readFileSync(join(root, 'corpus/01-vmsplice-parent-unmap.pin'), 'utf8');
  // one file, a profile a task
  const a = onPipe(good, '--json', '--jobs', '1');
  const b = onPipe(good, '--json', '--jobs', '2');
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout, a.stdout);
  assert.ok((JSON.parse(a.stdout) as { results: unknown[] }[])[0]!.results.length > 1);
  // among other files, with an error at line 2
  const bad = 'scenario bad\nA: x = mmap(\n';
  const c = onPipe(bad, 'corpus/real', '--jobs', '1');
  const d = onPipe(bad, 'corpus/real', '--jobs', '2');
  assert.equal(c.status, 2);
  assert.equal(d.status, 2);
  assert.match(d.stderr, /^\/dev\/stdin:2:\d+: error:/);
  assert.equal(d.stderr, c.stderr);
});

test('check --jobs 2: a file with an input error is reported as one thread reports it (file:line:column, exit 2), the others run', () => {
  const dir = tempDir('pinlab-jobs-');
  const bad = join(dir, 'bad.pin');
  writeFileSync(bad, 'scenario bad\nA: x = mmap(\n');
  const a = pinlab('check', bad, 'corpus/real', '--jobs', '1');
  const b = pinlab('check', bad, 'corpus/real', '--jobs', '2');
  assert.equal(a.status, 2);
  assert.equal(b.status, 2);
  assert.match(b.stderr, /bad\.pin:2:\d+: error:/);
  assert.equal(b.stderr, a.stderr);
  assert.equal(b.stdout.replace(/in \d+ ms/, ''), a.stdout.replace(/in \d+ ms/, ''));
});

test('run --json on 18-dontfork-dofork prints the spec document', () => {
  const r = pinlab('run', 'corpus/18-dontfork-dofork.pin', '--json');
  assert.equal(r.status, 0);
  const d = JSON.parse(r.stdout);
  assert.equal(d.scenario, 'dontfork-dofork');
  assert.equal(d.passed, true);
  const k58 = d.results.find((x: { kernel: string }) => x.kernel === '5.8');
  assert.equal(k58.outcomes[0].values.r, 'b');
  assert.equal(k58.outcomes[0].violations[0].kind, 'DMA_LOST');
  assert.equal(k58.outcomes[0].violations[0].line, 17);
  assert.deepEqual(k58.explored, { states: 1, transitions: 0, complete: true });
  const k59 = d.results.find((x: { kernel: string }) => x.kernel === '5.9');
  assert.equal(k59.outcomes[0].values.r, 'c');
  assert.deepEqual(k59.outcomes[0].violations, []);
});

test('malformed input: file:line:col, the line, a caret, exit 2, no stack trace', () => {
  const dir = tempDir('pinlab-');
  const f = join(dir, 'bad.pin');
  writeFileSync(f, "scenario bad\nA: x = mmap(anon, 1, PROT_READ, MAP_PRIVATE)\nA: p = pin_user_pages(x, 1, FOLL_PINN)\n");
  const r = pinlab('run', f);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `${f}:3:29: error: unknown flag 'FOLL_PINN'; did you mean 'FOLL_PIN'?\n  A: p = pin_user_pages(x, 1, FOLL_PINN)\n                              ^\n`);
  assert.doesNotMatch(r.stderr, /at .*\.js/);
});

test('a failing clause exits 1; a bound hit makes check fail and says so', () => {
  const dir = tempDir('pinlab-');
  const f = join(dir, 'fail.pin');
  writeFileSync(f, "scenario fail\nkernels 6.18\nA: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)\nA: x[0] = 'a'\nA: r = x[0]\nexpect r == 'b'\n");
  assert.equal(pinlab('run', f).status, 1);
  const b = pinlab('check', 'corpus/42-secondary-mmu-vs-fast-pin-writeback.pin', '--max-states', '40');
  assert.equal(b.status, 1);
  assert.match(b.stdout, /BOUND/);
  assert.match(b.stdout, /exploration incomplete \(max-states bound\)/);
  const j = pinlab('run', 'corpus/42-secondary-mmu-vs-fast-pin-writeback.pin', '--max-states', '40', '--json');
  assert.equal(j.status, 1);
  const d = JSON.parse(j.stdout);
  assert.equal(d.results[0].explored.complete, false);
  assert.equal(d.results[0].explored.bound, 'max-states');
});

test('run DIR runs every scenario under it, as check DIR does', () => {
  const r = pinlab('run', 'corpus/real', '--json');
  assert.equal(r.status, 0, r.stderr);
  const docs = JSON.parse(r.stdout) as { scenario: string }[];
  const c = JSON.parse(pinlab('check', 'corpus/real', '--json').stdout) as { scenario: string }[];
  assert.ok(docs.length >= 40);
  assert.deepEqual(docs.map((d) => d.scenario), c.map((d) => d.scenario));
});

test('a path with no scenarios is an error that says so (check, run, real)', () => {
  const dir = tempDir('pinlab-empty-');
  writeFileSync(join(dir, 'notes.txt'), 'no scenario here\n');
  for (const cmd of ['check', 'run', 'real']) {
    const r = pinlab(cmd, dir);
    assert.equal(r.status, 2, `${cmd}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr, `pinlab: no scenarios in ${dir}: no .pin file in it or below it\n`, cmd);
  }
});

test("--kernel '' is an error; a misspelt knob gets a did-you-mean with a caret, as in files", () => {
  for (const cmd of ['run', 'check']) {
    const e = pinlab(cmd, 'corpus/01-vmsplice-parent-unmap.pin', '--kernel', '');
    assert.equal(e.status, 2, cmd);
    assert.match(e.stderr, /^pinlab: --kernel: give profiles/);
  }
  const k = pinlab('run', 'corpus/01-vmsplice-parent-unmap.pin', '--kernel', '5.9+fork_early_cow_pined');
  assert.equal(k.status, 2);
  assert.equal(k.stderr, "pinlab: --kernel 5.9+fork_early_cow_pined: unknown knob 'fork_early_cow_pined'; did you mean 'fork_early_cow_pinned'?\n  5.9+fork_early_cow_pined\n      ^\n");
  const v = pinlab('check', 'corpus/01-vmsplice-parent-unmap.pin', '--kernel', '5.8,5.99');
  assert.equal(v.status, 2);
  assert.match(v.stderr, /^pinlab: --kernel 5\.99: unknown kernel profile '5\.99'; pinlab models 4\.8, /);
  const far = pinlab('run', 'corpus/01-vmsplice-parent-unmap.pin', '--kernel', '5.9+knbo');
  assert.equal(far.status, 2);
  assert.match(far.stderr, /unknown knob 'knbo'; `pinlab profiles` lists the knobs/);
});

test('the check table fits in 100 columns on the whole corpus, and its legend lists exactly the results it shows', () => {
  const dir = tempDir('pinlab-table-');
  writeFileSync(join(dir, 'a-fail.pin'), "scenario a-scenario-with-a-name-longer-than-the-name-column-of-the-table\nkernels 5.8, 6.18\nA: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)\nA: x[0] = 'a'\nA: r = x[0]\nexpect r == 'b' on 6.18\nexpect r == 'a' on 5.8\n");
  writeFileSync(join(dir, 'b-bad.pin'), 'scenario bad\nA: x = mmap(anon)\n');
  for (const paths of [['corpus'], [dir, 'corpus/real']]) {
    const r = pinlab('check', ...paths);
    // the table, the summary and the legend (what follows, per failed scenario, is detail)
    const out = r.stdout.split('\nFAILED ')[0]!;
    const lines = out.split('\n');
    const wide = lines.filter((l) => l.length > 100);
    assert.deepEqual(wide, [], `${wide.length} lines wider than 100 columns`);
    const legend = out.slice(out.lastIndexOf('\n(')).replace(/\s+/g, ' ');
    const shown = new Set<string>();
    for (const l of lines.slice(2, lines.indexOf(''))) {
      for (const code of ['FAIL', 'ERR', 'BOUND', 'n/e', 'ok', 'PARSE ERROR']) if (new RegExp(`(^|[ ;])${code.replace('/', '\\/')}( |$)`).test(l.slice(42))) shown.add(code);
      if (/(^|; )- /.test(l.slice(42))) shown.add('-');
    }
    for (const code of ['FAIL', 'ERR', 'BOUND', 'n/e', 'ok', '-', 'PARSE ERROR'])
      assert.equal(legend.includes(` ${code} = `) || legend.includes(`(${code} = `), shown.has(code), `legend vs table for '${code}': ${legend}`);
    if (paths[0] === dir) {
      assert.equal(r.status, 2);
      assert.ok(shown.has('FAIL') && shown.has('PARSE ERROR') && shown.has('ok'));
      assert.match(r.stdout, /^a-scenario-with-a-name-longer-than-the-name-column-of-the-table\n {42}FAIL 6\.18; ok 5\.8$/m);
    } else assert.equal(r.status, 0);
  }
});

test('a closed stdout (pinlab ... | head -1) ends every command quietly: status 141, nothing on stderr', () => {
  const sh = (cmd: string) => spawnSync('bash', ['-c', `set -o pipefail; node ${cli} ${cmd} | head -c 10 >/dev/null`], { cwd: root, encoding: 'utf8' });
  // (outputs far larger than a pipe's 64 KiB buffer, so the writer meets the closed pipe however
  // the two processes are scheduled: `check corpus`'s 43 KB table could all fit before head exits)
  for (const cmd of ['run corpus', 'check corpus --json', 'run corpus --json']) {
    const r = sh(cmd);
    assert.equal(r.stderr, '', `${cmd}: ${r.stderr}`);
    assert.equal(r.status, 141, cmd);
  }
});

test('the bundled command line (package.json bin, started from its code cache) answers as the compiled tree does, and loads pinlab real, serve and piscina lazily', () => {
  const bundle = join(root, 'bin/pinlab.cjs');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { pinlab: string } };
  assert.equal(join(root, pkg.bin.pinlab), bundle);
  assert.ok(existsSync(join(root, 'dist/src/pinlab-bundle.cjs.v8cache')), 'the build made the code cache');
  const help = spawnSync(process.execPath, [bundle, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: pinlab/);
  for (const args of [['check', 'corpus/real', '--json'], ['run', 'corpus/24-dirty-cow-race.pin', '--random', '5', '--seed', '3', '--json']]) {
    const a = spawnSync(process.execPath, [bundle, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
    const b = pinlab(...args);
    assert.equal(a.status, b.status, args.join(' '));
    const strip = (s: string) => s.replace(/"ms": [\d.]+/g, '"ms": 0').replace(/"(elapsedMs|timeMs|seconds)": [\d.]+/g, '"$1": 0');
    assert.equal(strip(a.stdout), strip(b.stdout), args.join(' '));
  }
  // `pinlab real` lives outside the bundle, loaded from the compiled tree beside it (through the
  // loader: code from a V8 cache cannot import() on Node 20), and finds the native runner as the tree does
  const realArgs = ['real', 'corpus/real/r01-pin-fork-child-alive-parent-write.pin', '--json'];
  const real = spawnSync(process.execPath, [bundle, ...realArgs], { cwd: root, encoding: 'utf8' });
  assert.ok(real.status !== 70 && !/internal error|Cannot find module/.test(real.stderr), real.stderr);
  const tree = pinlab(...realArgs);
  assert.equal(real.status, tree.status);
  const reasons = (out: string) => (JSON.parse(out) as { scenarios: { status: string; reason?: string }[] }).scenarios.map((x) => `${x.status} ${x.reason ?? ''}`);
  assert.deepEqual(reasons(real.stdout), reasons(tree.stdout));
  // check -j 2 (piscina, imported on demand; its threads load the bundle, bin/check-worker.cjs), as the tree with one thread
  const j = spawnSync(process.execPath, [bundle, 'check', 'corpus/real', 'corpus/24-dirty-cow-race.pin', '-j', '2', '--json'], { cwd: root, encoding: 'utf8' });
  assert.equal(j.status, 0, j.stderr);
  assert.equal(j.stdout, pinlab('check', 'corpus/real', 'corpus/24-dirty-cow-race.pin', '--json').stdout);
});
