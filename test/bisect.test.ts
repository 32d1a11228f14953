// pinlab bisect (src/bisect.ts): on corpus scenarios, the knobs it names must be
// the commits the kernel history (src/profiles/knobs.ts, docs/) says changed
// the outcome: the commit ids and titles below are written out from that
// history, not read back from the bisector. Includes two knobs that act only
// together (09854ba94c6a with the end of 17839856fd58), and differing knobs
// that are irrelevant and must not be named.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseScenario } from '../src/lang/parser.js';
import { checkScenario } from '../src/lang/check.js';
import { Prepared } from '../src/interp/interpreter.js';
import { parseProfileText } from '../src/profiles/profiles.js';
import { Bisector, ddmin, minimize, timeline, type BisectResult, type Change } from '../src/bisect.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = `${root}/dist/src/cli.js`;

function prep(rel: string): Prepared {
  const file = `${root}/${rel}`;
  const sc = parseScenario(readFileSync(file, 'utf8'), file);
  return new Prepared(sc, checkScenario(sc));
}

function bisect(rel: string, from: string, to: string): BisectResult {
  return new Bisector(prep(rel), { run: { maxStates: 200_000 } }).bisect(parseProfileText(from), parseProfileText(to));
}

/** The change of one observable (by key, e.g. `value:seen`, `violation:DMA_LOST`, `runs`). */
function change(r: BisectResult, key: string): Change {
  const c = r.changes.find((x) => x.key === key);
  assert.ok(c, `${r.from} -> ${r.to}: no change of ${key} (changes: ${r.changes.map((x) => x.key).join(', ') || 'none'})`);
  return c;
}

/** Every change names exactly these knobs (name:switch), confirmed both ways. */
function assertKnobs(r: BisectResult, expected: { name: string; commit: string; switch: 'on' | 'off'; title?: RegExp; removedBy?: string }[], together: boolean): void {
  assert.ok(r.changes.length > 0, `${r.from} -> ${r.to}: nothing changed`);
  for (const c of r.changes) {
    assert.deepEqual(
      c.knobs.map((k) => `${k.switch === 'on' ? '+' : '-'}${k.name} ${k.commit}`).sort(),
      expected.map((k) => `${k.switch === 'on' ? '+' : '-'}${k.name} ${k.commit}`).sort(),
      `${r.from} -> ${r.to}: ${c.what}`,
    );
    for (const e of expected) {
      const k = c.knobs.find((x) => x.name === e.name)!;
      if (e.title) assert.match(k.title, e.title);
      if (e.removedBy) assert.equal(k.removedBy, e.removedBy);
    }
    assert.equal(c.together, together, `${c.what}: together`);
    assert.deepEqual(c.confirmed, { from: true, to: true }, `${c.what}: confirmed both ways`);
    assert.equal(c.note, undefined);
  }
}

const WP_PAGE_COUNT = { name: 'wp_reuse_page_count', commit: '09854ba94c6a', switch: 'on' as const, title: /do_wp_page\(\) simplification/ };
const END_OF_COW_BREAK = { name: 'gup_force_cow_break', commit: '17839856fd58', switch: 'off' as const, title: /COW can break either way/, removedBy: 'a308c71bf1e6' };
const COW_BREAK = { name: 'gup_force_cow_break', commit: '17839856fd58', switch: 'on' as const };
const EARLY_COW = { name: 'fork_early_cow_pinned', commit: '70e806e4e645', switch: 'on' as const, title: /early cow for pinned pages during fork/ };
const ANON_EXCLUSIVE = { name: 'page_anon_exclusive', commit: '6c287605fd56', switch: 'on' as const, title: /PG_anon_exclusive/ };
const UNSHARE = { name: 'gup_unshare_anon', commit: 'a7f226604170', switch: 'on' as const, title: /FAULT_FLAG_UNSHARE/ };

// ---- ddmin itself

