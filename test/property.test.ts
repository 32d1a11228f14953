// Property tests: random operation sequences on random profiles must never
// reach a state the kernel forbids. fast-check shrinks any counterexample to
// a minimal sequence. The invariants read only model state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mk, run, c, DIMS } from './helpers.js';
import { FOLL_FORCE, FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, GUP_PIN_COUNTING_BIAS } from '../src/model/folio.js';
import { MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../src/model/mmap.js';
import { VERSIONS } from '../src/profiles/profiles.js';
import type { Kernel } from '../src/model/kernel.js';
import type { ModelOp } from '../src/model/api.js';
import {
  E_FOLIO, E_PTE, F_MAPCOUNT, F_MAPPING, F_INDEX, F_PINS, F_REF, F_PINCOUNT, H_NEXT_FOLIO, H_NEXT_PIN, H_NEXT_VA,
  K_NPAGES, K_STATE, PG_ALIVE, PG_ANON, PG_ANON_EXCLUSIVE, PG_FREED, PG_LARGE, PG_SWAPCACHE, PIN_ACTIVE, PTE_PRESENT, PTE_WRITE,
  VM_WRITE, P_ALIVE, PG_ZONE_MOVABLE, PG_CMA, K_FOLL, PTE_PMD, HPAGE_PMD_NR, F_COMPOUND, PG_ZERO, PG_HUGETLB,
} from '../src/model/state.js';

/** Every invariant the kernel maintains that the model must too. Returns a list of broken ones. */
export function kernelInvariants(k: Kernel): string[] {
  const bad: string[] = [];
  const n = k.s[H_NEXT_FOLIO]!;
  const bias = k.on('pin_counting_bias') ? GUP_PIN_COUNTING_BIAS : 1;
  const ptesTo = new Map<number, number>(); // mappings per folio (head): a PMD counts once
  const pageMaps = new Map<number, number>(); // page-table entries per page
  for (let p = 0; p < DIMS.procs; p++) {
    for (let va = 0; va < DIMS.vpages; va++) {
      const o = k.L.pte(p, va);
      const bits = k.s[o + E_PTE]!;
      if (!(bits & PTE_PRESENT)) continue;
      if (k.s[k.L.proc(p) + P_ALIVE] !== 1) bad.push(`dead process ${p} has a present PTE`);
      const f = k.s[o + E_FOLIO]! - 1;
      const h = k.head(f);
      const pmd = (bits & PTE_PMD) !== 0;
      if (pmd) {
        const base = va - (va % HPAGE_PMD_NR);
        for (let i = 0; i < HPAGE_PMD_NR; i++) {
          const ob = k.L.pte(p, base + i);
          if (k.s[ob + E_PTE] !== bits || k.s[ob + E_FOLIO] !== h + i + 1) bad.push(`PMD at ${p}:${base} is not uniform`);
        }
        if (f !== h + (va - base)) bad.push(`PMD at ${p}:${base} maps page #${f} at the wrong offset`);
      }
      if (!pmd || va % HPAGE_PMD_NR === 0) ptesTo.set(h, (ptesTo.get(h) ?? 0) + 1);
      pageMaps.set(f, (pageMaps.get(f) ?? 0) + 1);
      if (f !== 0 && !k.ftest(f, PG_ALIVE)) bad.push(`PTE ${p}:${va} maps freed folio #${f}`);
      if (bits & PTE_WRITE && !(k.vmFlags(p, va) & VM_WRITE)) bad.push(`PTE ${p}:${va} writable in a !VM_WRITE vma`);
      if (bits & PTE_WRITE && f !== 0 && k.ftest(f, PG_ANON) && k.ftest(f, PG_LARGE) && !k.ftest(f, PG_HUGETLB) && pmd && k.fget(f, F_MAPCOUNT) !== 1)
        bad.push(`THP #${h} writable by a PMD at ${p}:${va} while mapped ${k.fget(f, F_MAPCOUNT)} times (COW broken)`);
      if (bits & PTE_WRITE && f !== 0 && k.ftest(f, PG_ANON) && !(k.ftest(f, PG_LARGE) && !k.ftest(f, PG_HUGETLB)) && k.fget(f, F_MAPCOUNT) !== 1)
        bad.push(`anon folio #${f} writable through ${p}:${va} while mapped ${k.fget(f, F_MAPCOUNT)} times (COW broken)`);
      if ((f === 0 || k.ftest(f, PG_ZERO)) && bits & PTE_WRITE) bad.push('a zero page is mapped writable');
    }
  }
  // a writable PTE of a THP page: no other entry maps that page
  for (let p = 0; p < DIMS.procs; p++)
    for (let va = 0; va < DIMS.vpages; va++) {
      const o = k.L.pte(p, va);
      const bits = k.s[o + E_PTE]!;
      const f = k.s[o + E_FOLIO]! - 1;
      if (bits & PTE_PRESENT && bits & PTE_WRITE && f > 0 && k.ftest(f, PG_ANON) && k.ftest(f, PG_LARGE) && !k.ftest(f, PG_HUGETLB) && pageMaps.get(f) !== 1)
        bad.push(`THP page #${f} writable through ${p}:${va} while ${pageMaps.get(f)} entries map it (COW broken)`);
    }
  for (let f = 1; f < n; f++) {
    if (k.s[k.L.folio(f) + F_COMPOUND]! < 0) continue; // a tail page: its folio is checked at the head
    if (k.ftest(f, PG_ZERO)) continue; // the huge zero page: the kernel's, never counted
    const ref = k.fget(f, F_REF);
    const map = k.fget(f, F_MAPCOUNT);
    const pins = k.fget(f, F_PINS);
    if (ref < 0 || map < 0 || pins < 0) bad.push(`folio #${f} has a negative count`);
    if ((ptesTo.get(f) ?? 0) !== map) bad.push(`folio #${f} mapcount ${map} but ${ptesTo.get(f) ?? 0} PTEs map it`);
    if (k.ftest(f, PG_FREED)) {
      if (ref !== 0 || map !== 0) bad.push(`freed folio #${f} still counted`);
      continue;
    }
    const large = k.ftest(f, PG_LARGE);
    const cache = k.fget(f, F_MAPPING) > 0 ? 1 : 0;
    const swap = k.ftest(f, PG_SWAPCACHE) ? 1 : 0;
    const min = map + cache + swap + pins * (large ? 1 : bias);
    if (ref < min) bad.push(`folio #${f} refcount ${ref} < mapcount ${map} + cache ${cache} + swapcache ${swap} + pins ${pins}`);
    if (large && k.on('pin_counting_bias') && k.fget(f, F_PINCOUNT) !== pins) bad.push(`large folio #${f} _pincount is not exact`);
    if (ref === 0) bad.push(`folio #${f} alive with no reference`);
    if (k.on('page_anon_exclusive') && k.ftest(f, PG_ANON) && !large && pins > 0 && !k.ftest(f, PG_ANON_EXCLUSIVE))
      bad.push(`pinned anon folio #${f} is not PageAnonExclusive (the kernel's VM_BUG_ON)`);
    const m = k.fget(f, F_MAPPING);
    if (m > 0 && k.cachedFolio(m - 1, k.fget(f, F_INDEX)) !== f) bad.push(`folio #${f} claims a cache slot it does not own`);
  }
  for (let h = 0; h < k.s[H_NEXT_PIN]!; h++) {
    if (k.s[k.L.pin(h) + K_STATE] !== PIN_ACTIVE) continue;
    const longterm = (k.s[k.L.pin(h) + K_FOLL]! & FOLL_LONGTERM) !== 0;
    for (let i = 0; longterm && k.on('longterm_migrate_movable') && k.on('longterm_migrate_cma') && i < k.s[k.L.pin(h) + K_NPAGES]!; i++) {
      const f = k.s[k.L.pinPage(h, i)]! - 1;
      if (f > 0 && (k.ftest(f, PG_ZONE_MOVABLE) || k.ftest(f, PG_CMA))) bad.push(`long-term pin ${h} holds folio #${f} in a movable zone`);
    }
    for (let i = 0; i < k.s[k.L.pin(h) + K_NPAGES]!; i++) {
      const f = k.s[k.L.pinPage(h, i)]! - 1;
      if (f > 0 && !k.ftest(f, PG_ALIVE)) bad.push(`handle ${h} holds freed folio #${f}`);
      // a FOLL_PIN of an anon page of a THP: that page stays PageAnonExclusive
      if (f > 0 && k.on('page_anon_exclusive') && k.s[k.L.pin(h) + K_FOLL]! & FOLL_PIN && k.ftest(f, PG_ANON) && k.ftest(f, PG_LARGE) && !k.ftest(f, PG_HUGETLB) && !k.ftest(f, PG_ANON_EXCLUSIVE))
        bad.push(`pinned page #${f} of THP #${k.head(f)} is not PageAnonExclusive`);
    }
  }
  return bad;
}

const FOLLS = [0, FOLL_WRITE, FOLL_WRITE | FOLL_FORCE, FOLL_LONGTERM, FOLL_WRITE | FOLL_LONGTERM, FOLL_FORCE];
const ADVICE = ['MADV_DONTNEED', 'MADV_DONTFORK', 'MADV_DOFORK', 'MADV_PAGEOUT', 'MADV_MERGEABLE', 'MADV_HUGEPAGE', 'MADV_COLLAPSE'];

/** A random step, in terms of small indices resolved against the state when it runs. */
const stepArb = fc.oneof(
  fc.record({ t: fc.constant('mmap' as const), file: fc.integer({ min: -1, max: 2 }), shared: fc.boolean(), ro: fc.boolean() }),
  fc.record({ t: fc.constant('store' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1), v: fc.constantFrom('a', 'b', 'c') }),
  fc.record({ t: fc.constant('load' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1) }),
  fc.record({ t: fc.constant('fork' as const), p: fc.nat(1) }),
  fc.record({ t: fc.constant('exit' as const), p: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ t: fc.constant('gup' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1), foll: fc.constantFrom(...FOLLS), pin: fc.boolean(), fast: fc.boolean() }),
  fc.record({ t: fc.constant('unpin' as const), h: fc.nat(10), dirty: fc.boolean() }),
  fc.record({ t: fc.constant('dma' as const), h: fc.nat(10), v: fc.constantFrom('x', 'y') }),
  fc.record({ t: fc.constant('madvise' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1), adv: fc.constantFrom(...ADVICE), n: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ t: fc.constant('munmap' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1), n: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ t: fc.constant('gup2' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 2), foll: fc.constantFrom(...FOLLS), fast: fc.boolean() }),
  fc.record({ t: fc.constant('mremap' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1) }),
  fc.record({ t: fc.constant('ksm' as const) }),
  fc.record({ t: fc.constant('hwpoison' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1) }),
  fc.record({ t: fc.constant('mprotect' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1), w: fc.boolean() }),
  fc.record({ t: fc.constant('sys' as const), what: fc.constantFrom('writeback', 'reclaim', 'drop_caches', 'compact') }),
  fc.record({ t: fc.constant('migrate' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1) }),
  fc.record({ t: fc.constant('procmem' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1) }),
  fc.record({ t: fc.constant('vmsplice' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1) }),
  fc.record({ t: fc.constant('odirect' as const), p: fc.nat(2), va: fc.nat(DIMS.vpages - 1), read: fc.boolean() }),
  fc.record({ t: fc.constant('smmu' as const), va: fc.nat(DIMS.vpages - 1), write: fc.boolean() }),
);
type StepT = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

function toOp(k: Kernel, s: StepT, used: Set<number>): ModelOp | null {
  const alive = (p: number) => k.procAlive(p);
  switch (s.t) {
    case 'mmap':
      if (k.s[H_NEXT_VA]! + 2 > DIMS.vpages || k.s[5]! >= DIMS.files) return null; // VA and file slots (H_NEXT_FILE)
      return { op: 'mmap', p: 0, file: s.file, pages: 2, prot: PROT_READ | (s.ro ? 0 : PROT_WRITE), flags: s.shared ? MAP_SHARED : MAP_PRIVATE };
    case 'store':
      return alive(s.p) ? { op: 'store', p: s.p, va: s.va, value: c(s.v) } : null;
    case 'load':
      return alive(s.p) ? { op: 'load', p: s.p, va: s.va } : null;
    case 'fork': {
      const child = [1, 2].find((q) => !used.has(q));
      if (child === undefined || !alive(s.p)) return null;
      used.add(child);
      return { op: 'fork', p: s.p, child };
    }
    case 'exit':
      return alive(s.p) ? { op: 'exit', p: s.p } : null;
    case 'gup': {
      if (!alive(s.p)) return null;
      if (s.pin && !k.on('foll_pin')) return null;
      return { op: 'gup', p: s.p, va: s.va, n: 1, foll: s.foll | (s.pin ? FOLL_PIN : FOLL_GET), fast: s.fast };
    }
    case 'unpin':
      if (s.h >= k.s[H_NEXT_PIN]! || k.s[k.L.pin(s.h) + K_STATE] !== PIN_ACTIVE || k.s[k.L.pin(s.h)] !== 1) return null;
      return { op: 'unpin', h: s.h, dirty: s.dirty, put: false };
    case 'dma':
      if (s.h >= k.s[H_NEXT_PIN]! || k.s[k.L.pin(s.h) + K_STATE] !== PIN_ACTIVE || k.s[k.L.pin(s.h)] !== 1) return null;
      return { op: 'dma_write', h: s.h, i: 0, value: c(s.v) };
    case 'madvise':
      return alive(s.p) && s.va + s.n <= DIMS.vpages ? { op: 'madvise', p: s.p, va: s.va, pages: s.n, advice: s.adv } : null;
    case 'munmap':
      return alive(s.p) && s.va + s.n <= DIMS.vpages ? { op: 'munmap', p: s.p, va: s.va, pages: s.n } : null;
    case 'gup2':
      return alive(s.p) && k.on('foll_pin') ? { op: 'gup', p: s.p, va: s.va, n: 2, foll: s.foll | FOLL_PIN, fast: s.fast } : null;
    case 'mremap':
      return alive(s.p) && k.s[H_NEXT_VA]! + 1 <= DIMS.vpages ? { op: 'mremap', p: s.p, va: s.va, pages: 1 } : null;
    case 'ksm':
      return { op: 'ksm_scan' };
    case 'hwpoison':
      return alive(s.p) ? { op: 'memory_failure', p: s.p, va: s.va, file: -1, idx: 0 } : null;
    case 'mprotect':
      return alive(s.p) ? { op: 'mprotect', p: s.p, va: s.va, pages: 1, prot: PROT_READ | (s.w ? PROT_WRITE : 0) } : null;
    case 'sys':
      return s.what === 'writeback' ? { op: 'writeback', file: 0 } : ({ op: s.what } as ModelOp);
    case 'migrate':
      return alive(s.p) ? { op: 'migrate_va', p: s.p, va: s.va } : null;
    case 'procmem':
      return alive(s.p) ? { op: 'proc_mem_write', p: s.p, va: s.va, value: c('m') } : null;
    case 'vmsplice':
      return alive(s.p) ? { op: 'vmsplice', p: s.p, va: s.va, n: 1 } : null;
    case 'odirect':
      return alive(s.p) ? { op: s.read ? 'odirect_read' : 'odirect_write', p: s.p, file: 0, idx: 0, va: s.va } : null;
    case 'smmu':
      return s.write ? { op: 'smmu_write', s: 0, va: s.va, value: c('k') } : { op: 'smmu_read', s: 0, va: s.va };
  }
}

test('random operation sequences never reach a state the kernel forbids, on any profile', () => {
  fc.assert(
    fc.property(fc.constantFrom(...VERSIONS), fc.constantFrom(0, PG_ZONE_MOVABLE, PG_CMA), fc.array(stepArb, { minLength: 1, maxLength: 40 }), (profile, zone, steps) => {
      const k = mk(profile);
      k.allocZone = zone;
      const used = new Set<number>();
      steps.forEach((s, i) => {
        const op = toOp(k, s, used);
        if (!op) return;
        run(k, op); // a ModelInvariantError thrown in here fails the property
        const bad = kernelInvariants(k);
        assert.deepEqual(bad, [], `after step ${i} ${JSON.stringify(op)} on ${profile}`);
      });
    }),
    { numRuns: Number(process.env.PINLAB_PROP_RUNS ?? 400), seed: Number(process.env.PINLAB_PROP_SEED ?? 0x9e3779b9) },
  );
});

test('the invariant checker itself catches a broken state', () => {
  const k = mk('6.18');
  run(k, { op: 'mmap', p: 0, file: -1, pages: 1, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE });
  run(k, { op: 'store', p: 0, va: 0, value: c('a') });
  assert.deepEqual(kernelInvariants(k), []);
  const f = k.pteFolio(0, 0);
  k.fset(f, F_REF, 0); // corrupt: mapped but unreferenced
  assert.ok(kernelInvariants(k).length > 0);
});

test('same operations, same state: the model is deterministic', () => {
  fc.assert(
    fc.property(fc.constantFrom(...VERSIONS), fc.array(stepArb, { maxLength: 25 }), (profile, steps) => {
      const a = mk(profile);
      const b = mk(profile);
      const ua = new Set<number>();
      const ub = new Set<number>();
      for (const s of steps) {
        const oa = toOp(a, s, ua);
        const ob = toOp(b, s, ub);
        if (oa) run(a, oa);
        if (ob) run(b, ob);
      }
      assert.deepEqual(a.s, b.s);
    }),
    { numRuns: 100, seed: 7 },
  );
});

// ---------------------------------------------------------------------------
// input limits (docs/limits.md): parser and checker never crash, overflow or
// hang, and a scenario they accept never outgrows the model's tables

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { PinlabSyntaxError } from '../src/lang/errors.js';
import { LIMITS } from '../src/lang/ops.js';
import { Prepared } from '../src/interp/interpreter.js';
import { runScenarioProfile } from '../src/interp/runner.js';
import { makeProfile } from '../src/profiles/profiles.js';

const CORPUS_DIR = fileURLToPath(new URL('../../corpus/', import.meta.url));
function corpusTexts(dir = CORPUS_DIR, out: string[] = []): string[] {
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) corpusTexts(p, out);
    else if (n.endsWith('.pin')) out.push(readFileSync(p, 'utf8'));
  }
  return out;
}
const CORPUS = corpusTexts();

