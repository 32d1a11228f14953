// The CLI end to end: exit statuses, error shape, and the worker pool giving
// the same answer as one thread.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

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
  const dir = mkdtempSync(join(tmpdir(), 'pinlab-'));
  const f = join(dir, 'bad.pin');
  writeFileSync(f, "scenario bad\nA: x = mmap(anon, 1, PROT_READ, MAP_PRIVATE)\nA: p = pin_user_pages(x, 1, FOLL_PINN)\n");
  const r = pinlab('run', f);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `${f}:3:29: error: unknown flag 'FOLL_PINN'; did you mean 'FOLL_PIN'?\n  A: p = pin_user_pages(x, 1, FOLL_PINN)\n                              ^\n`);
  assert.doesNotMatch(r.stderr, /at .*\.js/);
});

test('a failing clause exits 1; a bound hit makes check fail and says so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinlab-'));
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