test('ddmin finds a 1-minimal set; minimize prefers a single sufficient element', () => {
  const need = (xs: string[]) => (s: readonly string[]) => xs.every((x) => s.includes(x));
  assert.deepEqual(ddmin(['a', 'b', 'c', 'd', 'e', 'f', 'g'], need(['b', 'f'])), ['b', 'f']);
  assert.deepEqual(ddmin(['a', 'b', 'c', 'd'], need(['c'])), ['c']);
  assert.deepEqual(ddmin(['a', 'b', 'c'], need(['a', 'b', 'c'])), ['a', 'b', 'c']);
  let calls = 0;
  const counted = (s: readonly number[]) => (calls++, s.includes(3) && s.includes(17));
  assert.deepEqual(ddmin([...Array(32).keys()], counted), [3, 17]);
  assert.ok(calls < 80, `ddmin took ${calls} tests for 32 elements`);
  // a non-monotone test: {x, y} works, and so does {y} alone
  assert.deepEqual(minimize(['x', 'y'], (s) => s.includes('y')), ['y']);
});

// ---- the seed thread 002 stories

test('ro-pin-after-fork 5.8 -> 5.9: do_wp_page by page_count and the end of the GUP-time COW break, only together', () => {
  const r = bisect('corpus/threads/t002-read-only-pin-after-fork.pin', '5.8', '5.9');
  assert.equal(change(r, 'value:seen').from, "'w'");
  assert.equal(change(r, 'value:seen').to, "'v'");
  change(r, 'violation:DMA_LOST');
  // fork_early_cow_pinned also differs, but the child is gone before the pin: it must not be named
  assert.ok(r.differing.some((k) => k.name === 'fork_early_cow_pinned'));
  assertKnobs(r, [WP_PAGE_COUNT, END_OF_COW_BREAK], true);
  // the runs part at the pin: 5.8 breaks COW there (a write fault), the switched profile pins the shared page as it is
  const step = change(r, 'value:seen').step!;
  assert.equal(step.line, 16);
  assert.match(step.text, /pin_user_pages/);
  assert.match(step.from ?? '', /faultin_page/);
});

test('ro-pin-after-fork 5.18 -> 5.19: the anon-exclusive / unshare pair; the fork-time anon-only checks are not named', () => {
  const r = bisect('corpus/threads/t002-read-only-pin-after-fork.pin', '5.18', '5.19');
  assert.ok(r.differing.some((k) => k.name === 'fork_early_cow_anon_only'));
  assertKnobs(r, [ANON_EXCLUSIVE, UNSHARE], true);
  assert.match(change(r, 'value:seen').step?.to ?? '', /unshare/);
});

test('pinned-then-forked-child-lives 5.8 -> 5.9: early COW at fork alone', () => {
  const r = bisect('corpus/threads/t002-pinned-then-forked-child-lives.pin', '5.8', '5.9');
  assertKnobs(r, [EARLY_COW], false);
  assert.equal(change(r, 'value:parent_sees').step?.line, 15);
});

test('vmsplice-reads-parent-write 5.7 -> 5.8: the GUP-time COW break; thp_cow_split_pmd differs and is not named', () => {
  const r = bisect('corpus/threads/t002-vmsplice-reads-parent-write.pin', '5.7', '5.8');
  assert.ok(r.differing.some((k) => k.name === 'thp_cow_split_pmd'));
  assertKnobs(r, [COW_BREAK], false);
});

// ---- corpus scenarios

test('io-uring-fork (child alive) 5.8 -> 5.9: 70e806e4e645 alone; the do_wp_page and COW-break knobs are irrelevant', () => {
  const r = bisect('corpus/04-io-uring-fork.pin', '5.8', '5.9');
  assert.deepEqual(r.differing.map((k) => k.name).sort(), ['fork_early_cow_pinned', 'gup_force_cow_break', 'wp_reuse_page_count']);
  assertKnobs(r, [EARLY_COW], false);
  assert.equal(change(r, 'value:r').from, "'a'");
  assert.equal(change(r, 'value:r').to, "'b'");
  assert.equal(change(r, 'value:r').step?.line, 12);
  assert.match(change(r, 'value:r').step?.to ?? '', /copy_present_page/);
});

test('io-uring-fork 4.9 -> 5.7: io_uring itself (the scenario cannot run before edafccee56ff)', () => {
  const r = bisect('corpus/04-io-uring-fork.pin', '4.9', '5.7');
  const c = change(r, 'runs');
  assert.match(c.from, /^no/);
  assert.equal(c.to, 'yes');
  assert.deepEqual(
    c.knobs.map((k) => `${k.name} ${k.commit}`),
    ['io_uring edafccee56ff'],
  );
  // only the interface: values on a profile that cannot run are not compared
  assert.deepEqual(r.changes.map((x) => x.key), ['runs']);
  // and 4.8 -> 4.9 is no boundary: the error names the profile, the comparison does not
  assert.deepEqual(bisect('corpus/04-io-uring-fork.pin', '4.8', '4.9').changes, []);
});