/** Parse and check: either it is accepted, or a PinlabSyntaxError points inside the text; nothing else, and quickly. */
function frontEnd(text: string, budgetMs = 3000): { ok: true; sc: ReturnType<typeof parseScenario>; info: ReturnType<typeof checkScenario> } | { ok: false; e: PinlabSyntaxError } {
  const t0 = performance.now();
  const lines = text.split(/\r\n|\r|\n/);
  let res: ReturnType<typeof frontEnd>;
  try {
    const sc = parseScenario(text, 'p.pin');
    res = { ok: true, sc, info: checkScenario(sc) };
  } catch (e) {
    if (!(e instanceof PinlabSyntaxError)) throw new Error(`not a positioned error (${(e as Error)?.constructor?.name}): ${(e as Error)?.message} on ${JSON.stringify(text.slice(0, 300))}`);
    const where = `${e.line}:${e.col} ${e.message}`;
    assert.ok(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines.length, where);
    assert.ok(Number.isInteger(e.col) && e.col >= 1 && e.col <= lines[e.line - 1]!.length + 1, where);
    res = { ok: false, e };
  }
  const ms = performance.now() - t0;
  assert.ok(ms < budgetMs, `parse+check took ${ms.toFixed(0)} ms on ${JSON.stringify(text.slice(0, 200))}...`);
  return res;
}

