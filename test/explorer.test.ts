// The interleaving explorer: races found with shortest traces, bounds never
// silently pass, and the symmetry reduction changes no verdict or outcome.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { Prepared } from '../src/interp/interpreter.js';
import { explore, Program, replay } from '../src/explore/explorer.js';
import { kernelsOf, parseProfileText } from '../src/profiles/profiles.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function prep(text: string): Prepared {
  const sc = parseScenario(text, 'inline.pin');
  return new Prepared(sc, checkScenario(sc));
}

const DIRTY_COW = `scenario dirty-cow
file f on ext4 pages 1 = 'f'
A: x = mmap(f, 1, PROT_READ, MAP_PRIVATE)
par {
  A: proc_mem_write(x, 0, 'X')
} {
  A: madvise(x, 1, MADV_DONTNEED)
}
A: d = read(f, 0)
never violation(PRIVATE_WRITE_LEAK) or d == 'X'
`;

test('Dirty COW: 4.8 has an interleaving that writes the file; the counterexample puts MADV_DONTNEED between the COW fault and the retry', () => {
  const pr = prep(DIRTY_COW);
  const x = explore(pr, parseProfileText('4.8'));
  assert.equal(x.complete, true);
  const v = x.verdicts[0]!;
  assert.equal(v.status, 'failed');
  assert.equal(v.observation, 'Sometimes');
  const steps = v.trace!.map((t) => `${t.line}${t.segment.startsWith('finishes') ? 'f' : t.segment.startsWith('continues') ? 'c' : t.segment.startsWith('starts') ? 's' : ''}`);
  assert.deepEqual(steps, ['3', '5s', '7', '5c', '5f', '9']);
  assert.ok(v.trace!.some((t) => t.calls.some((c) => c.what.includes('FOLL_WRITE dropped'))));
  const y = explore(pr, parseProfileText('4.9'));
  assert.equal(y.verdicts[0]!.status, 'passed', '4.9 keeps FOLL_WRITE (FOLL_COW): no interleaving leaks');
});

test('the counterexample is the shortest: no interleaving one transition shorter reaches it', () => {
  const pr = prep(DIRTY_COW);
  const x = explore(pr, parseProfileText('4.8'));
  const len = x.verdicts[0]!.trace!.length;
  const shorter = explore(pr, parseProfileText('4.8'), { maxDepth: len - 1 });
  assert.equal(shorter.verdicts[0]!.positive, 0);
  assert.equal(shorter.complete, false, 'and the depth bound is reported');
});

test('a bound hit never passes: the result is incomplete and never/expect clauses fail with the reason', () => {
  const file = join(root, 'corpus/42-secondary-mmu-vs-fast-pin-writeback.pin');
  const sc = parseScenario(readFileSync(file, 'utf8'), file);
  const pr = new Prepared(sc, checkScenario(sc));
  const x = explore(pr, parseProfileText('6.18'), { maxStates: 50 });
  assert.equal(x.complete, false);
  assert.equal(x.bound, 'max-states');
  for (const v of x.verdicts) {
    assert.equal(v.status, 'failed');
    assert.match(v.reason ?? '', /bound/);
  }
});

test('exploration is deterministic', () => {
  const pr = prep(DIRTY_COW);
  const a = explore(pr, parseProfileText('4.8'));
  const b = explore(pr, parseProfileText('4.8'));
  assert.deepEqual([a.states, a.transitions, a.finals], [b.states, b.transitions, b.finals]);
  assert.deepEqual(a.verdicts.map((v) => v.trace), b.verdicts.map((v) => v.trace));
});

test('the symmetry reduction changes no verdict and no outcome on any concurrent corpus scenario', () => {
  const dirs = [join(root, 'corpus'), ...(existsSync(join(root, '../shared/corpus/seeds')) ? [join(root, '../shared/corpus/seeds')] : [])];
  let checked = 0;
  for (const dir of dirs)
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.pin'))) {
      const file = join(dir, name);
      const sc = parseScenario(readFileSync(file, 'utf8'), file);
      const pr = new Prepared(sc, checkScenario(sc));
      if (!pr.concurrent) continue;
      for (const p of kernelsOf(sc.kernels)) {
        const on = explore(pr, p, { reduce: true, maxStates: 200_000 });
        const off = explore(pr, p, { reduce: false, maxStates: 200_000 });
        assert.ok(on.states <= off.states, `${name}@${p.name}: reduction never adds states`);
        assert.deepEqual(
          on.verdicts.map((v) => [v.status, v.observation, v.trace?.length]),
          off.verdicts.map((v) => [v.status, v.observation, v.trace?.length]),
          `${name}@${p.name}`,
        );
        const key = (o: { values: object; violations: { kind: string }[] }) => JSON.stringify([o.values, [...new Set(o.violations.map((v) => v.kind))].sort()]);
        assert.deepEqual(new Set(on.outcomes.map(key)), new Set(off.outcomes.map(key)), `${name}@${p.name} outcomes`);
        checked++;
      }
    }
  assert.ok(checked >= 10, `checked ${checked} concurrent scenario profiles`);
});