test('vmsplice-parent-unmap 5.7 -> 5.8: 17839856fd58', () => {
  assertKnobs(bisect('corpus/01-vmsplice-parent-unmap.pin', '5.7', '5.8'), [COW_BREAK], false);
});

test('vmsplice-before-fork-parent-unmap 5.8 -> 5.9: page_count reuse alone (the COW break ends too, and does not matter)', () => {
  const r = bisect('corpus/02-vmsplice-before-fork-parent-unmap.pin', '5.8', '5.9');
  assertKnobs(r, [WP_PAGE_COUNT], false);
});

test('vmsplice-hugetlb-child-unmap 5.8 -> 5.9: the revert a308c71bf1e6 alone (hugetlb has no page_count reuse)', () => {
  assertKnobs(bisect('corpus/03-vmsplice-hugetlb-child-unmap.pin', '5.8', '5.9'), [END_OF_COW_BREAK], false);
});

test('ro-longterm-pin-zero-page 6.1 -> 6.2: reliable R/O long-term pinning in COW mappings (84209e87c696) among 8 differing knobs', () => {
  const r = bisect('corpus/07-ro-longterm-pin-zero-page.pin', '6.1', '6.2');
  assert.equal(r.differing.length, 8);
  assertKnobs(r, [{ name: 'gup_unshare_cow_mapping', commit: '84209e87c696', switch: 'on', title: /reliable R\/O long-term pinning in COW mappings/ }], false);
});

test("io-uring-private-ext4 6.4 -> 6.5: io_uring's own file check ends (removed by 34ed8d0dcd69); the GUP file checks do not apply to a private mapping", () => {
  const r = bisect('corpus/14-io-uring-private-ext4.pin', '6.4', '6.5');
  assertKnobs(r, [{ name: 'io_uring_vma_file_check', commit: 'edafccee56ff', switch: 'off', removedBy: '34ed8d0dcd69' }], false);
  assert.equal(change(r, 'value:p').from, 'EOPNOTSUPP');
});

test('longterm-write-pin-shared-ext4 6.4 -> 6.5: 8ac268436e6d alone (slow GUP); the GUP-fast check is irrelevant', () => {
  const r = bisect('corpus/16-longterm-write-pin-shared-ext4.pin', '6.4', '6.5');
  assert.ok(r.differing.some((k) => k.name === 'gup_fast_longterm_file_check'));
  assertKnobs(r, [{ name: 'writable_file_mapping_check', commit: '8ac268436e6d', switch: 'on', title: /GUP-nonfast writing to file-backed/ }], false);
});

test('fast-longterm-write-pin-of-file 6.4 -> 6.5: the GUP-fast and slow-path file checks only together', () => {
  const r = bisect('corpus/threads/t000-fast-longterm-write-pin-of-file.pin', '6.4', '6.5');
  assertKnobs(
    r,
    [
      { name: 'writable_file_mapping_check', commit: '8ac268436e6d', switch: 'on' },
      { name: 'gup_fast_longterm_file_check', commit: 'a6e79df92e4a', switch: 'on', title: /GUP-fast writing to file-backed/ },
    ],
    true,
  );
});

test('remote-pin-writeback: 6.1 has d824ec2a1546 by backport (6.1.28), mainline 6.2 does not', () => {
  const up = bisect('corpus/26-remote-pin-writeback.pin', '5.19', '6.1');
  assertKnobs(up, [{ name: 'vmscan_skip_pinned', commit: 'd824ec2a1546', switch: 'on' }], false);
  assert.equal(up.differing.length, 10);
  const down = bisect('corpus/26-remote-pin-writeback.pin', '6.1', '6.2');
  assertKnobs(down, [{ name: 'vmscan_skip_pinned', commit: 'd824ec2a1546', switch: 'off' }], false);
});