const BIG = ['4294967296', '2147483648', '268435456', '99999999999999999999999', '0x7fffffff', '0x' + 'f'.repeat(300), '9'.repeat(400), '1024', '1025', '4096'];

test('limits: random text, mutated corpus, huge numbers and deep nesting give a positioned error or a checked scenario, quickly', () => {
  // random text, in every character range
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => void frontEnd(s)), { numRuns: 200, seed: 1 });
  // corpus files with their numbers replaced by huge ones, lines duplicated, parentheses and operators piled up
  const edit = fc.record({
    which: fc.nat(),
    at: fc.nat(),
    kind: fc.constantFrom('number', 'dupline', 'nest', 'not', 'and', 'times', 'pages', 'index'),
    big: fc.constantFrom(...BIG),
    depth: fc.constantFrom(1, 31, 32, 33, 64, 65, 500, 5000),
  });
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
      let t = CORPUS[edits[0]!.which % CORPUS.length]!;
      for (const e of edits) {
        const lines = t.split('\n');
        const li = e.at % lines.length;
        switch (e.kind) {
          case 'number': {
            const ms = [...t.matchAll(/\b\d+\b/g)];
            if (ms.length) {
              const m = ms[e.at % ms.length]!;
              t = t.slice(0, m.index) + e.big + t.slice(m.index! + m[0].length);
            }
            break;
          }
          case 'dupline':
            lines.splice(li, 0, ...Array.from({ length: Math.min(e.depth, 400) }, () => lines[li]!));
            t = lines.join('\n');
            break;
          case 'nest':
            t += `\nexpect ${'('.repeat(e.depth)}clean${')'.repeat(e.depth)}\n`;
            break;
          case 'not':
            t += `\nexpect ${'not '.repeat(e.depth)}clean\n`;
            break;
          case 'and':
            t += `\nnever ${Array.from({ length: Math.min(e.depth, 2000) + 1 }, () => 'clean').join(' or ')}\n`;
            break;
          case 'times':
            t += `\nbackground reclaim() x${e.big}\n`;
            break;
          case 'pages':
            t = t.replace(/mmap\((\w+), \d+/, `mmap($1, ${e.big}`);
            break;
          case 'index':
            t = t.replace(/\[\d+\]/, `[${e.big}]`);
            break;
        }
      }
      frontEnd(t);
    }),
    { numRuns: 200, seed: 2 },
  );
});

