// Front end of the scenario language: lexer, parser, checker, error format.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { PinlabSyntaxError, didYouMean } from '../src/lang/errors.js';
import { pinLexer, SourceText } from '../src/lang/lexer.js';
import type { Par, Scenario, Step } from '../src/lang/ast.js';
import { kernelsOf, matchersOfSet, profileMatches, VERSIONS } from '../src/profiles/profiles.js';

// dist/test/parser.test.js -> repo root is ../../, the shared tree is ../../../shared
const SEEDS = new URL('../../../shared/corpus/seeds/', import.meta.url);
const REPO_CORPUS = new URL('../../corpus/', import.meta.url);
const SPEC = new URL('../../../shared/spec/language.md', import.meta.url);

function pinFiles(dir: URL): { name: string; path: string; text: string }[] {
  const p = fileURLToPath(dir);
  if (!existsSync(p)) return [];
  return readdirSync(p)
    .filter((f) => f.endsWith('.pin'))
    .sort()
    .map((f) => ({ name: f, path: p + f, text: readFileSync(p + f, 'utf8') }));
}

const seeds = pinFiles(SEEDS);
/** Tests of the shared files (seeds, the language spec) skip, with the reason, in a clone with nothing beside it. */
const NEED_SHARED = existsSync(fileURLToPath(SPEC)) && seeds.length > 0 ? {} : { skip: '../shared is not beside this clone' };
const repoCorpus = pinFiles(REPO_CORPUS);

function load(name: string) {
  const f = seeds.find((s) => s.name === name);
  assert.ok(f, `seed ${name} exists`);
  return parseScenario(f.text, f.name);
}

