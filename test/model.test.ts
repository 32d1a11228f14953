// Unit tests of the modelled kernel paths, one mechanism at a time, on the
// profiles where it differs. They drive the model through src/model/api.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mk, run, must, c } from './helpers.js';
import { FOLL_ANON, FOLL_FORCE, FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_REMOTE, FOLL_TOUCH, FOLL_WRITE, GUP_PIN_COUNTING_BIAS, folio_maybe_dma_pinned } from '../src/model/folio.js';
import { MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../src/model/mmap.js';
import {
  F_REF, F_MAPCOUNT, F_MAPPING, F_PINCOUNT, F_VALUE, PTE_PMD, PTE_SWAP, PG_ZERO, PG_ANON_EXCLUSIVE, PG_FS_WRITABLE, PG_PRIVATE, PG_DIRTY, PTE_WRITE, PTE_PRESENT, fingerprint64, H_VIOLATIONS,
} from '../src/model/state.js';
import { EFAULT, EAGAIN, EINVAL } from '../src/model/errno.js';
import { VIOLATION_BIT, type Kernel } from '../src/model/kernel.js';

const RW = PROT_READ | PROT_WRITE;
const anon = (k: Kernel, pages = 1) => must(run(k, { op: 'mmap', p: 0, file: -1, pages, prot: RW, flags: MAP_PRIVATE }), 'mapping').va;
const store = (k: Kernel, p: number, va: number, v: string) => run(k, { op: 'store', p, va, value: c(v) });
const load = (k: Kernel, p: number, va: number) => run(k, { op: 'load', p, va });
const gup = (k: Kernel, va: number, foll: number, fast = false, p = 0) => run(k, { op: 'gup', p, va, n: 1, foll, fast });

/** The classic "fork, child exits, parent writes" with an extra reference taken by `extra` before the write. */
function forkExitWrite(profile: string, extraFoll: number | null): { same: boolean; k: Kernel } {
  const k = mk(profile);
  const x = anon(k);
  store(k, 0, x, 'a');
  run(k, { op: 'fork', p: 0, child: 1 });
  run(k, { op: 'exit', p: 1 });
  if (extraFoll !== null) must(gup(k, x, extraFoll), 'pin');
  const before = k.pteFolio(0, x);
  store(k, 0, x, 'b');
  return { same: k.pteFolio(0, x) === before, k };
}

test('do_wp_page: <=5.8 reuses by mapcount even with a GUP reference', () => {
  assert.equal(forkExitWrite('5.7', FOLL_GET).same, true);
});
test('do_wp_page: 5.9 (09854ba94c6a) copies when page_count != 1', () => {
  assert.equal(forkExitWrite('5.9', FOLL_GET).same, false);
  assert.equal(forkExitWrite('5.9', null).same, true, 'no extra reference: reuse');
});
test('do_wp_page: 5.19 R/O FOLL_PIN unshares first, so the pinned page stays and is reused', () => {
  const r = forkExitWrite('5.19', FOLL_PIN);
  assert.equal(r.same, true);
  assert.ok(r.k.ftest(r.k.pteFolio(0, 0), PG_ANON_EXCLUSIVE));
  assert.equal(forkExitWrite('5.18', FOLL_PIN).same, false, '5.18 has no unshare: the pinned page is copied away');
});
test('do_wp_page: 5.19 FOLL_GET gets no unshare and still loses the page (cow.c: only pins are reliable)', () => {
  assert.equal(forkExitWrite('5.19', FOLL_GET).same, false);
});

test('try_grab_folio: FOLL_PIN adds GUP_PIN_COUNTING_BIAS from 5.7; hugetlb uses the exact _pincount', () => {
  const k = mk('5.9');
  const x = anon(k);
  store(k, 0, x, 'a');
  const f = k.pteFolio(0, x);
  const ref = k.fget(f, F_REF);
  const h = must(gup(k, x, FOLL_PIN), 'pin').h;
  assert.equal(k.fget(f, F_REF), ref + GUP_PIN_COUNTING_BIAS);
  assert.ok(folio_maybe_dma_pinned(k, f));
  run(k, { op: 'unpin', h, dirty: false, put: false });
  assert.equal(k.fget(f, F_REF), ref);
  const u = must(run(k, { op: 'mmap', p: 0, file: 2, pages: 1, prot: RW, flags: MAP_SHARED }), 'mapping').va;
  store(k, 0, u, 'h');
  const hf = k.pteFolio(0, u);
  const href = k.fget(hf, F_REF);
  must(gup(k, u, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM, true), 'pin');
  assert.equal(k.fget(hf, F_REF), href + 1);
  assert.equal(k.fget(hf, F_PINCOUNT), 1);
});

test('folio_maybe_dma_pinned: 1024 plain references are a false positive that makes fork copy (5.9+)', () => {
  const k = mk('5.9');
  const x = anon(k);
  store(k, 0, x, 'a');
  const f = k.pteFolio(0, x);
  must(gup(k, x, FOLL_PIN), 'pin'); // sets has_pinned on the mm
  const y = anon(k);
  store(k, 0, y, 'y');
  const g = k.pteFolio(0, y);
  k.fset(g, F_REF, k.fget(g, F_REF) + GUP_PIN_COUNTING_BIAS); // speculative references, not pins
  assert.ok(folio_maybe_dma_pinned(k, g));
  run(k, { op: 'fork', p: 0, child: 1 });
  assert.notEqual(k.pteFolio(1, y), g, 'the child got a copy of the falsely-pinned page');
  assert.notEqual(k.pteFolio(1, x), f);
});

test('fork: 5.8 shares a pinned page write-protected; 5.9 gives the child a copy and keeps the parent writable', () => {
  for (const [profile, shared] of [['5.8', true], ['5.9', false], ['6.18', false]] as const) {
    const k = mk(profile);
    const x = anon(k);
    store(k, 0, x, 'a');
    must(gup(k, x, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM), 'pin');
    const f = k.pteFolio(0, x);
    run(k, { op: 'fork', p: 0, child: 1 });
    assert.equal(k.pteFolio(1, x) === f, shared, profile);
    assert.equal((k.pte(0, x) & PTE_WRITE) === 0, shared, `${profile}: parent pte write-protected`);
    assert.equal(k.fget(f, F_MAPCOUNT), shared ? 2 : 1);
  }
});

test('check_vma_flags: FOLL_FORCE writes COW in private mappings but are refused in shared ones (cda540ace6a1)', () => {
  const k = mk('6.18');
  const x = anon(k);
  store(k, 0, x, 'a');
  run(k, { op: 'mprotect', p: 0, va: x, pages: 1, prot: PROT_READ });
  assert.deepEqual(gup(k, x, FOLL_GET | FOLL_WRITE), { kind: 'errno', e: EFAULT });
  must(gup(k, x, FOLL_GET | FOLL_WRITE | FOLL_FORCE), 'pin');
  const s = must(run(k, { op: 'mmap', p: 0, file: 1, pages: 1, prot: PROT_READ, flags: MAP_SHARED }), 'mapping').va;
  assert.deepEqual(gup(k, s, FOLL_GET | FOLL_WRITE | FOLL_FORCE), { kind: 'errno', e: EFAULT });
});

test('Dirty COW mechanics: <=4.8 drops FOLL_WRITE after the COW fault, 4.9 sets FOLL_COW', () => {
  for (const [profile, fn] of [['4.8', 'FOLL_WRITE dropped'], ['4.9', null]] as const) {
    const k = mk(profile);
    const v = must(run(k, { op: 'mmap', p: 0, file: 0, pages: 1, prot: PROT_READ, flags: MAP_PRIVATE }), 'mapping').va;
    load(k, 0, v);
    const traces: string[] = [];
    k.sink = { violation() {}, note() {}, trace: (_f, w) => traces.push(w) };
    must(run(k, { op: 'proc_mem_write', p: 0, va: v, value: c('X') }), 'ok');
    assert.equal(traces.some((t) => t.includes('FOLL_WRITE dropped')), fn !== null, profile);
    assert.equal(k.cachedFolio(0, 0) >= 0 ? k.fget(k.cachedFolio(0, 0), 5) : c('d'), c('d'), 'the page cache is untouched in a sequential run');
  }
});

test('GUP-fast: folio_fast_pin_allowed refuses a long-term write pin of an ext4 folio on 6.5 and the slow path says EFAULT', () => {
  for (const [profile, ok] of [['6.4', true], ['6.5', false]] as const) {
    const k = mk(profile);
    const x = must(run(k, { op: 'mmap', p: 0, file: 0, pages: 1, prot: RW, flags: MAP_SHARED }), 'mapping').va;
    store(k, 0, x, 'a');
    const r = gup(k, x, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM, true);
    assert.equal(r.kind === 'pin', ok, profile);
    if (!ok) assert.deepEqual(r, { kind: 'errno', e: EFAULT });
    // short-term and read-only long-term pins stay allowed
    must(gup(k, x, FOLL_PIN | FOLL_WRITE, true), 'pin');
    must(gup(k, x, FOLL_PIN | FOLL_LONGTERM, true), 'pin');
  }
});

test('GUP-fast falls back to the slow path for a write to a read-only PTE, which breaks COW', () => {
  const k = mk('6.18');
  const x = anon(k);
  store(k, 0, x, 'a');
  run(k, { op: 'fork', p: 0, child: 1 });
  const f = k.pteFolio(0, x);
  must(gup(k, x, FOLL_PIN | FOLL_WRITE, true), 'pin');
  assert.notEqual(k.pteFolio(0, x), f, 'the parent got its own copy');
  assert.equal(k.pteFolio(1, x), f);
});

test('gup_must_unshare 6.2: a R/O long-term pin of the zero page in a private mapping gets an anon page', () => {
  for (const [profile, zero] of [['5.19', true], ['6.2', false]] as const) {
    const k = mk(profile);
    const x = anon(k);
    load(k, 0, x);
    const h = must(gup(k, x, FOLL_PIN | FOLL_LONGTERM), 'pin').h;
    const f = k.s[k.L.pinPage(h, 0)]! - 1;
    assert.equal(f === 0, zero, profile);
  }
});

test('writeback: page_mkclean write-protects, the fs must be told again; reclaim releases a pinned clean page\'s buffers until d824ec2a1546 (6.4; 6.1.28)', () => {
  for (const [profile, released] of [['6.2', true], ['5.15', true], ['6.1', false], ['6.4', false]] as const) {
    const k = mk(profile);
    const x = must(run(k, { op: 'mmap', p: 0, file: 0, pages: 1, prot: RW, flags: MAP_SHARED }), 'mapping').va;
    store(k, 0, x, 'a');
    const f = k.pteFolio(0, x);
    assert.ok(k.ftest(f, PG_FS_WRITABLE) && k.ftest(f, PG_PRIVATE) && k.ftest(f, PG_DIRTY));
    must(gup(k, x, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM), 'pin');
    run(k, { op: 'writeback', file: 0 });
    assert.equal(k.disk(0, 0), c('a'));
    assert.equal(k.pte(0, x) & PTE_WRITE, 0);
    assert.ok(!k.ftest(f, PG_FS_WRITABLE) && !k.ftest(f, PG_DIRTY));
    run(k, { op: 'reclaim' });
    assert.equal(!k.ftest(f, PG_PRIVATE), released, `${profile}: buffers ${released ? 'released' : 'kept'}`);
    assert.equal(k.cachedFolio(0, 0), f, 'the pinned page stays in the page cache');
    store(k, 0, x, 'b');
    assert.ok(k.ftest(f, PG_FS_WRITABLE), 'the CPU write went through page_mkwrite again');
    assert.equal(k.s[H_VIOLATIONS], 0);
  }
});

test('migration: a pinned page cannot move (folio_expected_refs), an unpinned one can', () => {
  const k = mk('6.18');
  const x = anon(k);
  store(k, 0, x, 'a');
  const f = k.pteFolio(0, x);
  const h = must(gup(k, x, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM), 'pin').h;
  assert.deepEqual(run(k, { op: 'migrate_va', p: 0, va: x }), { kind: 'errno', e: EAGAIN });
  run(k, { op: 'unpin', h, dirty: false, put: false });
  must(run(k, { op: 'migrate_va', p: 0, va: x }), 'ok');
  assert.notEqual(k.pteFolio(0, x), f);
  assert.equal(must(load(k, 0, x), 'value').v, c('a'));
});

test('swap: a FOLL_GET-referenced page comes back from the swap cache as the same folio', () => {
  const k = mk('5.7');
  const x = anon(k);
  store(k, 0, x, 'a');
  const f = k.pteFolio(0, x);
  must(gup(k, x, FOLL_GET), 'pin');
  run(k, { op: 'reclaim' });
  assert.equal(k.pte(0, x) & PTE_PRESENT, 0, 'unmapped to a swap entry');
  assert.equal(must(load(k, 0, x), 'value').v, c('a'));
  assert.equal(k.pteFolio(0, x), f);
});

test('pin_user_pages with FOLL_GET is refused: -EINVAL until 6.2, 0 pages and no error from d64e2dbc33a1 (6.3); pin_user_pages_fast says EINVAL', () => {
  for (const profile of ['6.1', '6.2']) {
    const k = mk(profile);
    assert.deepEqual(gup(k, anon(k), FOLL_PIN | FOLL_GET), { kind: 'errno', e: EINVAL }, profile);
  }
  for (const profile of ['6.5', '6.18']) {
    const k = mk(profile);
    const x = anon(k);
    const h = must(gup(k, x, FOLL_PIN | FOLL_GET), 'pin').h;
    assert.equal(k.s[k.L.pin(h) + 3], 0, `${profile}: an empty pin`);
    assert.deepEqual(gup(k, x, FOLL_PIN | FOLL_GET, true), { kind: 'errno', e: EINVAL }, `${profile}: pin_user_pages_fast`);
  }
});

test('state: clone is independent and the fingerprint follows content', () => {
  const k = mk('6.18');
  const x = anon(k);
  store(k, 0, x, 'a');
  const k2 = k.clone();
  assert.deepEqual(fingerprint64(k.s), fingerprint64(k2.s));
  store(k2, 0, x, 'b');
  assert.notDeepEqual(fingerprint64(k.s), fingerprint64(k2.s));
  assert.equal(must(load(k, 0, x), 'value').v, c('a'));
});

test('FOLL_LONGTERM in ZONE_MOVABLE (5.13+): GUP-fast falls back, the slow path migrates first; a page someone else holds fails with ENOMEM, nothing pinned', async () => {
  const { PG_ZONE_MOVABLE, PG_CMA } = await import('../src/model/state.js');
  for (const [profile, migrates] of [['5.9', false], ['5.18', true]] as const) {
    const k = mk(profile);
    k.allocZone = PG_ZONE_MOVABLE;
    const x = anon(k, 2);
    store(k, 0, x, 'a');
    store(k, 0, x + 1, 'b');
    const f = k.pteFolio(0, x);
    const h = must(gup(k, x, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM, true), 'pin').h;
    const pinned = k.s[k.L.pinPage(h, 0)]! - 1;
    assert.equal(pinned !== f, migrates, `${profile}: migrated before pinning`);
    assert.equal(k.ftest(pinned, PG_ZONE_MOVABLE), !migrates);
    assert.equal(k.pteFolio(0, x), pinned, 'the process maps the pinned page');
    assert.equal((k.s[H_VIOLATIONS]! & 128) !== 0, !migrates, 'UNMOVABLE_PIN exactly when pinned in place');
    // page 1 is also held by a plain reference: it cannot migrate, so the long-term pin fails
    must(gup(k, x + 1, FOLL_GET), 'pin');
    const ref = k.fget(k.pteFolio(0, x + 1), F_REF);
    const r = gup(k, x + 1, FOLL_PIN | FOLL_LONGTERM);
    if (migrates) {
      assert.deepEqual(r, { kind: 'errno', e: 12 });
      assert.equal(k.fget(k.pteFolio(0, x + 1), F_REF), ref, 'nothing left pinned');
    } else must(r, 'pin');
  }
  const k = mk('5.7');
  k.allocZone = PG_CMA;
  const x = anon(k);
  store(k, 0, x, 'a');
  const f = k.pteFolio(0, x);
  must(gup(k, x, FOLL_PIN | FOLL_LONGTERM), 'pin');
  assert.notEqual(k.pteFolio(0, x), f, '5.7 already migrates out of CMA (5.1)');
  // a CMA page that cannot migrate: 5.7 pins it where it is; 5.10.y (5.10.38) and 5.13+ fail (f0f4463837da)
  for (const [profile, fails] of [['5.7', false], ['5.9', false], ['5.10', true], ['5.15', true]] as const) {
    const k2 = mk(profile);
    k2.allocZone = PG_CMA;
    const y = anon(k2);
    store(k2, 0, y, 'a');
    must(gup(k2, y, FOLL_GET), 'pin');
    const r = gup(k2, y, FOLL_PIN | FOLL_LONGTERM);
    if (fails) assert.deepEqual(r, { kind: 'errno', e: 12 }, profile);
    else {
      must(r, 'pin');
      assert.ok((k2.s[H_VIOLATIONS]! & 128) !== 0, `${profile}: pinned in CMA: UNMOVABLE_PIN`);
    }
  }
});

// ---- THP (mm/huge_memory.c)
const thp = (k: Kernel) => {
  const x = anon(k, 2);
  run(k, { op: 'madvise', p: 0, va: x, pages: 2, advice: 'MADV_HUGEPAGE' });
  store(k, 0, x, 'a');
  return x;
};

test('do_huge_pmd_anonymous_page: one PMD maps a 2-page THP with one mapping and one reference; a partial munmap splits it', () => {
  const k = mk('6.18');
  const x = thp(k);
  const h = k.pteFolio(0, x);
  assert.equal(k.pteFolio(0, x + 1), h + 1, 'the second page of the same folio');
  assert.ok(k.pte(0, x) & PTE_PMD && k.pte(0, x + 1) & PTE_PMD);
  assert.equal(k.fget(h, F_REF), 1);
  assert.equal(k.fget(h + 1, F_MAPCOUNT), 1, 'a tail reads its folio');
  run(k, { op: 'munmap', p: 0, va: x, pages: 1 });
  assert.equal(k.pte(0, x), 0);
  assert.ok(!(k.pte(0, x + 1) & PTE_PMD), 'split into PTEs');
  assert.equal(k.fget(h, F_MAPCOUNT), 1, 'one PTE left');
  assert.equal(k.fget(h, F_REF), 1);
  assert.equal(k.fget(h + 1, F_VALUE), 0);
});

test('FOLL_PIN on a THP page counts in _pincount, one reference per pin', () => {
  const k = mk('6.18');
  const x = thp(k);
  const h = k.pteFolio(0, x);
  must(run(k, { op: 'gup', p: 0, va: x, n: 2, foll: FOLL_PIN | FOLL_WRITE, fast: false }), 'pin');
  assert.equal(k.fget(h, F_PINCOUNT), 2);
  assert.equal(k.fget(h, F_REF), 3);
  assert.ok(folio_maybe_dma_pinned(k, h + 1));
});

test('copy_huge_pmd: 5.8 shares a pinned THP by PMD; 5.9 (d042035eaf5f) splits it and copies each page for the child', () => {
  for (const [profile, shared] of [['5.8', true], ['5.9', false]] as const) {
    const k = mk(profile);
    const x = thp(k);
    const h = k.pteFolio(0, x);
    must(run(k, { op: 'gup', p: 0, va: x, n: 1, foll: FOLL_PIN | FOLL_WRITE, fast: false }), 'pin');
    run(k, { op: 'fork', p: 0, child: 1 });
    assert.equal(k.pteFolio(1, x) === h, shared, profile);
    assert.equal((k.pte(0, x) & PTE_PMD) !== 0, shared, `${profile}: the parent's PMD ${shared ? 'stays' : 'is split'}`);
  }
});

test('do_huge_pmd_wp_page: <=5.17 reuses a THP mapped once despite a GUP reference; 5.18 (3bff7e3f1f16) copies', () => {
  for (const [profile, reused] of [['5.9', true], ['5.18', false]] as const) {
    const k = mk(profile);
    const x = thp(k);
    run(k, { op: 'fork', p: 0, child: 1 });
    run(k, { op: 'exit', p: 1 });
    const h = k.pteFolio(0, x);
    must(gup(k, x, FOLL_GET), 'pin');
    store(k, 0, x, 'b');
    assert.equal(k.pteFolio(0, x) === h, reused, profile);
  }
});

test('madvise_collapse: a pinned page blocks it (EAGAIN, 6.2); unpinned pages become one THP with their contents', () => {
  const k = mk('6.18');
  const x = anon(k, 2);
  store(k, 0, x, 'a');
  store(k, 0, x + 1, 'b');
  const h = must(gup(k, x, FOLL_PIN | FOLL_WRITE), 'pin').h;
  assert.deepEqual(run(k, { op: 'madvise', p: 0, va: x, pages: 2, advice: 'MADV_COLLAPSE' }), { kind: 'errno', e: EAGAIN });
  run(k, { op: 'unpin', h, dirty: false, put: false });
  assert.deepEqual(run(k, { op: 'madvise', p: 0, va: x, pages: 2, advice: 'MADV_COLLAPSE' }), { kind: 'ok' });
  assert.ok(k.pte(0, x) & PTE_PMD);
  assert.deepEqual([load(k, 0, x), load(k, 0, x + 1)], [{ kind: 'value', v: c('a') }, { kind: 'value', v: c('b') }]);
  assert.deepEqual(run(mk('5.19'), { op: 'madvise', p: 0, va: 0, pages: 2, advice: 'MADV_COLLAPSE' }), { kind: 'errno', e: EINVAL });
});

test('the huge zero page: a read fault maps it by a PMD; an unshare splits it into zero-page PTEs (6.2)', () => {
  const k = mk('6.2');
  const x = anon(k, 2);
  run(k, { op: 'madvise', p: 0, va: x, pages: 2, advice: 'MADV_HUGEPAGE' });
  load(k, 0, x);
  const z = k.pteFolio(0, x);
  assert.ok(z > 0 && k.ftest(z, PG_ZERO) && k.pte(0, x) & PTE_PMD);
  must(gup(k, x, FOLL_PIN | FOLL_LONGTERM), 'pin');
  assert.equal(k.pteFolio(0, x + 1), 0, 'the other half maps the small zero page');
  assert.ok(k.ftest(k.pteFolio(0, x), PG_ANON_EXCLUSIVE), 'the pinned page is an exclusive anon copy');
});

test('io_sqe_buffer_register (5.1-6.4): pins first, checks the VMAs after, unpins on refusal', () => {
  // A private ext4 mapping: the FOLL_WRITE pin breaks COW into an anon copy before io_uring refuses the buffer.
  for (const profile of ['5.10', '6.1']) {
    const k = mk(profile);
    const x = must(run(k, { op: 'mmap', p: 0, file: 0, pages: 1, prot: RW, flags: MAP_PRIVATE }), 'mapping').va;
    assert.deepEqual(run(k, { op: 'io_uring_register', p: 0, va: x, n: 1 }), { kind: 'errno', e: 95 }, `${profile}: EOPNOTSUPP`);
    const f = k.pteFolio(0, x);
    assert.ok(f > 0 && k.fget(f, F_MAPCOUNT) === 1 && k.fget(f, F_MAPPING) === 0, `${profile}: the pin's write fault already mapped a private anon copy`);
    assert.equal(k.fget(f, F_REF), 1, `${profile}: and the refused pin was dropped (unpin_user_pages)`);
  }
  // secretmem: GUP refuses first (EFAULT), before io_uring would have looked at the file
  const k = mk('6.1+secretmem_enabled');
  const m = must(run(k, { op: 'memfd_create', p: 0, pages: 1, secret: true }), 'file').fi;
  const y = must(run(k, { op: 'mmap', p: 0, file: m, pages: 1, prot: RW, flags: MAP_SHARED }), 'mapping').va;
  store(k, 0, y, 's');
  assert.deepEqual(run(k, { op: 'io_uring_register', p: 0, va: y, n: 1 }), { kind: 'errno', e: EFAULT });
  // 6.5 (34ed8d0dcd69): GUP decides; a private file mapping is just COWed and pinned
  const k6 = mk('6.5');
  const z = must(run(k6, { op: 'mmap', p: 0, file: 0, pages: 1, prot: RW, flags: MAP_PRIVATE }), 'mapping').va;
  must(run(k6, { op: 'io_uring_register', p: 0, va: z, n: 1 }), 'pin');
});

test('io_uring_shmem_buffers (40dad765c045, 5.14; 5.10.162) and io_uring_same_file_buffers (edd478269640: 6.3 only; 5.10.173, 5.15.99, 6.1.16)', () => {
  const shm = (profile: string) => {
    const k = mk(profile);
    const x = must(run(k, { op: 'mmap', p: 0, file: 1, pages: 1, prot: RW, flags: MAP_SHARED }), 'mapping').va;
    return run(k, { op: 'io_uring_register', p: 0, va: x, n: 1 }).kind;
  };
  assert.equal(shm('5.9'), 'errno', '5.9: tmpfs refused');
  assert.equal(shm('5.10'), 'pin', '5.10.y: shmem accepted since 5.10.162');
  assert.equal(shm('5.15'), 'pin');
  const mixed = (profile: string) => {
    const k = mk(profile);
    const x = must(run(k, { op: 'mmap', p: 0, file: -1, pages: 1, prot: RW, flags: MAP_PRIVATE }), 'mapping').va;
    const y = must(run(k, { op: 'mmap', p: 0, file: 1, pages: 1, prot: RW, flags: MAP_SHARED }), 'mapping').va;
    assert.equal(y, x + 1, 'adjacent mappings');
    return run(k, { op: 'io_uring_register', p: 0, va: x, n: 2 });
  };
  for (const lts of ['5.10', '5.15', '6.1']) assert.deepEqual(mixed(lts), { kind: 'errno', e: EINVAL }, `${lts}.y keeps edd478269640`);
  assert.equal(mixed('6.2').kind, 'pin', 'mainline 6.2 had no such check');
  assert.equal(mixed('6.4').kind, 'pin', 'mainline 6.4 reverted it (3c85cc43c8e7)');
});

test('copy_present_page: 5.9-5.18 copy a maybe-pinned page-cache page of a private mapping for the child (no PageAnon test until fb3d824d1a46; 5.10.153, 5.15.173)', () => {
  const childCopies = (profile: string, anonVma = true) => {
    const k = mk(profile);
    const x = must(run(k, { op: 'mmap', p: 0, file: 0, pages: 2, prot: RW, flags: MAP_PRIVATE }), 'mapping').va;
    if (anonVma) store(k, 0, x + 1, 'c'); // a COW fault gives the VMA an anon_vma
    load(k, 0, x);
    must(gup(k, x, FOLL_PIN), 'pin');
    run(k, { op: 'fork', p: 0, child: 1 });
    return (k.pte(1, x) & PTE_PRESENT) !== 0 && k.pteFolio(1, x) !== k.pteFolio(0, x);
  };
  assert.equal(childCopies('5.9'), true);
  assert.equal(childCopies('5.18'), true);
  assert.equal(childCopies('5.10'), false, '5.10.y has the stable fix');
  assert.equal(childCopies('5.15'), false, '5.15.y has the stable fix');
  assert.equal(childCopies('5.19'), false);
  // vma_needs_copy(): without an anon_vma fork copies no PTE at all, so nothing is copied early
  assert.equal(childCopies('5.9', false), false);
});

test('GUP-fast reads write_protect_seq only for FOLL_PIN (lockless_pages_from_mm): a FOLL_GET walk ignores a fork in progress', async () => {
  const { gup_fast } = await import('../src/model/gup.js');
  const { P_WPSEQ } = await import('../src/model/state.js');
  const k = mk('6.1');
  const x = anon(k);
  store(k, 0, x, 'a');
  k.s[k.L.proc(0) + P_WPSEQ] = 1; // fork is write-protecting this mm right now
  assert.equal(gup_fast(k, 0, x, 1, FOLL_PIN).length, 0, 'FOLL_PIN bails out to the slow path');
  assert.equal(gup_fast(k, 0, x, 1, FOLL_GET).length, 1, 'FOLL_GET takes the page');
});

test('memfd_secret is ENOSYS until 6.5 unless booted with secretmem.enable=1 (b758fe6df50d)', () => {
  for (const [profile, works] of [['5.15', false], ['6.1', false], ['6.1+secretmem_enabled', true], ['6.5', true], ['6.12', true]] as const) {
    const k = mk(profile);
    const r = run(k, { op: 'memfd_create', p: 0, pages: 1, secret: true });
    assert.equal(r.kind, works ? 'file' : 'errno', profile);
  }
});

test('swap: COW after fork of a swapped-out page copies on every version while the other swap PTE still names the slot (cow.c "Basic COW after fork() ... swapped out")', () => {
  for (const profile of ['5.7', '5.9', '5.10', '5.18', '6.1', '6.18']) {
    const k = mk(profile);
    const x = anon(k);
    store(k, 0, x, 'a');
    run(k, { op: 'madvise', p: 0, va: x, pages: 1, advice: 'MADV_PAGEOUT' });
    run(k, { op: 'fork', p: 0, child: 1 });
    store(k, 0, x, 'b'); // the parent swaps in and writes first
    assert.deepEqual(load(k, 1, x), { kind: 'value', v: c('a') }, `${profile}: the child keeps its data`);
    assert.equal(k.s[H_VIOLATIONS], 0, profile);
  }
});

test('swap: do_swap_page() <=5.17 reuses a still-referenced page on a write fault (reuse_swap_page; c145e0b47c77 in 5.18, not in 5.10.y/5.15.y)', () => {
  for (const [profile, leaks] of [['5.9', true], ['5.10', true], ['5.15', true], ['5.18', false], ['6.1', false]] as const) {
    const k = mk(profile);
    const x = anon(k);
    store(k, 0, x, 'a');
    run(k, { op: 'fork', p: 0, child: 1 });
    const q = must(run(k, { op: 'vmsplice', p: 1, va: x, n: 1 }), 'pipe').h;
    run(k, { op: 'munmap', p: 1, va: x, pages: 1 });
    run(k, { op: 'reclaim' });
    store(k, 0, x, 'b');
    const r = run(k, { op: 'read_pipe', p: 1, h: q, i: 0 });
    assert.deepEqual(r, { kind: 'value', v: c(leaks ? 'b' : 'a') }, `${profile}: the pipe ${leaks ? 'sees the parent\'s later write' : 'keeps the snapshot'}`);
  }
});

test('invalidate_inode_pages2 ignores references: an O_DIRECT write orphans a pinned page-cache page (invalidate_complete_folio2)', () => {
  const k = mk('6.1');
  const x = must(run(k, { op: 'mmap', p: 0, file: 0, pages: 1, prot: RW, flags: MAP_SHARED }), 'mapping').va;
  load(k, 0, x);
  const f = k.pteFolio(0, x);
  must(gup(k, x, FOLL_PIN), 'pin');
  const b = anon(k);
  store(k, 0, b, 'o');
  assert.equal(run(k, { op: 'odirect_write', p: 0, file: 0, idx: 0, va: b }).kind, 'ok');
  assert.notEqual(k.cachedFolio(0, 0), f, 'the pinned folio left the page cache');
  assert.deepEqual(run(k, { op: 'read', p: 0, file: 0, idx: 0 }), { kind: 'value', v: c('o') });
});

// ---- madvise (mm/madvise.c)
const errno = (r: { kind: string; e?: number }) => (r.kind === 'errno' ? r.e : 0);

test('MADV_PAGEOUT splits a THP mapped once and swaps its pages out; a GUP-held THP cannot be split and stays (can_split_folio)', () => {
  for (const profile of ['5.7', '5.10', '6.1', '6.18']) {
    const k = mk(profile);
    const x = thp(k);
    store(k, 0, x + 1, 'b');
    const h = k.pteFolio(0, x);
    run(k, { op: 'madvise', p: 0, va: x, pages: 1, advice: 'MADV_PAGEOUT' });
    assert.ok(k.pte(0, x) & PTE_SWAP, `${profile}: the first page went to swap`);
    assert.ok(k.pte(0, x + 1) & PTE_PRESENT && !(k.pte(0, x + 1) & PTE_PMD), `${profile}: the second stays, PTE-mapped`);
    assert.equal(k.nrPages(h + 1), 1, `${profile}: no longer one folio`);
    assert.deepEqual(load(k, 0, x), { kind: 'value', v: c('a') });
    const k2 = mk(profile);
    const y = thp(k2);
    must(gup(k2, y + 1, FOLL_GET), 'pin');
    run(k2, { op: 'madvise', p: 0, va: y, pages: 2, advice: 'MADV_PAGEOUT' });
    assert.ok(k2.pte(0, y) & PTE_PMD, `${profile}: the held THP stays whole and mapped`);
    run(k2, { op: 'reclaim' });
    assert.ok(k2.pte(0, y) & PTE_PMD, `${profile}: global reclaim cannot split it either`);
  }
});

test('MADV_PAGEOUT leaves a page mapped by two processes alone ("do not interfere with other mappings"); global reclaim does not', () => {
  const k = mk('6.18');
  const x = anon(k);
  store(k, 0, x, 'a');
  run(k, { op: 'fork', p: 0, child: 1 });
  run(k, { op: 'madvise', p: 0, va: x, pages: 1, advice: 'MADV_PAGEOUT' });
  assert.ok(k.pte(0, x) & PTE_PRESENT, 'still resident after MADV_PAGEOUT');
  run(k, { op: 'reclaim' });
  assert.ok(k.pte(0, x) & PTE_SWAP && k.pte(1, x) & PTE_SWAP, 'reclaim unmaps both');
});

test('MADV_COLD only deactivates: nothing changes; MADV_COLD and MADV_PAGEOUT are unknown before 5.4 and EINVAL on hugetlb', () => {
  const k = mk('6.18');
  const x = anon(k);
  store(k, 0, x, 'a');
  const before = k.pte(0, x);
  assert.equal(run(k, { op: 'madvise', p: 0, va: x, pages: 1, advice: 'MADV_COLD' }).kind, 'ok');
  assert.equal(k.pte(0, x), before);
  const old = mk('4.9');
  const y = anon(old);
  assert.equal(errno(run(old, { op: 'madvise', p: 0, va: y, pages: 1, advice: 'MADV_PAGEOUT' })), EINVAL);
  assert.equal(errno(run(old, { op: 'madvise', p: 0, va: y, pages: 1, advice: 'MADV_COLD' })), EINVAL);
  const h = must(run(k, { op: 'mmap', p: 0, file: -1, pages: 1, prot: RW, flags: MAP_PRIVATE | MAP_HUGETLB }), 'mapping').va;
  assert.equal(errno(run(k, { op: 'madvise', p: 0, va: h, pages: 1, advice: 'MADV_PAGEOUT' })), EINVAL);
  assert.equal(errno(run(k, { op: 'madvise', p: 0, va: h, pages: 1, advice: 'MADV_COLD' })), EINVAL);
});

test('MADV_DONTNEED on hugetlb is EINVAL until 90e7e7f5ef3f (5.18); mremap of hugetlb is EINVAL until 550a7d60bd5e (5.16)', () => {
  for (const [profile, dontneed, mremap] of [['5.15', EINVAL, EINVAL], ['5.10', EINVAL, EINVAL], ['5.19', 0, 0], ['6.18', 0, 0]] as const) {
    const k = mk(profile);
    const h = must(run(k, { op: 'mmap', p: 0, file: -1, pages: 1, prot: RW, flags: MAP_PRIVATE | MAP_HUGETLB }), 'mapping').va;
    store(k, 0, h, 'a');
    assert.equal(errno(run(k, { op: 'madvise', p: 0, va: h, pages: 1, advice: 'MADV_DONTNEED' })), dontneed, profile);
    assert.deepEqual(load(k, 0, h), { kind: 'value', v: dontneed ? c('a') : 0 }, profile);
    const r = run(k, { op: 'mremap', p: 0, va: h, pages: 1 });
    assert.equal(errno(r), mremap, profile);
  }
});

test('madvise flag advice: DONTFORK on half a THP splits its PMD (split_vma); WIPEONFORK refuses hugetlb; MERGEABLE ignores shared; a hole is ENOMEM after the rest is advised', () => {
  const k = mk('6.18');
  const x = thp(k);
  run(k, { op: 'madvise', p: 0, va: x, pages: 1, advice: 'MADV_DONTFORK' });
  assert.ok(!(k.pte(0, x) & PTE_PMD) && k.pte(0, x) & PTE_PRESENT, 'the PMD was split');
  const y = thp(k);
  run(k, { op: 'madvise', p: 0, va: y, pages: 2, advice: 'MADV_DONTFORK' });
  assert.ok(k.pte(0, y) & PTE_PMD, 'advice on the whole THP keeps the PMD');
  const h = must(run(k, { op: 'mmap', p: 0, file: -1, pages: 1, prot: RW, flags: MAP_PRIVATE | MAP_HUGETLB }), 'mapping').va;
  assert.equal(errno(run(k, { op: 'madvise', p: 0, va: h, pages: 1, advice: 'MADV_WIPEONFORK' })), EINVAL);
  assert.equal(run(k, { op: 'madvise', p: 0, va: h, pages: 1, advice: 'MADV_KEEPONFORK' }).kind, 'ok');
  const s = must(run(k, { op: 'mmap', p: 0, file: -1, pages: 1, prot: RW, flags: MAP_SHARED }), 'mapping').va;
  assert.equal(run(k, { op: 'madvise', p: 0, va: s, pages: 1, advice: 'MADV_MERGEABLE' }).kind, 'ok');
  const a = anon(k, 1);
  run(k, { op: 'munmap', p: 0, va: a, pages: 1 });
  const b = anon(k, 1);
  if (b === a + 1 || b === a - 1) {
    const lo = Math.min(a, b);
    assert.equal(errno(run(k, { op: 'madvise', p: 0, va: lo, pages: 2, advice: 'MADV_DONTFORK' })), 12 /* ENOMEM */);
    assert.ok(k.vmFlags(0, b) & 0x20000, 'the mapped page was advised (VM_DONTCOPY)');
  }
});

// ---- MADV_COLLAPSE, mprotect write upgrades, GUP flag checks
test('MADV_COLLAPSE: a block with no writable PTE is SCAN_PAGE_RO (EINVAL) until 62b98015d988 (6.18)', () => {
  for (const [profile, want] of [['6.1', EINVAL], ['6.12', EINVAL], ['6.18', 0]] as const) {
    const k = mk(profile);
    const x = thp(k);
    store(k, 0, x + 1, 'b');
    run(k, { op: 'mprotect', p: 0, va: x, pages: 1, prot: PROT_READ }); // splits the PMD
    run(k, { op: 'mprotect', p: 0, va: x, pages: 1, prot: RW }); // one VMA again
    run(k, { op: 'fork', p: 0, child: 1 }); // write-protects every PTE of the parent
    assert.equal(errno(run(k, { op: 'madvise', p: 0, va: x, pages: 2, advice: 'MADV_COLLAPSE' })), want, profile);
    assert.equal(!!(k.pte(0, x) & PTE_PMD), want === 0, `${profile}: collapsed iff it succeeded`);
  }
});

test('mprotect(PROT_READ|PROT_WRITE) maps an exclusive anon PTE writable from 6.0 (64fe24a3e05e): dirty PTEs only until 6.2, and 6.1 splits THPs into clean PTEs', () => {
  for (const [profile, small, split] of [['5.19', false, false], ['6.1', true, false], ['6.2', true, true], ['6.18', true, true]] as const) {
    const k = mk(profile);
    const x = anon(k);
    store(k, 0, x, 'a');
    run(k, { op: 'mprotect', p: 0, va: x, pages: 1, prot: PROT_READ });
    run(k, { op: 'mprotect', p: 0, va: x, pages: 1, prot: RW });
    assert.equal(!!(k.pte(0, x) & PTE_WRITE), small, `${profile}: small page`);
    const y = thp(k);
    run(k, { op: 'mprotect', p: 0, va: y, pages: 1, prot: PROT_READ });
    run(k, { op: 'mprotect', p: 0, va: y, pages: 1, prot: RW });
    assert.equal(!!(k.pte(0, y) & PTE_WRITE), split, `${profile}: a page of a split THP`);
    assert.ok(k.pte(0, y + 1) & PTE_WRITE, `${profile}: the other half never lost write`);
  }
});

test('GUP flags: FOLL_LONGTERM needs FOLL_PIN from 447f3e45c18a (5.10); GUP-fast takes only its whitelist; FOLL_ANON needs an anonymous VMA; FOLL_REMOTE (6.3) and FOLL_TOUCH (6.7) are internal', () => {
  for (const [profile, longtermGet] of [['5.9', 0], ['5.10', EINVAL], ['6.18', EINVAL]] as const) {
    const k = mk(profile);
    const x = anon(k);
    store(k, 0, x, 'a');
    assert.equal(errno(gup(k, x, FOLL_GET | FOLL_LONGTERM)), longtermGet, `${profile}: get_user_pages(FOLL_LONGTERM)`);
    assert.equal(errno(gup(k, x, FOLL_PIN | FOLL_LONGTERM)), 0, `${profile}: pin_user_pages(FOLL_LONGTERM)`);
    assert.equal(errno(gup(k, x, FOLL_PIN | FOLL_TOUCH, true)), EINVAL, `${profile}: GUP-fast with FOLL_TOUCH`);
    const f = must(run(k, { op: 'mmap', p: 0, file: 0, pages: 1, prot: PROT_READ, flags: MAP_PRIVATE }), 'mapping').va;
    assert.equal(errno(gup(k, f, FOLL_GET | FOLL_ANON)), EFAULT, `${profile}: FOLL_ANON on a file mapping`);
    assert.equal(errno(gup(k, x, FOLL_GET | FOLL_ANON)), 0, `${profile}: FOLL_ANON on anonymous memory`);
  }
  for (const [profile, remote, touch] of [['6.2', 0, 0], ['6.4', EINVAL, 0], ['6.5', EINVAL, 0], ['6.8', EINVAL, EINVAL]] as const) {
    const k = mk(profile);
    const x = anon(k);
    store(k, 0, x, 'a');
    assert.equal(errno(gup(k, x, FOLL_GET | FOLL_REMOTE)), remote, `${profile}: FOLL_REMOTE`);
    assert.equal(errno(gup(k, x, FOLL_GET | FOLL_TOUCH)), touch, `${profile}: FOLL_TOUCH`);
  }
});

test('GUP-fast falls back on a PROT_NONE mapping (pte_protnone) and the slow path says EFAULT; FOLL_FORCE reads it', () => {
  for (const profile of ['4.9', '5.10', '6.18']) {
    const k = mk(profile);
    const x = anon(k);
    store(k, 0, x, 'a');
    run(k, { op: 'mprotect', p: 0, va: x, pages: 1, prot: 0 });
    assert.equal(errno(gup(k, x, FOLL_GET, true)), EFAULT, `${profile}: get_user_pages_fast`);
    assert.equal(errno(gup(k, x, FOLL_GET | FOLL_FORCE)), 0, `${profile}: FOLL_FORCE read`);
  }
});

test('5.7-5.9: a CMA page GUP-fast takes for FOLL_GET|FOLL_LONGTERM is never migrated (only the slow path\'s pages are checked)', async () => {
  const { PG_CMA } = await import('../src/model/state.js');
  for (const [profile, inPlace] of [['5.9', true], ['5.7', true]] as const) {
    const k = mk(profile);
    k.allocZone = PG_CMA;
    const x = anon(k);
    store(k, 0, x, 'a');
    const f = k.pteFolio(0, x);
    must(gup(k, x, FOLL_GET | FOLL_LONGTERM | FOLL_WRITE, true), 'pin');
    assert.equal(k.pteFolio(0, x) === f, inPlace, profile);
    const y = anon(k);
    store(k, 0, y, 'b');
    run(k, { op: 'mprotect', p: 0, va: y, pages: 1, prot: PROT_READ }); // read-only PTE: GUP-fast cannot take it for writing
    const g = k.pteFolio(0, y);
    const r = gup(k, y, FOLL_GET | FOLL_LONGTERM, true);
    assert.equal(r.kind, 'pin');
    assert.equal(k.pteFolio(0, y) === g, true, `${profile}: a read lookup of a R/O PTE is taken by GUP-fast too`);
  }
});

test('GUP callers map errors: process_vm_writev says EFAULT for any GUP failure; io_uring passes the errno of page 0 only, a later page gives EFAULT', () => {
  // 6.4: P2PDMA memory can be mapped (6.2), and a long-term write pin of a file mapping is not refused yet (6.5)
  for (const [profile, uring0] of [
    ['6.4', 121 /* EREMOTEIO: is_pci_p2pdma_page() without FOLL_PCI_P2PDMA */],
    ['6.18', EFAULT /* check_vma_flags(): kernfs has page_mkwrite, so vma_needs_dirty_tracking(); before the page is looked at */],
  ] as const) {
    const k = mk(profile);
    const m = must(run(k, { op: 'p2pmem', pages: 2 }), 'file').fi;
    const y = anon(k, 1);
    const z = must(run(k, { op: 'mmap', p: 0, file: m, pages: 1, prot: RW, flags: MAP_SHARED }), 'mapping').va;
    assert.equal(z, y + 1, 'the P2PDMA page follows the anonymous one');
    store(k, 0, y, 'b');
    assert.equal(errno(gup(k, z, FOLL_PIN)), 121 /* EREMOTEIO */, `${profile}: pin_user_pages itself says EREMOTEIO`);
    assert.equal(errno(run(k, { op: 'process_vm_writev', p: 0, target: 0, va: z, value: c('v') })), EFAULT);
    assert.equal(errno(run(k, { op: 'io_uring_register', p: 0, va: z, n: 1 })), uring0, `${profile}: page 0 fails: its errno`);
    assert.equal(errno(run(k, { op: 'io_uring_register', p: 0, va: y, n: 2 })), EFAULT, `${profile}: page 1 fails: a short count, EFAULT`);
  }
});

test('an O_DIRECT read at or beyond the end of the file reads nothing and takes no page (__iomap_dio_rw)', () => {
  const k = mk('6.18');
  const x = anon(k);
  store(k, 0, x, 'a');
  const ref = k.fget(k.pteFolio(0, x), F_REF);
  assert.equal(run(k, { op: 'odirect_read', p: 0, file: 0, idx: 3, va: x }).kind, 'ok');
  assert.deepEqual(load(k, 0, x), { kind: 'value', v: c('a') });
  assert.equal(k.fget(k.pteFolio(0, x), F_REF), ref);
});

test('hugetlb FOLL_FORCE write to a PROT_READ private mapping: <=5.19 leaves the huge PTE writable, 6.1-6.12 refuse (f347454d0341), 6.18 writes and keeps it read-only (052ccfbcc6cd)', () => {
  for (const [profile, ok, storable] of [['5.10', true, true], ['5.19', true, true], ['6.1', false, false], ['6.12', false, false], ['6.18', true, false]] as const) {
    const k = mk(profile);
    const x = must(run(k, { op: 'mmap', p: 0, file: -1, pages: 1, prot: PROT_READ, flags: MAP_PRIVATE | MAP_HUGETLB }), 'mapping').va;
    load(k, 0, x);
    const w = run(k, { op: 'proc_mem_write', p: 0, va: x, value: c('X') });
    assert.equal(w.kind === 'ok', ok, `${profile}: ${JSON.stringify(w)}`);
    const s = store(k, 0, x, 'y');
    assert.equal(s.kind === 'ok', storable, `${profile}: a CPU store afterwards ${JSON.stringify(s)}`);
  }
});

test('do_huge_pmd_wp_page reuse uses maybe_pmd_mkwrite: a FOLL_FORCE write leaves a read-only THP mapping read-only', () => {
  for (const profile of ['5.7', '5.10', '6.18']) {
    const k = mk(profile);
    const x = thp(k);
    run(k, { op: 'fork', p: 0, child: 1 });
    run(k, { op: 'exit', p: 1 });
    run(k, { op: 'mprotect', p: 0, va: x, pages: 2, prot: PROT_READ });
    assert.equal(run(k, { op: 'proc_mem_write', p: 0, va: x, value: c('X') }).kind, 'ok', profile);
    assert.ok(!(k.pte(0, x) & PTE_WRITE), `${profile}: PMD still read-only`);
    assert.equal(errno(gup(k, x, FOLL_PIN | FOLL_WRITE, true)), EFAULT, `${profile}: no writable pin of a PROT_READ mapping`);
  }
});

test('a write to the huge zero PMD gets a new THP on <=5.7 and from 6.13 (1ced09e0331f); 5.8-6.12 split it', () => {
  for (const [profile, thpAfter] of [['5.7', true], ['5.10', false], ['6.12', false], ['6.18', true]] as const) {
    const k = mk(profile);
    const x = anon(k, 2);
    run(k, { op: 'madvise', p: 0, va: x, pages: 2, advice: 'MADV_HUGEPAGE' });
    load(k, 0, x); // huge zero PMD
    store(k, 0, x, 'a');
    assert.equal(!!(k.pte(0, x) & PTE_PMD), thpAfter, profile);
    assert.deepEqual(load(k, 0, x + 1), { kind: 'value', v: 0 }, profile);
  }
});

test('KSM <=5.18 merges a read-only, clean page whatever its references; 5.19 (PageAnonExclusive) and writable/dirty PTEs get the refcount test', () => {
  for (const [profile, merged] of [['5.7', true], ['5.19', false], ['6.18', false]] as const) {
    const k = mk(profile);
    const x = anon(k, 2);
    run(k, { op: 'madvise', p: 0, va: x, pages: 2, advice: 'MADV_MERGEABLE' });
    store(k, 0, x, 'a');
    store(k, 0, x + 1, 'a');
    run(k, { op: 'reclaim' });
    load(k, 0, x); // swap-in by a read: a read-only, clean PTE
    load(k, 0, x + 1);
    const f = k.pteFolio(0, x);
    must(gup(k, x, profile === '5.7' ? FOLL_GET : FOLL_PIN), 'pin');
    run(k, { op: 'ksm_scan' });
    assert.equal(k.pteFolio(0, x) !== f, merged, profile);
  }
});

test('<=5.8: a PTE-mapped THP page is reused only if no page of the THP is mapped twice (page_trans_huge_map_swapcount)', () => {
  for (const [profile, copied] of [['4.9', true], ['5.7', true]] as const) {
    const k = mk(profile);
    const x = thp(k);
    store(k, 0, x + 1, 'c');
    run(k, { op: 'fork', p: 0, child: 1 });
    run(k, { op: 'munmap', p: 1, va: x, pages: 1 }); // the child keeps page 1
    run(k, { op: 'mprotect', p: 0, va: x, pages: 1, prot: PROT_READ });
    run(k, { op: 'mprotect', p: 0, va: x, pages: 1, prot: RW });
    const f = k.pteFolio(0, x);
    store(k, 0, x, 'b');
    assert.equal(k.pteFolio(0, x) !== f, copied, profile);
  }
});

test('x86: a PROT_WRITE-only mapping can be read; PROT_NONE cannot', () => {
  const k = mk('6.18');
  const x = must(run(k, { op: 'mmap', p: 0, file: -1, pages: 1, prot: PROT_WRITE, flags: MAP_PRIVATE }), 'mapping').va;
  store(k, 0, x, 'a');
  assert.deepEqual(load(k, 0, x), { kind: 'value', v: c('a') });
  run(k, { op: 'mprotect', p: 0, va: x, pages: 1, prot: 0 });
  assert.equal(load(k, 0, x).kind, 'signal');
});

test('release_pin_handle: a second unpin is DOUBLE_RELEASE and drops nothing (it was EINVAL, silently)', () => {
  const k = mk('6.18');
  const x = anon(k);
  store(k, 0, x, 'a');
  const f = k.pteFolio(0, x);
  const ref = k.fget(f, F_REF);
  const h = must(gup(k, x, FOLL_PIN | FOLL_WRITE), 'pin').h;
  assert.deepEqual(run(k, { op: 'unpin', h, dirty: false, put: false }), { kind: 'ok' });
  assert.equal(k.fget(f, F_REF), ref);
  assert.equal(k.s[H_VIOLATIONS]! & VIOLATION_BIT.DOUBLE_RELEASE, 0);
  assert.deepEqual(run(k, { op: 'unpin', h, dirty: false, put: false }), { kind: 'ok' });
  assert.equal(k.fget(f, F_REF), ref, 'the model keeps the counts');
  assert.notEqual(k.s[H_VIOLATIONS]! & VIOLATION_BIT.DOUBLE_RELEASE, 0);
});

test('release_pin_handle: put_page on a FOLL_PIN page drops one reference and leaves it looking pinned (MISMATCHED_RELEASE)', () => {
  const k = mk('6.18');
  const x = anon(k);
  store(k, 0, x, 'a');
  const f = k.pteFolio(0, x);
  const ref = k.fget(f, F_REF);
  const h = must(gup(k, x, FOLL_PIN | FOLL_WRITE), 'pin').h;
  assert.deepEqual(run(k, { op: 'unpin', h, dirty: false, put: true }), { kind: 'ok' });
  assert.equal(k.fget(f, F_REF), ref + GUP_PIN_COUNTING_BIAS - 1);
  assert.equal(folio_maybe_dma_pinned(k, f), true);
  assert.notEqual(k.s[H_VIOLATIONS]! & VIOLATION_BIT.MISMATCHED_RELEASE, 0);
});

test('release_pin_handle: unpin of a FOLL_GET reference is MISMATCHED_RELEASE from 5.6 (FOLL_PIN), a plain put_page before', () => {
  for (const [profile, mismatched] of [['6.18', true], ['4.9', false]] as const) {
    const k = mk(profile);
    const x = anon(k);
    store(k, 0, x, 'a');
    const f = k.pteFolio(0, x);
    const ref = k.fget(f, F_REF);
    const h = must(gup(k, x, FOLL_GET | FOLL_WRITE), 'pin').h;
    run(k, { op: 'unpin', h, dirty: false, put: false });
    assert.equal((k.s[H_VIOLATIONS]! & VIOLATION_BIT.MISMATCHED_RELEASE) !== 0, mismatched, profile);
    assert.equal(k.fget(f, F_REF), mismatched ? ref + 1 : ref, profile);
  }
});

test('dma_write through a released handle: ACCESS_AFTER_RELEASE, and the write still lands', () => {
  const k = mk('6.18');
  const x = anon(k);
  store(k, 0, x, 'a');
  const h = must(gup(k, x, FOLL_PIN | FOLL_WRITE), 'pin').h;
  run(k, { op: 'unpin', h, dirty: false, put: false });
  assert.deepEqual(run(k, { op: 'dma_write', h, i: 0, value: c('z') }), { kind: 'ok' });
  assert.notEqual(k.s[H_VIOLATIONS]! & VIOLATION_BIT.ACCESS_AFTER_RELEASE, 0);
  assert.deepEqual(load(k, 0, x), { kind: 'value', v: c('z') });
});