test('limits: the observed crashes are positioned errors (huge mmap and pin, a huge number, 500 nested parentheses)', () => {
  const head = 'scenario t\nA: x = mmap(anon, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE)\nA: r = x[0]\n';
  const cases: [string, number, number, RegExp][] = [
    ['scenario t\nA: x = mmap(anon, 100000000, PROT_READ|PROT_WRITE, MAP_PRIVATE)\nA: p = pin_user_pages(x, 100000000, FOLL_WRITE|FOLL_LONGTERM)\n', 2, 19, /mmap of 100000000 pages; the limit is 1024 pages/],
    [head + 'A: x[0] = 99999999999999999999\n', 4, 11, /too large: numbers go up to 268435455/],
    [head + `expect ${'('.repeat(500)}r == 'a'${')'.repeat(500)}\n`, 4, 8 + 32, /parentheses nested more than 32 deep/],
  ];
  for (const [text, line, col, msg] of cases) {
    const r = frontEnd(text);
    assert.ok(!r.ok, text);
    assert.equal(`${r.e.line}:${r.e.col}`, `${line}:${col}`, r.e.message);
    assert.match(r.e.message, msg);
  }
});

// Scenarios built from every operation with page counts, indices and counts at the limits: the
// checker accepts them or stops them with a positioned limit error; accepted ones run on the model
// (straight, and through the explorer) without outgrowing a table.
const NUM = fc.oneof(fc.constantFrom(0, 1, 2, 3, LIMITS.pages - 2, LIMITS.pages - 1, LIMITS.pages), fc.nat(LIMITS.pages));
type GenStep = { op: string; a: number; b: number; n: number; i: number; flag: number };
const stepGen: fc.Arbitrary<GenStep> = fc.record({
  op: fc.constantFrom(
    'mmap', 'mmapfile', 'store', 'load', 'pin', 'unpin', 'fork', 'exit', 'madvise', 'munmap', 'mprotect', 'mremap', 'compact', 'reclaim', 'drop', 'ksm',
    'migrate', 'poison', 'write', 'read', 'truncate', 'fsync', 'odirect', 'memfd', 'dma', 'pvm', 'procmem', 'writeback',
  ),
  a: fc.nat(),
  b: fc.nat(),
  n: NUM,
  i: NUM,
  flag: fc.nat(),
});

