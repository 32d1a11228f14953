// The web page's JSON API (src/serve.ts), over HTTP on 127.0.0.1: the same
// parser, checker and interpreter as the CLI. The page itself is tested in a
// real browser by test/e2e/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serve } from '../src/serve.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const scenario84 = readFileSync(`${root}/corpus/84-ro-pin-previously-shared.pin`, 'utf8');

async function post(url: string, path: string, body: unknown): Promise<any> {
  const r = await fetch(url + path, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  return r.json();
}

test('serve: corpus, check, run (matrix with knob diffs) and steps (state per step)', async (t) => {
  const srv = await serve(0);
  const url = srv.url;
  t.after(() => srv.close());
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const corpus = (await (await fetch(url + 'api/corpus')).json()) as { id: string; group: string }[];
  assert.ok(corpus.some((c) => c.id === '84-ro-pin-previously-shared' && c.group === 'corpus'));
  assert.ok(corpus.some((c) => c.id.startsWith('real/')));
  const one = (await (await fetch(url + 'api/corpus/84-ro-pin-previously-shared')).json()) as { text: string };
  assert.equal(one.text, scenario84);

  const bad = await post(url, 'api/check', { text: 'scenario x\nA: x = mmap(anon 1)\n' });
  assert.deepEqual([bad.ok, bad.error.line, bad.error.column], [false, 2, 18]);
  assert.match(bad.error.message, /expected/);

  const run = await post(url, 'api/run', { text: scenario84 });
  assert.deepEqual(run.profiles, ['5.8', '5.9', '5.18', '5.19', '6.18']);
  const kinds = (k: string) => run.runs.find((r: any) => r.kernel === k).violations.map((v: any) => v.kind);
  assert.deepEqual(kinds('5.9'), ['DMA_LOST']);
  assert.deepEqual(kinds('6.18'), []);
  const diff = run.knobDiffs.find((d: any) => d.from === '5.18' && d.to === '5.19');
  assert.ok(diff.added.some((k: any) => k.name === 'gup_unshare_anon' && k.commit));

  const steps = await post(url, 'api/steps', { text: scenario84, kernel: '5.9' });
  const violating = steps.steps.find((s: any) => s.violations.length);
  assert.equal(violating.line, 18);
  assert.equal(violating.violations[0].kind, 'DMA_LOST');
  const st = violating.state;
  const pin = st.pins.find((p: any) => p.name === 'pin');
  const pte = st.procs[0].ptes.find((e: any) => e.va === 0);
  assert.notEqual(pin.folios[0], pte.folio, 'on 5.9 the device holds a folio the process no longer maps');
  const ok = await post(url, 'api/steps', { text: scenario84, kernel: '6.18' });
  const last = ok.steps.at(-1).state;
  assert.equal(last.pins.find((p: any) => p.name === 'pin').folios[0], last.procs[0].ptes.find((e: any) => e.va === 0).folio);
});