test('mmap_lock: nothing that needs it for write (fork) runs while GUP is suspended after faultin_page', () => {
  const pr = prep(`scenario gup-vs-fork
A: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)
A: x[0] = 'a'
A: mprotect(x, 1, PROT_READ)
par {
  A: proc_mem_write(x, 0, 'X')
} {
  A: B = fork()
}
B: r = x[0]
never violation(COW_LEAK)
`);
  for (const k of ['4.9', '5.18', '6.18']) {
    const x = explore(pr, parseProfileText(k));
    assert.equal(x.complete, true);
    assert.equal(x.verdicts[0]!.status, 'passed', `${k}: the child never sees the parent's post-fork write`);
  }
});

test('random walk: finds and shrinks the Dirty COW witness on 4.8, never passes a never clause', async () => {
  const { randomExplore } = await import('../src/explore/random.js');
  const pr = prep(DIRTY_COW);
  const x = randomExplore(pr, parseProfileText('4.8'), { runs: 300, seed: 42 });
  const v = x.verdicts[0]!;
  assert.equal(v.status, 'failed');
  assert.match(v.reason ?? '', /counterexample found by random walk/);
  assert.ok(v.trace && v.trace.length <= 6, `shrunk to ${v.trace?.length} steps`);
  const y = randomExplore(pr, parseProfileText('6.18'), { runs: 50, seed: 42 });
  assert.equal(y.verdicts[0]!.status, 'failed', 'no counterexample is not a proof');
  assert.match(y.verdicts[0]!.reason ?? '', /not a proof/);
  assert.equal(y.complete, false);
});

test('GUP-fast vs fork: the pin lands between copy_present_pte deciding to share and write-protecting (5.9); write_protect_seq (5.11) closes it', () => {
  const file = join(root, 'corpus/51-gup-fast-fork-race.pin');
  const sc = parseScenario(readFileSync(file, 'utf8'), file);
  const pr = new Prepared(sc, checkScenario(sc));
  const lost = (k: string) => explore(pr, parseProfileText(k)).outcomes.some((o) => o.violations.some((v) => v.kind === 'DMA_LOST'));
  assert.equal(lost('5.9'), true);
  assert.equal(lost('6.18'), false);
  assert.equal(lost('6.18-gup_fast_write_protect_seq'), true, 'the knob alone decides it');
  const w = explore(pr, parseProfileText('5.9')).verdicts.find((v) => v.clause.kind === 'exists')!.trace!;
  const i = w.findIndex((t) => t.calls.some((c) => c.what.includes('-> shared with the child')));
  const j = w.findIndex((t) => t.calls.some((c) => c.what.includes('both PTEs write-protected')));
  const pin = w.findIndex((t, n) => n > i && t.line === 17);
  assert.ok(i >= 0 && i < pin && pin < j, `the pin (step ${pin + 1}) sits between decide (${i + 1}) and write-protect (${j + 1})`);
});

test('secondary MMU fault vs zap (P8): an invalidation between lookup and SPTE install makes the fault retry, never map a stale page', () => {
  const pr = prep(`scenario kvm-fault-vs-zap
secondary kvm of A
A: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)
A: x[0] = 'a'
par {
  kvm: write(x, 0, 'k')
} {
  A: madvise(x, 1, MADV_DONTNEED)
}
A: r = x[0]
never violation(USE_AFTER_FREE)
exists r == 'k'
exists r == 0
`);
  const x = explore(pr, parseProfileText('6.18'));
  assert.equal(x.complete, true);
  assert.deepEqual(x.verdicts.map((v) => v.status), ['passed', 'passed', 'passed']);
  // the schedule lookup -> zap -> install: the install must see the invalidation and retry
  const prog = new Program(pr);
  const kvm = 1;
  const zap = 2;
  const r = replay(pr, parseProfileText('6.18'), prog, [0, 0, kvm, zap, kvm, kvm, kvm, 0]);
  const calls = r.steps.flatMap((t) => t.calls.map((c) => c.fn));
  assert.ok(calls.includes('mmu_invalidate_retry'), calls.join(' '));
  assert.equal(r.outcome.values.r, 'k');
  assert.deepEqual(r.outcome.violations, []);
});

test('migration (P6): a CPU store or a pin racing it waits on the migration entry; nothing is lost', () => {
  const pr = prep(`scenario migrate-race
device dev
A: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)
A: x[0] = 'a'
par {
  sys: m = migrate(x, 0)
} {
  A: x[0] = 'b'
} {
  A: p = pin_user_pages_fast(x, 1, FOLL_WRITE|FOLL_LONGTERM)
}
dev: dma_write(p, 0, 'c')
A: r = x[0]
never violation(DMA_LOST) or violation(USE_AFTER_FREE)
never r == 'a' or r == 'b'
exists ok(m)
exists m == EAGAIN
`);
  for (const k of ['5.9', '6.18']) {
    const x = explore(pr, parseProfileText(k));
    assert.equal(x.complete, true);
    assert.deepEqual(x.verdicts.map((v) => [v.clause.line, v.status]), [[14, 'passed'], [15, 'passed'], [16, 'passed'], [17, 'passed']], k);
  }
  // the store really waits: lookup the schedule unmap -> store -> move
  const prog = new Program(pr);
  const r = replay(pr, parseProfileText('6.18'), prog, [0, 0, 1, 2, 2, 1, 2, 3, 3, 0, 0]);
  const calls = r.steps.flatMap((t) => t.calls.map((c) => c.fn));
  assert.ok(calls.includes('try_to_migrate') && calls.includes('migrate_pages'), calls.join(' '));
  assert.equal(r.outcome.values.r, 'c');
});