/** Parse and check; return the error (must be a PinlabSyntaxError). */
function errorOf(text: string): PinlabSyntaxError {
  try {
    checkScenario(parseScenario(text, 't.pin'));
  } catch (e) {
    assert.ok(e instanceof PinlabSyntaxError, `expected PinlabSyntaxError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

function assertErr(text: string, line: number, col: number, msg: RegExp | string) {
  const e = errorOf(text);
  const where = `${e.line}:${e.col} ${e.message}`;
  assert.equal(e.line, line, where);
  assert.equal(e.col, col, where);
  if (typeof msg === 'string') assert.equal(e.message, msg);
  else assert.match(e.message, msg);
}

const HEAD = "scenario t\nkernels 5.9\ndevice dev\nfile f on ext4 pages 1 = 'd'\nA: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)\n";
// the line after HEAD is line 6

// ---------------------------------------------------------------------------
// corpus

test('the shared seed corpus exists', NEED_SHARED, () => {
  assert.ok(seeds.length >= 10, `found ${seeds.length} seeds under ${fileURLToPath(SEEDS)}`);
});

for (const f of [...seeds, ...repoCorpus]) {
  test(`corpus file parses and checks: ${f.name}`, () => {
    const s = parseScenario(f.text, f.name);
    const info = checkScenario(s);
    assert.ok(s.name.length > 0);
    assert.ok(info.processes.length >= 1);
    assert.equal(s.lines.length, f.text.split(/\r\n|\r|\n/).length);
  });
  test(`corpus file parses with CRLF line ends: ${f.name}`, () => {
    const crlf = f.text.replace(/\r?\n/g, '\r\n');
    const a = parseScenario(f.text, f.name);
    const b = parseScenario(crlf, f.name);
    checkScenario(b);
    assert.deepEqual(b.body, a.body);
    assert.deepEqual(b.clauses, a.clauses);
    assert.equal(b.source, a.source);
  });
}

test('every full scenario in the language spec parses and checks; the par example parses', NEED_SHARED, () => {
  const md = readFileSync(fileURLToPath(SPEC), 'utf8');
  const blocks = [...md.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const full = blocks.filter((b) => b.startsWith('scenario '));
  assert.ok(full.length >= 1);
  for (const b of full) checkScenario(parseScenario(b, 'spec.md'));
  const par = blocks.find((b) => b.startsWith('par {'));
  assert.ok(par);
  const s = parseScenario("scenario p\nA: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)\n" + par, 'spec.md');
  checkScenario(s);
  const p = s.body[1] as Par;
  assert.equal(p.kind, 'par');
  assert.equal(p.threads.length, 2);
});

// ---------------------------------------------------------------------------
// AST facts

test('002-ro-pin-after-fork: headers, steps, clauses', NEED_SHARED, () => {
  const s = load('002-ro-pin-after-fork.pin');
  assert.equal(s.name, 'ro-pin-after-fork');
  assert.equal(s.source, '002_15f6051095546a05.txt');
  const ks = s.kernels?.kind === 'list' ? s.kernels.items : [];
  assert.deepEqual(
    ks.map((k) => (k.kind === 'profile' ? k.ref.text : k.kind)),
    ['5.8', '5.9', '5.18', '5.19', '6.18'],
  );
  assert.deepEqual(ks[1]!.kind === 'profile' && ks[1]!.ref.pos, { line: 5, col: 13 });
  assert.deepEqual(s.devices.map((d) => d.name), ['dev']);
  assert.equal(s.body.length, 9);
  const steps = s.body as Step[];
  assert.ok(steps.every((b) => b.kind === 'step'));
  assert.deepEqual(steps.map((st) => st.line), [8, 9, 10, 11, 12, 13, 14, 15, 16]);
  assert.deepEqual(steps[0]!.stmt, {
    kind: 'call',
    target: { name: 'x', pos: { line: 8, col: 4 } },
    call: {
      name: 'mmap',
      pos: { line: 8, col: 8 },
      args: [
        { kind: 'name', name: 'anon', pos: { line: 8, col: 13 } },
        { kind: 'int', n: 1, pos: { line: 8, col: 19 } },
        {
          kind: 'flags',
          names: [
            { name: 'PROT_READ', pos: { line: 8, col: 22 } },
            { name: 'PROT_WRITE', pos: { line: 8, col: 32 } },
          ],
          pos: { line: 8, col: 22 },
        },
        { kind: 'name', name: 'MAP_PRIVATE', pos: { line: 8, col: 44 } },
      ],
    },
  });
  assert.deepEqual(steps[1]!.stmt, {
    kind: 'store',
    mapping: { name: 'x', pos: { line: 9, col: 4 } },
    index: 0,
    indexPos: { line: 9, col: 6 },
    value: { kind: 'char', ch: 'a', pos: { line: 9, col: 11 } },
  });
  assert.equal(steps[4]!.stmt.kind, 'call');
  if (steps[4]!.stmt.kind === 'call') assert.deepEqual(steps[4]!.stmt.call.args[2], { kind: 'int', n: 0, pos: { line: 12, col: 29 } });
  assert.deepEqual(steps[7]!.stmt, {
    kind: 'load',
    target: { name: 'r', pos: { line: 15, col: 4 } },
    mapping: { name: 'x', pos: { line: 15, col: 8 } },
    index: 0,
    indexPos: { line: 15, col: 10 },
  });
  assert.equal(steps[6]!.actor.name, 'dev');

  assert.equal(s.clauses.length, 2);
  const [c1, c2] = s.clauses;
  assert.equal(c1!.kind, 'expect');
  assert.equal(c1!.line, 18);
  assert.equal(c1!.text, "expect r == 'c' and clean on <=5.8, >=5.19");
  assert.deepEqual(c1!.pred, {
    kind: 'and',
    left: {
      kind: 'cmp',
      op: '==',
      lhs: { kind: 'var', name: { name: 'r', pos: { line: 18, col: 8 } } },
      rhs: { kind: 'char', ch: 'c', pos: { line: 18, col: 13 } },
      pos: { line: 18, col: 8 },
    },
    right: { kind: 'clean', pos: { line: 18, col: 21 } },
  });
  assert.ok(c1!.versions && c1!.versions.kind === 'list');
  if (c1!.versions?.kind === 'list') {
    assert.deepEqual(
      c1!.versions.items.map((i) => (i.kind === 'bound' ? [i.op, i.ref.text] : i.kind)),
      [
        ['<=', '5.8'],
        ['>=', '5.19'],
      ],
    );
  }
  assert.ok(c2!.versions?.kind === 'list');
  if (c2!.versions?.kind === 'list') {
    const r = c2!.versions.items[0]!;
    assert.equal(r.kind, 'range');
    if (r.kind === 'range') {
      assert.equal(r.lo.version, '5.9');
      assert.equal(r.hi.version, '5.18');
      assert.deepEqual(r.hi.pos, { line: 19, col: 49 });
    }
  }
  const info = checkScenario(s);
  assert.deepEqual(info.processes, ['A', 'B']);
  assert.equal(info.actors.get('dev'), 'device');
  assert.equal(info.actors.get('sys'), 'sys');
  assert.equal(info.results.get('x'), 'mapping');
  assert.equal(info.results.get('p'), 'pin');
  assert.equal(info.results.get('r'), 'value');
  assert.equal(info.results.get('B'), 'proc');
});

test('profile refs with knobs split into version and mods', NEED_SHARED, () => {
  const s = load('001-protected-guest-page-io.pin');
  const refs = (sc: Scenario) => (sc.kernels?.kind === 'list' ? sc.kernels.items.map((i) => (i.kind === 'profile' ? i.ref : null)) : []);
  assert.deepEqual(refs(s)[1], {
    text: '5.7+s390_pv-arch_make_page_accessible_writeback',
    version: '5.7',
    mods: [
      { op: '+', knob: 's390_pv' },
      { op: '-', knob: 'arch_make_page_accessible_writeback' },
    ],
    pos: { line: 5, col: 22 },
  });
  const t = load('004-restricted-memory-migration.pin');
  assert.deepEqual(refs(t)[1]!.mods, [
    { op: '+', knob: 'upm_v10' },
    { op: '+', knob: 'restricted_aops' },
  ]);
  const last = t.clauses[2]!;
  assert.ok(last.versions?.kind === 'list');
  if (last.versions?.kind === 'list') {
    assert.equal(last.versions.items.length, 2);
    assert.equal(last.versions.items[1]!.kind, 'bound');
  }
  assert.equal(last.pred.kind, 'and');
});

test('a source line may start with any code unit but white space, a colon and a comment (the lexer hint names every bucket)', () => {
  const lexer = pinLexer();
  let tried = 0;
  for (let c = 0; c < 0x10000; c++) {
    const ch = String.fromCharCode(c);
    if (/\s/.test(ch) || ch === ':' || ch === '#') continue;
    tried++;
    const r = lexer.tokenize(`source ${ch}z\n`);
    const t = r.tokens.find((x) => x.tokenType === SourceText);
    if (t?.image !== `${ch}z` || r.errors.length)
      assert.fail(`a source line starting with U+${c.toString(16).padStart(4, '0')}: tokens ${r.tokens.map((x) => x.tokenType.name).join(' ')}, ${r.errors.length} error(s)`);
  }
  assert.ok(tried > 65000);
});

test('source text runs to the comment; a free-text source keeps punctuation', NEED_SHARED, () => {
  assert.equal(load('000-longterm-pin-writeback.pin').source, '000_6de9a2c7a16d6046.txt, 003_3d6ad5cf67aefab6.txt');
  assert.equal(
    load('002-vmsplice-child-leak.pin').source,
    'CVE-2020-29374; the reason for the 5.9 do_wp_page() simplification discussed in 002_15f6051095546a05.txt',
  );
});

test('secondary, background with counts, par blocks, disk() and or', NEED_SHARED, () => {
  const s = load('003-mmu-notifier-secondary.pin');
  assert.equal(s.secondaries.length, 1);
  assert.equal(s.secondaries[0]!.name.name, 'kvm');
  assert.equal(s.secondaries[0]!.of.name, 'A');
  assert.deepEqual(
    s.background.map((b) => [b.call.name, b.call.args.length, b.count]),
    [
      ['writeback', 1, 2],
      ['reclaim', 0, 1],
    ],
  );
  assert.equal(s.files[0]!.fs, 'ext4');
  assert.deepEqual(s.files[0]!.fill, { kind: 'char', ch: 'd', pos: { line: 8, col: 26 } });
  const par = s.body[1] as Par;
  assert.equal(par.kind, 'par');
  assert.equal(par.line, 12);
  assert.deepEqual(
    par.threads.map((th) => th.map((st) => `${st.actor.name}@${st.line}`)),
    [['kvm@13', 'kvm@14'], ['A@16']],
  );
  assert.equal(s.clauses[0]!.kind, 'never');
  assert.equal(s.clauses[0]!.pred.kind, 'or');
  assert.deepEqual(s.clauses[0]!.versions, { kind: 'all', pos: { line: 20, col: 66 } });
  const ex = s.clauses[1]!.pred;
  assert.ok(ex.kind === 'cmp' && ex.lhs.kind === 'disk' && ex.lhs.file.name === 'f' && ex.lhs.index === 0);
  const info = checkScenario(s);
  assert.deepEqual(info.processes, ['A']);
  assert.equal(info.actors.get('kvm'), 'secondary');
});

test('precedence: not > and > or; parentheses', () => {
  const s = parseScenario(
    'scenario p\nA: x = mmap(anon, 1, PROT_READ, MAP_PRIVATE)\nA: r = x[0]\nexpect not ok(r) and r == 1 or (clean or skipped(r))\n',
    'p.pin',
  );
  const p = s.clauses[0]!.pred;
  assert.equal(p.kind, 'or');
  if (p.kind !== 'or') return;
  assert.equal(p.left.kind, 'and');
  if (p.left.kind === 'and') assert.equal(p.left.left.kind, 'not');
  assert.equal(p.right.kind, 'or');
  assert.equal(s.clauses[0]!.versions, null);
  checkScenario(s);
});

test("comments, blank lines, '#' in a character literal, par braces on separate lines, hex", () => {
  const s = parseScenario(
    "# leading comment\n\nscenario c   # name\nA: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_SHARED)\n\nA: x[0] = '#'   # a hash\npar {\n  A: x[0] = 0x41\n\n}\n\n{\n  A: r = x[0]\n}\nexpect r == '#' or r == 65",
    'c.pin',
  );
  assert.equal(s.name, 'c');
  const st = s.body[1] as Step;
  assert.ok(st.stmt.kind === 'store' && st.stmt.value.kind === 'char' && st.stmt.value.ch === '#');
  const par = s.body[2] as Par;
  assert.equal(par.threads.length, 2);
  const w = par.threads[0]![0]!;
  assert.ok(w.stmt.kind === 'store' && w.stmt.value.kind === 'int' && w.stmt.value.n === 0x41);
  assert.equal(s.clauses[0]!.text, "expect r == '#' or r == 65");
  checkScenario(s);
});

test('a process name forked in the parent acts later; mappings are shared names', () => {
  const info = checkScenario(
    parseScenario(
      'scenario f\nP: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)\nP: C = fork()\nC: D = fork()\nD: r = x[0]\nC: p = pin_user_pages_remote(D, x, 1, FOLL_WRITE)\n',
      'f.pin',
    ),
  );
  assert.deepEqual(info.processes, ['P', 'C', 'D']);
  assert.equal(info.results.get('p'), 'pin');
});

test('x+N: an address N pages into a mapping, for munmap, mprotect and madvise', () => {
  const sc = parseScenario(HEAD + 'A: madvise(x+1, 1, MADV_DONTFORK)\nA: munmap(x + 0x1, 1)\n', 't.pin');
  checkScenario(sc);
  const args = sc.body.flatMap((s) => (s.kind === 'step' && s.stmt.kind === 'call' ? [s.stmt.call.args[0]] : []));
  assert.deepEqual(
    args.slice(-2).map((a) => (a?.kind === 'name' ? [a.name, a.offset?.n] : null)),
    [
      ['x', 1],
      ['x', 1],
    ],
  );
});

// ---------------------------------------------------------------------------
// errors

test('error: unknown operation with suggestion', () => {
  assertErr(HEAD + 'A: p = pin_user_page(x, 1, 0)\n', 6, 8, "unknown operation 'pin_user_page' for a process; did you mean 'pin_user_pages'?");
});

test('error: x+N where the call takes no range, or on flags', () => {
  assertErr(HEAD + 'A: p = pin_user_pages(x+1, 1, 0)\n', 6, 23, /'x\+1' \(pages into a mapping\) is an address only munmap, mprotect and madvise take/);
  assertErr(HEAD + 'A: r = x[0]\nA: q = vmsplice(x+2, 1)\n', 7, 17, /only munmap, mprotect and madvise/);
  assertErr(HEAD + 'A: madvise(x, 1, MADV_DONTFORK+1)\n', 6, 18, /only munmap, mprotect and madvise/);
});

test('error: operation of another actor kind', () => {
  assertErr(HEAD + 'A: reclaim()\n', 6, 4, /'reclaim' is not an operation for a process; it is done by 'sys:'/);
});

test('error: unknown flag with suggestion, flag of the wrong family', () => {
  assertErr(HEAD + 'A: p = pin_user_pages(x, 1, FOLL_WRITE|FOLL_PINN)\n', 6, 40, "unknown flag 'FOLL_PINN'; did you mean 'FOLL_PIN'?");
  assertErr(HEAD + 'A: p = pin_user_pages(x, 1, PROT_READ)\n', 6, 29, /'PROT_READ' is a PROT_\* flag/);
  assertErr(HEAD + 'A: madvise(x, 1, MADV_DONTFORKK)\n', 6, 18, "unknown flag 'MADV_DONTFORKK'; did you mean 'MADV_DONTFORK'?");
});

test('error: unknown profile and unknown knob, positioned inside the ref', () => {
  assertErr('scenario t\nkernels 5.8, 5.11\n', 2, 14, /^unknown kernel profile '5\.11'; pinlab models 4\.8/);
  assertErr('scenario t\nkernels 5.9+fork_early_cow_pinnd\n', 2, 13, "unknown knob 'fork_early_cow_pinnd'; did you mean 'fork_early_cow_pinned'?");
  assertErr(
    HEAD + "A: r = x[0]\nexpect r == 'a' on 5.8, 6.2+upm_v10-restricted_aopz\n",
    7,
    37,
    "unknown knob 'restricted_aopz'; did you mean 'restricted_aops'?",
  );
  assertErr(HEAD + "A: r = x[0]\nexpect r == 'a' on 5.18..5.9\n", 7, 20, /empty range/);
  // ranges and bounds take any version (they select the profiles pinlab knows inside them), never a variant
  assertErr('scenario t\nkernels >=5.9-fork_early_cow_pinned\n', 2, 11, /a bound takes a version like 5\.11, not the variant/);
  assertErr('scenario t\nkernels >=9.0\n', 2, 9, /selects no profile pinlab models/);
});

test('kernels lines and clause version sets: profiles, ranges, bounds, all', () => {
  const names = (text: string) => {
    const sc = parseScenario(text, 't.pin');
    checkScenario(sc);
    return kernelsOf(sc.kernels).map((p) => p.name);
  };
  assert.deepEqual(names('scenario t\nkernels >=6.6\nA: exit()\n'), ['6.6', '6.8', '6.12', '6.18']);
  assert.deepEqual(names('scenario t\nkernels 5.9..6.1, 6.18-wp_reuse_large_mm_id\nA: exit()\n'), ['5.9', '5.10', '5.15', '5.18', '5.19', '6.1', '6.18-wp_reuse_large_mm_id']);
  assert.deepEqual(names('scenario t\nkernels 5.11..5.14 6.18\nA: exit()\n'), ['6.18']);
  assert.equal(names('scenario t\nkernels all\nA: exit()\n').length, VERSIONS.length);
  assert.deepEqual(names('scenario t\nkernels <5.8 >6.12\nA: exit()\n'), ['4.8', '4.9', '5.7', '6.18']);
  // a bound in a clause selects among the scenario's profiles, and 5.11 need not be a profile
  const sc = parseScenario("scenario t\nkernels 5.9 5.10 6.18\nA: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)\nA: r = x[0]\nexpect r == 0 on >=5.11\n", 't.pin');
  checkScenario(sc);
  const ms = matchersOfSet(sc.clauses[0]!.versions!);
  assert.deepEqual(kernelsOf(sc.kernels).filter((p) => profileMatches(ms, p)).map((p) => p.name), ['6.18']);
});

test('error: unknown actor, actor before its fork', () => {
  assertErr(HEAD + 'C: exit()\n', 6, 1, "unknown actor 'C'; did you mean 'A'?");
  assertErr(HEAD + 'B: exit()\nA: B = fork()\n', 6, 1, "process 'B' is used before 'B = fork()' on line 7 creates it");
  assertErr(HEAD + 'x: exit()\n', 6, 1, "'x' is a mapping, not an actor");
  assertErr('scenario s\nsecondary kvm of A\nP: exit()\n', 3, 1, "unknown actor 'P'; did you mean 'A'?");
});

test('error: missing )', () => {
  assertErr(HEAD + 'A: p = pin_user_pages(x, 1, 0\n', 6, 30, "expected ')' or ',' but found end of line");
  assertErr(HEAD + 'A: p = pin_user_pages(x, 1 x)\n', 6, 28, "expected ')' or ',' but found 'x'");
});

test('error: character literals', () => {
  assertErr(HEAD + "A: x[0] = 'a\n", 6, 11, /^unterminated character literal/);
  assertErr(HEAD + "A: x[0] = 'a    # comment\n", 6, 11, /^unterminated character literal/);
  assertErr(HEAD + "A: x[0] = 'ab'\n", 6, 11, /holds one character/);
  assertErr(HEAD + "A: x[0] = ''\n", 6, 11, /^empty character literal/);
});

test('error: use of unbound or wrongly typed names', () => {
  assertErr(HEAD + 'A: p = pin_user_pages(y, 1, 0)\n', 6, 23, "unknown name 'y' (expected a mapping from mmap()); did you mean 'x'?");
  assertErr(HEAD + 'A: p = pin_user_pages(f, 1, 0)\n', 6, 23, "expected a mapping from mmap() but 'f' is a file");
  assertErr(HEAD + 'dev: dma_write(q, 0, 1)\n', 6, 16, /^unknown name 'q' \(expected a pin handle\)/);
  assertErr(HEAD + 'A: p = pin_user_pages(z, 1, 0)\nA: z = mmap(anon, 1, PROT_READ, MAP_PRIVATE)\n', 6, 23, /bound only later, on line 7/);
  assertErr(HEAD + "A: r = x[0]\nexpect rr == 'a'\n", 7, 8, "unknown result 'rr'; did you mean 'r'?");
  assertErr(HEAD + 'A: r = x[0]\nexpect r == EFAUL\n', 7, 13, "unknown value 'EFAUL'; did you mean 'EFAULT'?");
  assertErr(HEAD + "A: r = x[0]\nexpect disk(g, 0) == 'a'\n", 7, 13, /^unknown name 'g' \(expected a file\)/);
});

test('error: unknown violation', () => {
  assertErr(HEAD + 'expect violation(DMA_LOSTT)\n', 6, 18, "unknown violation 'DMA_LOSTT'; did you mean 'DMA_LOST'?");
});

test('error: arity, memory access by a device, background, file system, headers', () => {
  assertErr(HEAD + 'A: munmap(x)\n', 6, 4, "'munmap' takes 2 arguments: munmap(x, pages); found 1");
  assertErr(HEAD + 'A: munmap(x, 1, 2)\n', 6, 17, /takes 2 arguments/);
  assertErr(HEAD + "dev: x[0] = 'a'\n", 6, 1, /only a process accesses memory/);
  assertErr(HEAD + 'background writebak(f)\n', 6, 12, /'writebak' is not one; did you mean 'writeback'\?/);
  assertErr("scenario t\nfile g on ext5 pages 1 = 'g'\n", 2, 11, /unknown file system 'ext5'; did you mean 'ext4'\?/);
  assertErr('kernels 5.9\nscenario t\n', 1, 1, /starts with 'scenario NAME'/);
  assertErr('', 1, 1, /empty scenario/);
  assertErr(HEAD + 'kernel 5.9\n', 6, 1, "unknown statement 'kernel'; did you mean 'kernels'?");
  assertErr(HEAD + "expect r = 'c'\n", 6, 10, "expected '==' or '!=' but found '='");
  assertErr(HEAD + 'par {\n  A: exit()\n}\n', 6, 1, /'par' needs two or more/);
  assertErr(HEAD + 'par {\n  A: exit()\n', 7, 12, "expected a step 'ACTOR: ...' or '}' but found end of file");
  assertErr(HEAD + ': x\n', 6, 1, /^expected a statement .* but found ':'$/);
  assertErr(HEAD + 'A: $x = 1\n', 6, 4, "unexpected character '$'");
});

test('the first error wins: a lexical error after a syntax error is not reported first', () => {
  assertErr(HEAD + "A: munmap(x 1)\nA: x[0] = 'ab'\n", 6, 13, /expected/);
  assertErr(HEAD + "A: x[0] = 'ab'\nA: munmap(x 1)\n", 6, 11, /one character/);
});

test('format(): FILE:LINE:COL, the line, a caret; no stack', () => {
  const text = HEAD + 'A: p = pin_user_pages(x, 1 x)\n';
  const e = errorOf(text);
  assert.deepEqual(e.expected, ["')'", "','"]);
  assert.equal(
    e.format(text.split('\n')),
    "t.pin:6:28: error: expected ')' or ',' but found 'x'\n  A: p = pin_user_pages(x, 1 x)\n                             ^",
  );
  const tab = new PinlabSyntaxError('a.pin', 1, 3, 'boom');
  assert.equal(tab.format(['\tx y']), 'a.pin:1:3: error: boom\n  \tx y\n  \t ^');
  assert.equal(new PinlabSyntaxError('a.pin', 9, 1, 'gone').format(['x']), 'a.pin:9:1: error: gone');
});

test('didYouMean', () => {
  assert.equal(didYouMean('pin_user_page', ['pin_user_pages', 'get_user_pages']), 'pin_user_pages');
  assert.equal(didYouMean('foll_write', ['FOLL_WRITE', 'FOLL_PIN']), 'FOLL_WRITE');
  assert.equal(didYouMean('completely_different', ['FOLL_WRITE', 'FOLL_PIN']), undefined);
  assert.equal(didYouMean('x', []), undefined);
});

// ---------------------------------------------------------------------------
// properties: never anything but a positioned PinlabSyntaxError

function parseAndCheckSafely(text: string): void {
  const lines = text.split(/\r\n|\r|\n/);
  try {
    checkScenario(parseScenario(text, 'fuzz.pin'));
  } catch (e) {
    if (!(e instanceof PinlabSyntaxError)) {
      throw new Error(`non-syntax error on input ${JSON.stringify(text)}: ${e instanceof Error ? e.stack : String(e)}`);
    }
    const where = `${e.line}:${e.col} ${e.message} in ${JSON.stringify(text)}`;
    assert.ok(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines.length, where);
    assert.ok(Number.isInteger(e.col) && e.col >= 1 && e.col <= lines[e.line - 1]!.length + 1, where);
    assert.ok(e.message.length > 0);
    const f = e.format(lines);
    assert.ok(f.startsWith(`fuzz.pin:${e.line}:${e.col}: error: `), f);
    assert.equal(f.split('\n').length, 3, f);
  }
}

const PIECES = [
  'scenario x', 'A:', 'B:', 'sys:', 'dev:', '=', '==', '!=', '(', ')', '[0]', ',', '|', "'a'", '#', '..', '5.9', '<=5.8',
  'fork()', 'mmap', 'x', 'expect', 'not', 'and', 'or', 'on', 'all', 'par {', '} {', '}', '\n', ' ', 'FOLL_PIN', 'clean', "'",
];

test('property: random printable text never crashes the front end', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 8 }), (ls) => parseAndCheckSafely(ls.join('\n'))),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...PIECES), { maxLength: 30 }), (ps) => parseAndCheckSafely(ps.join(' '))),
    { numRuns: 300 },
  );
});

type Mutation = { op: 'del' | 'dup' | 'rep'; at: number; ch: string };

test('property: mutated corpus files parse or fail with a positioned error', () => {
  const corpus = [...seeds, ...repoCorpus].map((f) => f.text);
  const alphabet = "abcxyzAB_019 .,:=|()[]{}'#\n\r+-<>!";
  const charMut = fc.record({
    op: fc.constantFrom<Mutation['op']>('del', 'dup', 'rep'),
    at: fc.nat(),
    ch: fc.constantFrom(...alphabet.split('')),
  });
  fc.assert(
    fc.property(fc.nat(), fc.array(charMut, { minLength: 1, maxLength: 4 }), (which, muts) => {
      let t = corpus[which % corpus.length]!;
      for (const m of muts) {
        const i = m.at % (t.length + 1);
        if (m.op === 'del') t = t.slice(0, i) + t.slice(i + 1);
        else if (m.op === 'dup') t = t.slice(0, i) + t.slice(i, i + 1) + t.slice(i);
        else t = t.slice(0, i) + m.ch + t.slice(i + 1);
      }
      parseAndCheckSafely(t);
    }),
    { numRuns: 300 },
  );
  // token-level: delete, duplicate or replace whole words and punctuation
  const tokenize = (s: string) => s.split(/(\s+|[()[\],:|={}]|==|!=)/).filter((x) => x !== '');
  const pool = [...new Set(corpus.flatMap(tokenize))];
  const tokMut = fc.record({ op: fc.constantFrom<Mutation['op']>('del', 'dup', 'rep'), at: fc.nat(), with: fc.nat() });
  fc.assert(
    fc.property(fc.nat(), fc.array(tokMut, { minLength: 1, maxLength: 3 }), (which, muts) => {
      const toks = tokenize(corpus[which % corpus.length]!);
      for (const m of muts) {
        const i = m.at % toks.length;
        if (m.op === 'del') toks.splice(i, 1);
        else if (m.op === 'dup') toks.splice(i, 0, toks[i]!);
        else toks[i] = pool[m.with % pool.length]!;
      }
      parseAndCheckSafely(toks.join(''));
    }),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------------------
// input limits (docs/limits.md): each one is a positioned error that names it

test('limits: every limit is a positioned error naming it; the largest accepted value passes', async () => {
  const { LIMITS } = await import('../src/lang/ops.js');
  const M = 'A: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)\n'; // line 2 after 'scenario t'
  const ok = (text: string) => assert.doesNotThrow(() => checkScenario(parseScenario(text, 't.pin')), text.slice(0, 200));
  // numbers
  ok(`scenario t\n${M}A: x[0] = ${LIMITS.number}\n`);
  assertErr(`scenario t\n${M}A: x[0] = ${LIMITS.number + 1}\n`, 3, 11, /the number 268435456 is too large: numbers go up to 268435455/);
  assertErr(`scenario t\n${M}A: r = x[0]\nexpect r == 0x10000000\n`, 4, 13, /too large/);
  // pages in one call, in a file; indices and x+N offsets
  ok(`scenario t\nA: x = mmap(anon, ${LIMITS.pages}, PROT_READ|PROT_WRITE, MAP_PRIVATE)\nA: x[${LIMITS.pages - 1}] = 'a'\nA: munmap(x+${LIMITS.pages - 1}, 1)\n`);
  assertErr(`scenario t\nA: x = mmap(anon, ${LIMITS.pages + 1}, PROT_READ, MAP_PRIVATE)\n`, 2, 19, /mmap of 1025 pages; the limit is 1024 pages in one call/);
  assertErr(`scenario t\n${M}A: p = pin_user_pages(x, 5000, FOLL_WRITE)\n`, 3, 26, /pin_user_pages of 5000 pages; the limit is 1024/);
  assertErr(`scenario t\nfile f on ext4 pages ${LIMITS.pages + 1} = 'a'\n`, 2, 22, /a file of 1025 pages; the limit is 1024 pages/);
  assertErr(`scenario t\n${M}A: x[${LIMITS.pages}] = 'a'\n`, 3, 6, /page index 1024 is out of range: it must be below 1024/);
  assertErr(`scenario t\n${M}A: r = x[4096]\n`, 3, 10, /page index 4096 is out of range/);
  assertErr(`scenario t\n${M}A: munmap(x+${LIMITS.pages}, 1)\n`, 3, 13, /offset 1024 is out of range/);
  assertErr(`scenario t\nfile f on ext4 pages 1 = 'a'\nA: write(f, 2000, 'b')\n`, 3, 13, /page index 2000 is out of range/);
  assertErr(`scenario t\nfile f on ext4 pages 1 = 'a'\nexpect disk(f, 1024) == 'a'\n`, 3, 16, /page index 1024 is out of range/);
  // the address space
  const maps = (n: number) => Array.from({ length: n }, (_, i) => `A: x${i} = mmap(anon, 1024, PROT_READ, MAP_PRIVATE)`).join('\n');
  ok(`scenario t\n${maps(4)}\n`);
  assertErr(`scenario t\n${maps(4)}\nA: y = mmap(anon, 1, PROT_READ, MAP_PRIVATE)\n`, 6, 19, /maps 4097 pages; the limit is 4096/);
  // steps, processes, threads, background events and counts
  ok(`scenario t\n${M}${'A: x[0] = 1\n'.repeat(LIMITS.steps - 1)}`);
  assertErr(`scenario t\n${M}${'A: x[0] = 1\n'.repeat(LIMITS.steps)}`, 2 + LIMITS.steps, 1, /more than 256 steps; that is the limit/);
  const forks = (n: number) => Array.from({ length: n }, (_, i) => `A: C${i} = fork()`).join('\n');
  ok(`scenario t\n${M}${forks(LIMITS.processes - 1)}\n`);
  assertErr(`scenario t\n${M}${forks(LIMITS.processes)}\n`, 2 + LIMITS.processes, 4, /process number 17: the limit is 16 processes/);
  const par = (n: number) => `par ${Array.from({ length: n }, () => '{\nA: x[0] = 1\n}').join(' ')}\n`;
  ok(`scenario t\n${M}${par(LIMITS.threads)}`);
  assertErr(`scenario t\n${M}${par(LIMITS.threads + 1)}`, 3, 1, /this 'par' has 9 threads; the limit is 8/);
  ok(`scenario t\nbackground reclaim() x${LIMITS.backgroundTimes}\n${M}`);
  assertErr(`scenario t\nbackground reclaim() x${LIMITS.backgroundTimes + 1}\n${M}`, 2, 22, /fires 1 to 16 times \(x1 \.\. x16\), not x17/);
  assertErr(`scenario t\nbackground reclaim() x99999999999999999999\n${M}`, 2, 22, /not x9999/);
  assertErr(`scenario t\nbackground ${Array.from({ length: LIMITS.background + 1 }, () => 'compact()').join(', ')}\n${M}`, 2, 100, /more than 8 background events/);
  // devices, secondaries, files
  assertErr(`scenario t\n${Array.from({ length: LIMITS.devices + 1 }, (_, i) => `device d${i}`).join('\n')}\n${M}`, 2 + LIMITS.devices, 8, /more than 16 devices/);
  assertErr(`scenario t\n${M}${Array.from({ length: LIMITS.secondaries + 1 }, (_, i) => `secondary s${i} of A`).join('\n')}\n`, 3 + LIMITS.secondaries, 11, /more than 4 secondary MMUs/);
  assertErr(`scenario t\n${Array.from({ length: LIMITS.files + 1 }, (_, i) => `file f${i} on tmpfs pages 1 = 'a'`).join('\n')}\n`, 2 + LIMITS.files, 6, /more than 16 files/);
  assertErr(`scenario t\n${Array.from({ length: LIMITS.files }, (_, i) => `file f${i} on tmpfs pages 1 = 'a'`).join('\n')}\nA: g = memfd_create(1)\n`, 2 + LIMITS.files, 8, /file number 17; the limit is 16 files/);
  // nesting, operators per clause, tokens per line, file size
  const R = `scenario t\n${M}A: r = x[0]\n`;
  ok(`${R}expect ${'('.repeat(LIMITS.nesting)}r == 'a'${')'.repeat(LIMITS.nesting)}\n`);
  assertErr(`${R}expect ${'('.repeat(LIMITS.nesting + 1)}r == 'a'${')'.repeat(LIMITS.nesting + 1)}\n`, 4, 8 + LIMITS.nesting, /parentheses nested more than 32 deep/);
  assertErr(`${R}expect ${'not '.repeat(10000)}clean\n`, 4, 8 + 4 * LIMITS.clauseOperators, /more than 64 'and', 'or' and 'not' operators/);
  ok(`${R}expect ${Array.from({ length: LIMITS.clauseOperators + 1 }, () => "r == 'a'").join(' and ')}\n`);
  assertErr(`${R}expect ${Array.from({ length: LIMITS.clauseOperators + 2 }, () => "r == 'a'").join(' and ')}\n`, 4, 8 + 13 * LIMITS.clauseOperators + 9, /operators/);
  assertErr(`scenario t\nkernels ${'5.9 '.repeat(LIMITS.lineTokens)}\n`, 2, 9 + 4 * (LIMITS.lineTokens - 1), /more than 1024 tokens/);
  assertErr(`scenario t\n${'#'.repeat(LIMITS.fileChars)}\n`, 2, LIMITS.fileChars - 10, /longer than 262144 characters/);
  // the model's size: each limit alone fits, their product does not
  const huge = `scenario t\nA: x = mmap(anon, 1024, PROT_READ|PROT_WRITE, MAP_PRIVATE)\n${Array.from({ length: 200 }, (_, i) => `A: p${i} = pin_user_pages(x, 1024, FOLL_WRITE)`).join('\n')}\n`;
  const e = errorOf(huge);
  assert.match(e.message, /the model of this scenario would need \d+ MiB of state from this step on; the limit is 32 MiB/);
  assert.ok(e.line > 2 && huge.split('\n')[e.line - 1]!.slice(e.col - 1).startsWith('pin_user_pages('), `${e.line}:${e.col}`);
});

test('limits: the lexer is linear on long lines (no rescans of the line per token)', () => {
  const t0 = performance.now();
  errorOf(`scenario t\n${')x1'.repeat(80000)}\n`);
  errorOf(`scenario t\nbackground reclaim()${' x1'.repeat(60000)}\n`);
  assert.ok(performance.now() - t0 < 3000, `${(performance.now() - t0).toFixed(0)} ms`);
});