function buildScenario(steps: GenStep[], opts: { par: boolean; bg: number; files: number }): string {
  const out = ['scenario limits', 'device dev'];
  const files: string[] = [];
  for (let f = 0; f < opts.files; f++) {
    const fs = ['ext4', 'tmpfs', 'hugetlbfs'][f % 3]!;
    files.push(`f${f}`);
    out.push(`file f${f} on ${fs} pages ${f === 0 ? LIMITS.pages : 2} = 'd'`);
  }
  if (opts.bg) out.push(`background reclaim() x${opts.bg}, compact() x${Math.min(opts.bg, 2)}`);
  const maps: string[] = [];
  const pins: string[] = [];
  const procs = ['A'];
  let v = 0;
  const pick = <T,>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);
  const body: string[] = [];
  for (const s of steps) {
    const who = pick(procs, s.a)!;
    const m = pick(maps, s.b);
    const p = pick(pins, s.b);
    const f = pick(files, s.a);
    const prot = ['PROT_READ|PROT_WRITE', 'PROT_READ', 'PROT_NONE'][s.flag % 3];
    switch (s.op) {
      case 'mmap':
        maps.push(`m${v}`);
        body.push(`A: m${v++} = mmap(anon, ${Math.max(1, s.n)}, PROT_READ|PROT_WRITE, ${['MAP_PRIVATE', 'MAP_SHARED', 'MAP_PRIVATE|MAP_POPULATE', 'MAP_PRIVATE|MAP_HUGETLB'][s.flag % 4]})`);
        break;
      case 'mmapfile':
        if (f) {
          maps.push(`m${v}`);
          body.push(`A: m${v++} = mmap(${f}, ${Math.max(1, s.n)}, PROT_READ|PROT_WRITE, ${['MAP_PRIVATE', 'MAP_SHARED|MAP_POPULATE'][s.flag % 2]})`);
        }
        break;
      case 'store':
        if (m) body.push(`${who}: ${m}[${s.i}] = ${s.flag % 2 ? LIMITS.number : "'w'"}`);
        break;
      case 'load':
        if (m) body.push(`${who}: r${v++} = ${m}[${s.i}]`);
        break;
      case 'pin':
        if (m) {
          pins.push(`p${v}`);
          const call = ['pin_user_pages', 'pin_user_pages_fast', 'get_user_pages', 'io_uring_register_buffers'][s.flag % 4]!;
          body.push(`${who}: p${v++} = ${call}(${m}, ${s.n}${call.startsWith('io_') ? '' : s.flag % 3 ? ', FOLL_WRITE|FOLL_LONGTERM' : ', FOLL_WRITE'})`);
        }
        break;
      case 'unpin':
        if (p) body.push(`A: unpin_user_pages(${p})`);
        break;
      case 'fork':
        procs.push(`C${v}`);
        body.push(`${who}: C${v++} = fork()`);
        break;
      case 'exit':
        if (who !== 'A') body.push(`${who}: exit()`);
        break;
      case 'madvise':
        if (m) body.push(`${who}: madvise(${m}${s.i ? `+${s.i}` : ''}, ${s.n}, ${['MADV_DONTNEED', 'MADV_PAGEOUT', 'MADV_HUGEPAGE', 'MADV_COLLAPSE', 'MADV_DONTFORK', 'MADV_MERGEABLE', 'MADV_WIPEONFORK'][s.flag % 7]})`);
        break;
      case 'munmap':
        if (m) body.push(`${who}: munmap(${m}${s.i ? `+${s.i}` : ''}, ${s.n})`);
        break;
      case 'mprotect':
        if (m) body.push(`${who}: mprotect(${m}${s.i ? `+${s.i}` : ''}, ${s.n}, ${prot})`);
        break;
      case 'mremap':
        if (m) {
          maps.push(`m${v}`);
          body.push(`${who}: m${v++} = mremap(${m}, ${Math.max(1, s.n)})`);
        }
        break;
      case 'compact':
      case 'reclaim':
      case 'drop':
      case 'ksm':
        body.push(`sys: ${({ compact: 'compact', reclaim: 'reclaim', drop: 'drop_caches', ksm: 'ksm_scan' } as Record<string, string>)[s.op]}()`);
        break;
      case 'migrate':
      case 'poison':
        if (m) body.push(`sys: ${s.op === 'migrate' ? 'migrate' : 'memory_failure'}(${m}, ${s.i})`);
        break;
      case 'write':
        if (f) body.push(`${who}: write(${f}, ${s.i}, ${s.flag % 2 ? LIMITS.number : "'v'"})`);
        break;
      case 'read':
        if (f) body.push(`${who}: r${v++} = read(${f}, ${s.i})`);
        break;
      case 'truncate':
        if (f) body.push(`${who}: ftruncate(${f}, ${s.n})`);
        break;
      case 'fsync':
        if (f) body.push(`${who}: fsync(${f})`);
        break;
      case 'writeback':
        if (f) body.push(`sys: writeback(${f})`);
        break;
      case 'odirect':
        if (f && m) body.push(`${who}: odirect_${s.flag % 2 ? 'read' : 'write'}(${f}, ${s.i}, ${m})`);
        break;
      case 'memfd':
        files.push(`g${v}`);
        body.push(`A: g${v++} = memfd_create(${s.n})`);
        break;
      case 'dma':
        if (p) body.push(s.flag % 2 ? `dev: dma_write(${p}, ${s.i}, 'D')` : `dev: r${v++} = dma_read(${p}, ${s.i})`);
        break;
      case 'pvm':
        if (m && procs.length > 1) body.push(`A: process_vm_writev(${pick(procs, s.a + 1)}, ${m}, ${s.i}, 'P')`);
        break;
      case 'procmem':
        if (m) body.push(`${who}: proc_mem_write(${m}, ${s.i}, 'M')`);
        break;
    }
  }
  if (opts.par && body.length >= 4) {
    const k = body.length - 4;
    out.push(...body.slice(0, k), 'par {', body[k]!, body[k + 1]!, '} {', body[k + 2]!, body[k + 3]!, '}');
  } else out.push(...body);
  out.push('expect clean or not clean');
  return out.join('\n') + '\n';
}

