// `pinlab check` shares a run between profiles that answer alike every question the run asked of
// its profile (interp/runner.ts runScenarioProfiles). These tests hold sharing to computing every
// run: over the whole repository corpus the results are the same, and a profile that answers one
// question differently -- however late in the run it is asked -- gets a run of its own.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { Prepared, type ProfileRun } from '../src/interp/interpreter.js';
import { runScenarioProfiles } from '../src/interp/runner.js';
import { kernelsOf, parseProfileText } from '../src/profiles/profiles.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function prepare(text: string, file = 'test.pin'): Prepared {
  const sc = parseScenario(text, file);
  return new Prepared(sc, checkScenario(sc));
}

/** A run without what may differ between two computations of it (timing) or says how it was had. */
function comparable(r: ProfileRun): object {
  const { sharedFrom, kernelState, explored, ...rest } = r;
  void sharedFrom;
  void kernelState;
  const x = explored ? { ...explored, ms: 0 } : undefined;
  return { ...rest, ...(x ? { explored: x } : {}) };
}

function pinFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory()) out.push(...pinFiles(join(dir, e.name)));
    else if (e.name.endsWith('.pin')) out.push(join(dir, e.name));
  }
  return out;
}

test('sharing runs changes no result: every scenario x profile of the corpus, shared or computed alike', () => {
  const files = pinFiles(join(root, 'corpus'));
  assert.ok(files.length > 300, `the corpus is there (${files.length} files)`);
  let runs = 0;
  let shared = 0;
  for (const file of files) {
    const pr = prepare(readFileSync(file, 'utf8'), file);
    const profiles = kernelsOf(pr.sc.kernels);
    const a = runScenarioProfiles(pr, profiles, {}, true);
    const b = runScenarioProfiles(pr, profiles, {}, false);
    assert.equal(a.length, profiles.length);
    assert.equal(b.length, profiles.length);
    for (let i = 0; i < profiles.length; i++) {
      const name = `${file.slice(root.length)} on ${profiles[i]!.name}${a[i]!.sharedFrom ? ` (shared from ${a[i]!.sharedFrom})` : ''}`;
      assert.equal(a[i]!.kernel, profiles[i]!.name, name);
      assert.equal(b[i]!.sharedFrom, undefined, name);
      assert.deepStrictEqual(comparable(a[i]!), comparable(b[i]!), name);
      if (a[i]!.sharedFrom) {
        shared++;
        assert.notEqual(a[i]!.sharedFrom, profiles[i]!.name, name);
        assert.ok(profiles.slice(0, i).some((p) => p.name === a[i]!.sharedFrom), `${name}: shared from an earlier profile`);
      }
      runs++;
    }
  }
  // the corpus's profiles agree on the knobs of many runs: sharing happens (else this test tests nothing)
  assert.ok(shared > runs / 4, `${shared} of ${runs} runs shared`);
});

const PIN_THEN_FORK = `scenario pin-then-fork
kernels 5.9 5.9-fork_early_cow_pinned

device nic
P: mr = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)
P: mr[0] = 1
P: reg = pin_user_pages(mr, 1, FOLL_WRITE|FOLL_LONGTERM)
P: H = fork()
H: exit()
P: mr[0] = 2
nic: dma_write(reg, 0, 3)
P: parent_sees = mr[0]
P: unpin_user_pages(reg)

expect parent_sees == 3 or parent_sees == 2
`;

test('a knob the run asks late (at fork, after the pin) and the profiles answer differently: each profile computes its run', () => {
  const pr = prepare(PIN_THEN_FORK);
  const profiles = kernelsOf(pr.sc.kernels);
  assert.deepEqual(
    profiles.map((p) => p.name),
    ['5.9', '5.9-fork_early_cow_pinned'],
  );
  const [a, b] = runScenarioProfiles(pr, profiles);
  assert.equal(a!.sharedFrom, undefined);
  assert.equal(b!.sharedFrom, undefined, 'fork_early_cow_pinned is asked at fork(): the second profile answers differently');
  assert.equal(a!.values.parent_sees, 3);
  assert.equal(b!.values.parent_sees, 2);
  assert.ok([a!, b!].every((r) => r.checks.length === 1 && r.checks[0]!.passed), 'the same clause, on both: only the knob tells the profiles apart');
});

test('the same profiles share the run when the scenario never comes to ask that knob (no fork)', () => {
  const text = PIN_THEN_FORK.replace('P: H = fork()\nH: exit()\n', '').replace(/\nexpect[^]*$/, '\nexpect parent_sees == 3\n');
  const pr = prepare(text);
  const profiles = kernelsOf(pr.sc.kernels);
  const [a, b] = runScenarioProfiles(pr, profiles);
  assert.equal(a!.sharedFrom, undefined);
  assert.equal(b!.sharedFrom, '5.9');
  assert.equal(b!.kernel, '5.9-fork_early_cow_pinned');
  assert.deepStrictEqual(comparable({ ...b!, kernel: '5.9' }), comparable(a!));
});

test('a clause for one profile only: profiles that agree on every knob still run apart when their clauses differ', () => {
  const text = PIN_THEN_FORK.replace('P: H = fork()\nH: exit()\n', '').replace(/\nexpect[^]*$/, '\nexpect parent_sees == 3 on 5.9-fork_early_cow_pinned\n');
  const pr = prepare(text);
  const [a, b] = runScenarioProfiles(pr, kernelsOf(pr.sc.kernels));
  assert.equal(b!.sharedFrom, undefined);
  assert.equal(a!.checks.length, 0);
  assert.equal(b!.checks.length, 1);
});

test("a run whose messages name the profile (FOLL_LONGTERM dropped on 4.8) is no other profile's run", () => {
  const pr = prepare(`scenario longterm-on-old-kernels
kernels 4.8 4.9

P: m = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)
P: m[0] = 1
P: r = get_user_pages(m, 1, FOLL_WRITE|FOLL_LONGTERM)

expect r == 1
`);
  const runs = runScenarioProfiles(pr, [parseProfileText('4.8'), parseProfileText('4.9')]);
  for (const r of runs) {
    assert.equal(r.sharedFrom, undefined, r.kernel);
    assert.ok(
      r.notes.some((n) => n.msg.includes(`on ${r.kernel} `)),
      `${r.kernel}: ${JSON.stringify(r.notes)}`,
    );
  }
});

test('an exploration on several threads is not shared (its workers get the profile itself, unrecorded)', () => {
  const pr = prepare(readFileSync(join(root, 'corpus/24-dirty-cow-race.pin'), 'utf8'));
  assert.ok(pr.concurrent);
  const profiles = kernelsOf(pr.sc.kernels);
  const runs = runScenarioProfiles(pr, profiles, { jobs: 2 });
  assert.ok(runs.every((r) => r.sharedFrom === undefined));
});