test('private-guest-page-migrated 6.6 -> 6.8: guest_memfd (a7800aa80ea4) makes it run', () => {
  const r = bisect('corpus/threads/t004-private-guest-page-migrated.pin', '6.6', '6.8');
  assert.deepEqual(change(r, 'runs').knobs.map((k) => k.commit), ['a7800aa80ea4']);
});

test('nothing differs: empty changes (dontneed-after-pin 5.8 -> 5.9, three knobs differ)', () => {
  const r = bisect('corpus/19-dontneed-after-pin.pin', '5.8', '5.9');
  assert.equal(r.differing.length, 3);
  assert.deepEqual(r.changes, []);
});

// ---- races: outcome sets

test('dirty-cow-race 4.8 -> 4.9 (explored): FOLL_COW (19be0eaffa3a) closes the race', () => {
  const r = bisect('corpus/24-dirty-cow-race.pin', '4.8', '4.9');
  assert.equal(change(r, 'violation:PRIVATE_WRITE_LEAK').from, 'sometimes');
  assert.equal(change(r, 'violation:PRIVATE_WRITE_LEAK').to, 'never');
  assertKnobs(r, [{ name: 'gup_foll_cow', commit: '19be0eaffa3a', switch: 'on', title: /FOLL_WRITE games/ }], false);
});

test('io-uring-fork-race 5.8 -> 5.9 (explored): 70e806e4e645 alone; outcome set {a, b} -> {b}', () => {
  const r = bisect('corpus/40-io-uring-fork-race.pin', '5.8', '5.9');
  assert.equal(change(r, 'value:r').from, "one of 'a', 'b'");
  assert.equal(change(r, 'value:r').to, "'b'");
  assertKnobs(r, [EARLY_COW], false);
});

test('ro-pin-previously-shared-race 5.8 -> 5.9 (explored): the pair again, together', () => {
  const r = bisect('corpus/39-ro-pin-previously-shared-race.pin', '5.8', '5.9');
  assert.equal(change(r, 'violation:DMA_STALE').to, 'sometimes');
  assertKnobs(r, [WP_PAGE_COUNT, END_OF_COW_BREAK], true);
});

// ---- the timeline

test('timeline of ro-pin-after-fork: two boundaries, 5.8|5.9 and 5.18|5.19', () => {
  const t = timeline(prep('corpus/threads/t002-read-only-pin-after-fork.pin'));
  assert.deepEqual(
    t.boundaries.map((b) => `${b.from}->${b.to}`),
    ['5.8->5.9', '5.18->5.19'],
  );
  assert.deepEqual(t.spans.map((s) => `${s[0]}..${s[s.length - 1]}`), ['4.8..5.8', '5.9..5.18', '5.19..6.18']);
});

// ---- the command

test('pinlab bisect --json: the documented shape; input errors exit 2', () => {
  const r = spawnSync(process.execPath, [cli, 'bisect', `${root}/corpus/threads/t002-read-only-pin-after-fork.pin`, '--from', '5.8', '--to', '5.9', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.from, '5.8');
  assert.equal(doc.to, '5.9');
  const seen = doc.changes.find((c: { key: string }) => c.key === 'value:seen');
  assert.equal(seen.what, 'seen');
  assert.deepEqual(seen.knobs.map((k: { commit: string }) => k.commit).sort(), ['09854ba94c6a', '17839856fd58']);
  for (const k of seen.knobs) assert.deepEqual(Object.keys(k).slice(0, 3), ['name', 'commit', 'title']);
  assert.equal(seen.step.line, 16);

  const none = spawnSync(process.execPath, [cli, 'bisect', `${root}/corpus/19-dontneed-after-pin.pin`, '--from', '5.8', '--to', '5.9', '--json'], { encoding: 'utf8' });
  assert.equal(none.status, 0, none.stderr);
  assert.deepEqual(JSON.parse(none.stdout).changes, []);

  const half = spawnSync(process.execPath, [cli, 'bisect', `${root}/corpus/04-io-uring-fork.pin`, '--from', '5.8'], { encoding: 'utf8' });
  assert.equal(half.status, 2);
  assert.match(half.stderr, /both --from and --to/);
  const typo = spawnSync(process.execPath, [cli, 'bisect', `${root}/corpus/04-io-uring-fork.pin`, '--from', '5.8', '--to', '5.9-fork_early_cow_pined'], { encoding: 'utf8' });
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /did you mean 'fork_early_cow_pinned'/);
});