test('limits: scenarios at the limits never reach a model-capacity or typed-array error', () => {
  const profiles = ['4.8', '5.8', '5.19', '6.18'].map((v) => makeProfile(v, []));
  let accepted = 0;
  let rejected = 0;
  fc.assert(
    fc.property(
      fc.array(stepGen, { minLength: 1, maxLength: 40 }),
      fc.boolean(),
      fc.constantFrom(0, 0, 1, LIMITS.backgroundTimes),
      fc.integer({ min: 0, max: 3 }),
      fc.nat(),
      (steps, par, bg, files, pi) => {
        const text = buildScenario(steps, { par, bg, files });
        const r = frontEnd(text);
        if (!r.ok) {
          // what the generator builds is well-formed: only a limit may stop it
          assert.match(r.e.message, /docs\/limits\.md/, `${r.e.line}:${r.e.col} ${r.e.message}\n${text}`);
          rejected++;
          return;
        }
        accepted++;
        const pr = new Prepared(r.sc, r.info);
        const run = runScenarioProfile(pr, profiles[pi % profiles.length]!, { maxStates: 300, maxDepth: 200 });
        assert.doesNotMatch(run.error ?? '', /model error|full|sizing/, `${run.error}\n${text}`);
      },
    ),
    { numRuns: Number(process.env.PINLAB_LIMIT_RUNS ?? 60), seed: Number(process.env.PINLAB_LIMIT_SEED ?? 3) },
  );
  assert.ok(accepted > 15, `only ${accepted} generated scenarios were accepted (${rejected} rejected)`);
});
