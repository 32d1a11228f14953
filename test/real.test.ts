// `pinlab real`: the differential corpus run on the running kernel through the
// native runner, held to the model's nearest profile. On a machine where the
// runner cannot work (no compiler, no io_uring, not root) scenarios must be
// skipped with a reason -- never passed, never failed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { DEFAULT_CAPS, translate } from '../src/real/translate.js';
import { hostProfile } from '../src/real/differential.js';
import { runnerAvailable } from '../src/real/native.js';
import { tempDir } from './tmp.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/src/cli.js');
const REAL = join(root, 'corpus/real');

interface Rep {
  scenario: string;
  status: 'ran' | 'skipped';
  reason?: string;
  steps: { line: number; model: string; real: string; verdict: string; reason?: string }[];
  clauses: { line: number; verdict: string }[];
  disagreements: number;
}

function real(...args: string[]): { status: number | null; json: { profile: string; scenarios: Rep[]; disagreements: number } } {
  const r = spawnSync(process.execPath, [cli, 'real', '--json', ...args], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  return { status: r.status, json: JSON.parse(r.stdout) };
}

test('translate: steps without a user-space equivalent are not runnable, with the reason; io_uring stands in for FOLL_WRITE|FOLL_LONGTERM', () => {
  const text = `scenario t
device dev
A: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)
A: p = pin_user_pages(x, 1, FOLL_WRITE|FOLL_LONGTERM)
A: q = pin_user_pages(x, 1, FOLL_LONGTERM)
dev: r = dma_read(q, 0)
sys: migrate(x, 0)
`;
  const sc = parseScenario(text, 't.pin');
  const tr = translate(sc, checkScenario(sc));
  assert.deepEqual(tr.steps[1]!.cmds, [[0, 'uring_register', 'p', 'x', 0, 1]]);
  assert.match(tr.steps[2]!.notRunnable!, /no user-space equivalent/);
  assert.match(tr.steps[3]!.notRunnable!, /depends on line 5/);
  assert.match(tr.steps[4]!.notRunnable!, /NUMA node/);
  // in a guest with two nodes, migrate() is move_pages(2) through the process that maps x
  const g = translate(sc, checkScenario(sc), { ...DEFAULT_CAPS, machine: true, numa: true });
  assert.match(g.steps[4]!.notRunnable ?? '', /depends on line|^$/);
});

test('hostProfile maps uname -r to the newest profile not newer than it', () => {
  assert.equal(hostProfile('6.18.44-fc').profile.name, '6.18');
  assert.equal(hostProfile('6.6.1').profile.name, '6.6');
  assert.equal(hostProfile('5.10.0').profile.name, '5.10');
  assert.equal(hostProfile('6.1.0-57-amd64').profile.name, '6.1');
  assert.equal(hostProfile('6.12.117+deb12-amd64').profile.name, '6.12');
  assert.equal(hostProfile('6.7.2').profile.name, '6.6');
});

test('npm install built the native runner wherever there is a C compiler', () => {
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.status === 0) assert.ok(runnerAvailable(), 'cc works but native/pinlab-real was not built');
});

test('the differential corpus: model and running kernel agree on every runnable scenario', () => {
  const { status, json } = real(REAL);
  const ran = json.scenarios.filter((s) => s.status === 'ran');
  for (const s of json.scenarios.filter((x) => x.status === 'skipped')) assert.ok(s.reason, `${s.scenario} skipped without a reason`);
  const bad = json.scenarios.filter((s) => s.disagreements > 0).map((s) => `${s.scenario}: ${JSON.stringify(s.steps.filter((x) => x.verdict === 'DISAGREE'))} ${JSON.stringify(s.clauses.filter((c) => c.verdict === 'DISAGREE'))}`);
  assert.deepEqual(bad, []);
  assert.equal(status, ran.length ? 0 : 3, 'agreement is 0; nothing ran at all (no runner here) is 3');
  if (runnerAvailable() && process.getuid?.() === 0) assert.ok(ran.length >= 30, `only ${ran.length} scenarios ran: ${json.scenarios.filter((s) => s.status === 'skipped').map((s) => `${s.scenario}: ${s.reason}`).join('; ')}`);
});

test('a deliberately wrong expectation makes pinlab real disagree visibly (exit 1)', (t) => {
  if (!runnerAvailable()) return t.skip('the native runner is not built here');
  const dir = tempDir('pinlab-wrong-');
  const src = readFileSync(join(REAL, 'r01-pin-fork-child-alive-parent-write.pin'), 'utf8');
  const wrong = src.replace(`expect r == 'b' and s == 'a' and clean on >=5.9`, `expect r == 'a' and s == 'a' and clean on >=5.9`);
  assert.notEqual(wrong, src);
  const f = join(dir, 'wrong.pin');
  writeFileSync(f, wrong);
  const { status, json } = real(f);
  const s = json.scenarios[0]!;
  if (s.status === 'skipped') return t.skip(s.reason);
  assert.equal(status, 1);
  assert.ok(s.clauses.some((c) => c.verdict === 'DISAGREE'));
  const txt = spawnSync(process.execPath, [cli, 'real', f], { cwd: root, encoding: 'utf8' });
  assert.equal(txt.status, 1);
  assert.match(txt.stdout, /DISAGREE/);
});
