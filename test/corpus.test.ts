// Every corpus scenario's outcome clauses, on every profile it names: the
// repo's own corpus (corpus/, corpus/threads/ -- the seed threads restated --, corpus/real/, corpus/selftests/) and, when the
// workspace has it beside the clone, the shared seeds (../shared/corpus/seeds).
// Each clause is its own test, named file:line@kernel, so a failure says which.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { Prepared } from '../src/interp/interpreter.js';
import { runScenarioProfile } from '../src/interp/runner.js';
import { kernelsOf } from '../src/profiles/profiles.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const shared = join(root, '../shared/corpus/seeds');
const dirs = [join(root, 'corpus'), join(root, 'corpus/threads'), join(root, 'corpus/real'), join(root, 'corpus/selftests')];
if (existsSync(shared)) dirs.unshift(shared);
else test('shared corpus (../shared/corpus/seeds)', { skip: 'not beside this clone: only the repository\'s own corpus runs' }, () => {});

for (const dir of dirs) {
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.pin')).sort()) {
    const file = join(dir, name);
    const sc = parseScenario(readFileSync(file, 'utf8'), file);
    const pr = new Prepared(sc, checkScenario(sc));
    test(`corpus ${name}`, async (t) => {
      assert.ok(sc.kernels, 'every corpus scenario names its kernels');
      let clauses = 0;
      for (const prof of kernelsOf(sc.kernels)) {
        const run = runScenarioProfile(pr, prof, { maxStates: 200_000 });
        assert.equal(run.error, undefined, `${prof.name}: ${run.error}`);
        for (const c of run.checks) {
          clauses++;
          await t.test(`${name}:${c.line}@${run.kernel}`, () => {
            if (pr.concurrent) assert.equal(run.explored?.complete, true, 'the explorer finished within its bounds');
            {
              const why = run.violations.map((v) => `${v.kind}@${v.line}`).join(',');
              assert.equal(c.status, 'passed', `${c.clause} on ${run.kernel} (values ${JSON.stringify(run.values)}; violations ${why || 'none'})`);
            }
          });
        }
      }
      assert.ok(clauses > 0, 'a scenario whose clauses select none of its kernels checks nothing');
    });
  }
}
