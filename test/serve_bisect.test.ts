// POST /api/bisect and GET /api/profiles of `pinlab serve` (src/serve/bisect_api.ts):
// the knobs behind a change between adjacent profiles (the page's Δ marks) and
// the "what if" of one knob switched on a profile, over HTTP as the page asks.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serve, type Server } from '../src/serve.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const roPin = readFileSync(`${root}/corpus/threads/t002-read-only-pin-after-fork.pin`, 'utf8');
const ioUring = readFileSync(`${root}/corpus/04-io-uring-fork.pin`, 'utf8');
const race = readFileSync(`${root}/corpus/40-io-uring-fork-race.pin`, 'utf8');

let srv: Server;
before(async () => {
  srv = await serve(0, { workers: 2 });
});
after(async () => {
  await srv.close();
});

async function call(path: string, body?: unknown): Promise<{ status: number; type: string; json: any }> {
  const r = await fetch(srv.url + path.slice(1), body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, type: r.headers.get('content-type') ?? '', json: await r.json() };
}

type Knob = { name: string; commit: string; title: string; switch: 'on' | 'off'; removedBy?: string };
type Change = { what: string; key: string; from: string; to: string; knobs: Knob[]; together: boolean; step: { line: number } | null };

test('POST /api/bisect between adjacent profiles: the pair that acts only together, with commits and the step', async () => {
  const r = await call('/api/bisect', { text: roPin, from: '5.8', to: '5.9' });
  assert.equal(r.status, 200);
  assert.equal(r.json.ok, true);
  assert.equal(r.json.from, '5.8');
  assert.equal(r.json.to, '5.9');
  assert.deepEqual(r.json.differing.map((k: Knob) => k.name).sort(), ['fork_early_cow_pinned', 'gup_force_cow_break', 'wp_reuse_page_count']);
  const seen = (r.json.changes as Change[]).find((c) => c.key === 'value:seen')!;
  assert.equal(seen.from, "'w'");
  assert.equal(seen.to, "'v'");
  assert.equal(seen.together, true);
  assert.deepEqual(seen.knobs.map((k) => `${k.switch}:${k.commit}`).sort(), ['off:17839856fd58', 'on:09854ba94c6a']);
  assert.equal(seen.knobs.find((k) => k.switch === 'off')!.removedBy, 'a308c71bf1e6');
  assert.equal(seen.step?.line, 16);
});

test('POST /api/bisect with toggle: what if 5.9 lacked 70e806e4e645, and a knob that changes nothing', async () => {
  const r = await call('/api/bisect', { text: ioUring, from: '5.9', toggle: 'fork_early_cow_pinned' });
  assert.equal(r.json.ok, true);
  assert.equal(r.json.to, '5.9-fork_early_cow_pinned');
  const v = (r.json.changes as Change[]).find((c) => c.key === 'value:r')!;
  assert.equal(v.from, "'b'");
  assert.equal(v.to, "'a'");
  assert.deepEqual(v.knobs.map((k) => `${k.switch}:${k.name}`), ['off:fork_early_cow_pinned']);
  assert.ok((r.json.changes as Change[]).some((c) => c.key === 'violation:DMA_STALE' && c.to.startsWith('yes')));
  // switching a knob on that this scenario never reaches: nothing changes
  const none = await call('/api/bisect', { text: ioUring, from: '5.9', toggle: 'madv_collapse' });
  assert.equal(none.json.ok, true);
  assert.equal(none.json.to, '5.9+madv_collapse');
  assert.deepEqual(none.json.changes, []);
});

test('POST /api/bisect on a race compares outcome sets', async () => {
  const r = await call('/api/bisect', { text: race, from: '5.8', to: '5.9' });
  assert.equal(r.json.ok, true);
  const v = (r.json.changes as Change[]).find((c) => c.key === 'value:r')!;
  assert.equal(v.from, "one of 'a', 'b'");
  assert.deepEqual(v.knobs.map((k) => k.commit), ['70e806e4e645']);
});

test('/api/bisect errors: 400 for missing or conflicting arguments, 405, ok:false for unknown names and parse errors, the time limit', async () => {
  for (const [body, what] of [
    [{ text: roPin, to: '5.9' }, /from/],
    [{ text: roPin, from: '5.8' }, /to .* or toggle/],
    [{ text: roPin, from: '5.8', to: '5.9', toggle: 'io_uring' }, /not both/],
    [{ from: '5.8', to: '5.9' }, /text/],
    [{ text: roPin, from: '5.8', to: 5.9 }, /to: a profile name/],
  ] as const) {
    const r = await call('/api/bisect', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.type, /^application\/json/);
    assert.match(r.json.error, what);
  }
  const get = await fetch(srv.url + 'api/bisect');
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  const knob = await call('/api/bisect', { text: roPin, from: '5.8', toggle: 'no_such_knob' });
  assert.equal(knob.json.ok, false);
  assert.match(knob.json.error.message, /unknown knob 'no_such_knob'/);
  const prof = await call('/api/bisect', { text: roPin, from: '5.8', to: '5.99' });
  assert.equal(prof.json.ok, false);
  assert.match(prof.json.error.message, /unknown kernel profile '5.99'/);
  const parse = await call('/api/bisect', { text: 'scenario x\nA: y = \n', from: '5.8', to: '5.9' });
  assert.equal(parse.json.ok, false);
  assert.equal(typeof parse.json.error.line, 'number');
  // a limit of 1 ms: the first profile run may start, no second one does
  const slow = await call('/api/bisect', { text: race, from: '5.8', to: '5.9', limits: { timeMs: 1 } });
  assert.equal(slow.status, 200);
  assert.equal(slow.json.ok, false);
  assert.match(slow.json.error.message, /time limit/);
});

test('GET /api/profiles: versions with their knobs, knobs with commit and title', async () => {
  const r = await call('/api/profiles');
  assert.equal(r.status, 200);
  const v59 = r.json.versions.find((v: { version: string }) => v.version === '5.9');
  assert.ok(v59.knobs.includes('wp_reuse_page_count'));
  assert.ok(!v59.knobs.includes('gup_force_cow_break'));
  const k = r.json.knobs.find((x: { name: string }) => x.name === 'fork_early_cow_pinned');
  assert.equal(k.commit, '70e806e4e645');
  assert.match(k.title, /early cow/);
  const post = await fetch(srv.url + 'api/profiles', { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
});
