// Every explorer optimisation can be switched off, and switching it off
// changes nothing a user sees: on every concurrent corpus scenario and profile,
// each switch off gives the same verdicts (status, observation), the same
// shortest witness / counterexample lengths, the same outcome set (result
// values and violation kinds) and the same completeness as everything on. A
// symmetry reduction may only lower the state count; the others keep it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { Prepared } from '../src/interp/interpreter.js';
import { explore, type ExploreOptions, type ExploreResult } from '../src/explore/explorer.js';
import { kernelsOf, type Profile } from '../src/profiles/profiles.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dirs = ['corpus', 'corpus/threads', 'corpus/real', 'corpus/selftests', '../shared/corpus/seeds'].map((d) => join(root, d)).filter(existsSync);

/** Each switch, the option that turns it off, and whether it may change the number of states. */
const SWITCHES: { name: string; off: ExploreOptions; reduces: boolean }[] = [
  { name: 'symmetry-pins', off: { symmetryPins: false }, reduces: true },
  // the packed layers and the reload of the parent between moves are only used without delta states
  { name: 'packed-frontier', off: { deltaStates: false, packedFrontier: false }, reduces: false },
  { name: 'incremental-hash', off: { incrementalHash: false }, reduces: false },
  { name: 'incremental-hash (whole-state layers)', off: { deltaStates: false, incrementalHash: false }, reduces: false },
  { name: 'write-log', off: { writeLog: false }, reduces: false },
  { name: 'write-log (whole-state layers)', off: { deltaStates: false, writeLog: false }, reduces: false },
  { name: 'compact-ctl', off: { compactCtl: false }, reduces: false },
  { name: 'delta-states', off: { deltaStates: false }, reduces: false },
  // not a switch off but the other way round: one exploration on two worker threads, every layer handed to them
  { name: 'jobs=2', off: { jobs: 2, jobsMinLayer: 1 }, reduces: false },
  // every chunk expanded by the worker and merged from its list
  { name: 'jobs=2 (worker only)', off: { jobs: 2, jobsMinLayer: 1, jobsCoordinatorExpands: false }, reduces: false },
];

const runs: { name: string; pr: Prepared; p: Profile }[] = [];
for (const dir of dirs)
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.pin')).sort()) {
    const file = join(dir, name);
    const sc = parseScenario(readFileSync(file, 'utf8'), file);
    const pr = new Prepared(sc, checkScenario(sc));
    if (!pr.concurrent) continue;
    for (const p of kernelsOf(sc.kernels)) runs.push({ name: `${name}@${p.name}`, pr, p });
  }

const MAX = 200_000;
const seen = (x: ExploreResult) => ({
  complete: x.complete,
  verdicts: x.verdicts.map((v) => [v.status, v.observation, v.trace?.length ?? null]),
  outcomes: [...new Set(x.outcomes.map((o) => JSON.stringify([o.values, [...new Set(o.violations.map((v) => v.kind))].sort()])))].sort(),
});

const allOn = new Map<string, ExploreResult>();
const baseline = (r: (typeof runs)[number]) => {
  let x = allOn.get(r.name);
  if (!x) allOn.set(r.name, (x = explore(r.pr, r.p, { maxStates: MAX })));
  return x;
};

test('the corpus has concurrent scenarios to compare on', () => {
  assert.ok(runs.length >= 50, `${runs.length} concurrent scenario profiles`);
});

for (const sw of SWITCHES) {
  test(`${sw.name.includes('=') ? '--' : '--no-'}${sw.name}: same verdicts, witness lengths and outcomes on every concurrent corpus scenario`, () => {
    for (const r of runs) {
      const on = baseline(r);
      const off = explore(r.pr, r.p, { maxStates: MAX, ...sw.off });
      assert.deepEqual(seen(on), seen(off), `${r.name} with ${sw.name} on vs off`);
      if (sw.reduces) assert.ok(on.states <= off.states, `${r.name}: ${sw.name} never adds states (${on.states} > ${off.states})`);
      else assert.deepEqual([on.states, on.transitions, on.finals, on.depth], [off.states, off.transitions, off.finals, off.depth], `${r.name}: ${sw.name} keeps the search`);
    }
  });
}

/** Two O_DIRECT reads into one shared ext4 page racing a writeback: their released handles sit in either order. */
const TWO_READS = `scenario two-odirect-reads
kernels 6.18
file src on ext4 pages 1 = 's'
file f on ext4 pages 1 = 'd'
A: x = mmap(f, 1, PROT_READ|PROT_WRITE, MAP_SHARED)
A: x[0] = 'a'
par {
  A: odirect_read(src, 0, x)
} {
  A: odirect_read(src, 0, x)
} {
  sys: writeback(f)
}
exists violation(UNTRACKED_DIRTY)
`;

test('symmetry over pin handles merges the orders in which unnamed handles were taken, and keeps every verdict', () => {
  const sc = parseScenario(TWO_READS, 'two.pin');
  const pr = new Prepared(sc, checkScenario(sc));
  const p = kernelsOf(sc.kernels)[0]!;
  const on = explore(pr, p);
  const off = explore(pr, p, { symmetryPins: false });
  assert.ok(on.states < off.states, `${on.states} < ${off.states}`);
  assert.deepEqual(seen(on), seen(off));
});

/** Handles a result names keep their allocation numbers: pin#1 / pin#2 depend on which thread pinned first. */
const NAMED = `scenario named-pins
kernels 6.18
A: x = mmap(anon, 2, PROT_READ|PROT_WRITE, MAP_PRIVATE)
A: x[0] = 'a'
A: x[1] = 'b'
par {
  A: p = pin_user_pages(x, 1, FOLL_WRITE)
} {
  A: q = pin_user_pages(x, 1, FOLL_WRITE)
}
A: unpin_user_pages(p)
A: unpin_user_pages(q)
A: r = x[0]
expect r == 'a'
`;

test('a result names its pin handle by allocation number with the symmetry on', () => {
  const sc = parseScenario(NAMED, 'named.pin');
  const pr = new Prepared(sc, checkScenario(sc));
  const p = kernelsOf(sc.kernels)[0]!;
  const on = explore(pr, p);
  const off = explore(pr, p, { symmetryPins: false });
  assert.deepEqual(seen(on), seen(off));
  const values = new Set(on.outcomes.map((o) => `${o.values['p']}/${o.values['q']}`));
  assert.deepEqual(values, new Set(['pin#1/pin#2', 'pin#2/pin#1']));
});

test('pinlab run --jobs 2 and check -j 2 on one scenario print exactly the single-threaded JSON', () => {
  const cli = join(root, 'dist/src/cli.js');
  const pinlab = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });
  for (const cmd of ['run', 'check']) {
    const one = pinlab(cmd, 'corpus/41-longterm-pin-writeback-race.pin', '--json');
    const two = pinlab(cmd, 'corpus/41-longterm-pin-writeback-race.pin', '--json', '--jobs', '2');
    assert.equal(one.status, 0, one.stderr);
    assert.equal(two.status, 0, two.stderr);
    assert.equal(two.stdout, one.stdout, cmd);
  }
});
