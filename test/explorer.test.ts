// The interleaving explorer: races found with shortest traces, bounds never
// silently pass, and the symmetry reduction changes no verdict or outcome.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { Prepared } from '../src/interp/interpreter.js';
import { explore } from '../src/explore/explorer.js';
import { parseProfileText } from '../src/profiles/profiles.js';

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
  const file = join(root, '../shared/corpus/seeds/003-mmu-notifier-secondary.pin');
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
  const dirs = [join(root, '../shared/corpus/seeds'), join(root, 'corpus')];
  let checked = 0;
  for (const dir of dirs)
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.pin'))) {
      const file = join(dir, name);
      const sc = parseScenario(readFileSync(file, 'utf8'), file);
      const pr = new Prepared(sc, checkScenario(sc));
      if (!pr.concurrent) continue;
      for (const ref of sc.kernels) {
        const p = parseProfileText(ref.text);
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
