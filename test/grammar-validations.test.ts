// The command line's bundle skips chevrotain's validations of the token patterns and the grammar
// (src/lang/lexer.ts, scripts/build-cli.mjs): they find mistakes in the grammar, so they must run
// where the grammar is developed and tested -- the compiled tree.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skipChevrotainValidations } from '../src/lang/lexer.js';
import { parseScenario } from '../src/lang/parser.js';

test("chevrotain's lexer and grammar validations run in the compiled tree (the tests'); only the bundle skips them", () => {
  assert.equal(skipChevrotainValidations, false);
  // the lexer and the parser are built (and validated) on first use
  assert.equal(parseScenario('scenario v\nA: m = mmap(anon, 1, PROT_READ, MAP_PRIVATE)\n', 'v.pin').name, 'v');
});
