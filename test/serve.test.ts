// The web page's JSON API (src/serve.ts), over HTTP on 127.0.0.1: the same
// parser, checker and interpreter as the CLI, runs in worker threads under
// per-request limits, the Host/Origin checks and the JSON errors. The page
// itself is tested in a real browser by test/e2e/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { serve, type Server } from '../src/serve.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const scenario84 = readFileSync(`${root}/corpus/84-ro-pin-previously-shared.pin`, 'utf8');
const scenario24 = readFileSync(`${root}/corpus/24-dirty-cow-race.pin`, 'utf8');
const scenario51 = readFileSync(`${root}/corpus/51-gup-fast-fork-race.pin`, 'utf8');
const scenario41 = readFileSync(`${root}/corpus/41-longterm-pin-writeback-race.pin`, 'utf8');

/** Five racing threads: ~136,000 states on 6.18, several seconds to explore in full. */
const RACE5 = readFileSync(`${root}/test/e2e/five-thread-race.pin`, 'utf8');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(url: string, path: string, body: unknown): Promise<any> {
  const r = await fetch(url + path, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  return r.json();
}

/** A raw request (fetch cannot set Host). */
function raw(url: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; type: string; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A JSON error {"error": "..."} with no JavaScript in it. */
function assertJsonError(r: { status: number; type: string; body: string }, status: number, what: RegExp): void {
  assert.equal(r.status, status, r.body);
  assert.match(r.type, /^application\/json/);
  const v = JSON.parse(r.body) as { error: string };
  assert.deepEqual(Object.keys(v), ['error']);
  assert.match(v.error, what);
  assert.doesNotMatch(v.error, /SyntaxError|TypeError|Unexpected token|at .*\.js|position \d/);
}

/** Read NDJSON lines of a streamed answer until `until` holds for one; returns the lines so far and the reader. */
async function readLines(r: Response, until: (m: any) => boolean): Promise<{ lines: any[]; reader: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = r.body!.getReader();
  const dec = new TextDecoder();
  const lines: any[] = [];
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buf += dec.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      lines.push(m);
      if (until(m)) return { lines, reader };
    }
    if (done) return { lines, reader };
  }
}

async function eventually(what: string, ok: () => boolean, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!ok()) {
    if (Date.now() > end) assert.fail(what);
    await sleep(20);
  }
}

test('serve: corpus, check, run (matrix with knob diffs) and steps (state per step, knobs in the trace)', async (t) => {
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
  assert.equal(steps.mode, 'written');
  const violating = steps.steps.find((s: any) => s.violations.length);
  assert.equal(violating.line, 18);
  assert.equal(violating.violations[0].kind, 'DMA_LOST');
  const st = violating.state;
  const pin = st.pins.find((p: any) => p.name === 'pin');
  const pte = st.procs[0].ptes.find((e: any) => e.va === 0);
  assert.notEqual(pin.folios[0], pte.folio, 'on 5.9 the device holds a folio the process no longer maps');
  // why: the write fault's trace names do_wp_page's decision and the knobs it went through, with their commits
  const wp = steps.steps.find((s: any) => s.line === 17).trace.find((e: any) => e.fn === 'do_wp_page');
  assert.match(wp.what, /page_count \d+ != 1 -> wp_page_copy/);
  assert.deepEqual(
    wp.knobs.find((k: any) => k.name === 'wp_reuse_page_count'),
    { name: 'wp_reuse_page_count', on: true, commit: '09854ba94c6a' },
  );
  const ok = await post(url, 'api/steps', { text: scenario84, kernel: '6.18' });
  const last = ok.steps.at(-1).state;
  assert.equal(last.pins.find((p: any) => p.name === 'pin').folios[0], last.procs[0].ptes.find((e: any) => e.va === 0).folio);
});

test('serve: a foreign Host or Origin gets 403; the page\'s own origin is served', async (t) => {
  const srv = await serve(0);
  t.after(() => srv.close());
  const port = new URL(srv.url).port;
  const body = JSON.stringify({ text: scenario84 });
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/check', headers: { host: 'evil.example', 'content-type': 'application/json' }, body }), 403, /Host/);
  assertJsonError(await raw(srv.url, { path: '/api/corpus', headers: { host: `evil.example:${port}` } }), 403, /Host/);
  assertJsonError(await raw(srv.url, { path: '/', headers: { host: '127.0.0.1.evil.example' } }), 403, /Host/);
  assertJsonError(
    await raw(srv.url, { method: 'POST', path: '/api/run', headers: { host: 'evil.example', origin: 'http://evil.example' }, body }),
    403,
    /forbidden/,
  );
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/run', headers: { host: `127.0.0.1:${port}`, origin: 'http://evil.example' }, body }), 403, /origin/);
  // another loopback port is another origin
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/check', headers: { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:1` }, body }), 403, /origin/);
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/check', headers: { host: `127.0.0.1:${port}`, origin: 'null' }, body }), 403, /origin/);
  // the page's own origin, and the other loopback names
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
    const r = await raw(srv.url, { method: 'POST', path: '/api/check', headers: { host, origin: `http://${host.toLowerCase()}` }, body });
    assert.equal(r.status, 200, `${host}: ${r.body}`);
    assert.equal(JSON.parse(r.body).ok, true);
  }
  assert.equal((await raw(srv.url, { path: '/', headers: { host: `localhost:${port}` } })).status, 200);
});

test('serve: malformed JSON 400, oversized body 413, wrong method 405, unknown endpoint 404: JSON errors', async (t) => {
  const srv = await serve(0);
  t.after(() => srv.close());
  const host = new URL(srv.url).host;
  const h = { host, 'content-type': 'application/json' };
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/run', headers: h, body: '{"text": "scenario x' }), 400, /malformed JSON/);
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/check', headers: h, body: '' }), 400, /malformed JSON/);
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/steps', headers: h, body: '[1, 2]' }), 400, /object/);
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/run', headers: h, body: '{"txt": "scenario x"}' }), 400, /text/);
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/run', headers: h, body: JSON.stringify({ text: 'x', limits: { maxStates: -1 } }) }), 400, /maxStates/);
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/steps', headers: h, body: JSON.stringify({ text: scenario24, schedule: [{ thread: 'a' }] }) }), 400, /schedule/);
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/steps', headers: h, body: JSON.stringify({ text: scenario24, kernel: 5 }) }), 400, /kernel/);
  assertJsonError(await raw(srv.url, { method: 'POST', path: '/api/check', headers: h, body: JSON.stringify({ text: 'x'.repeat(2 << 20) }) }), 413, /too large/);
  // fetch too (it sends the whole body, then reads the answer)
  const big = await fetch(srv.url + 'api/run', { method: 'POST', body: JSON.stringify({ text: 'x'.repeat(3 << 20) }) });
  assert.equal(big.status, 413);
  assert.match(((await big.json()) as { error: string }).error, /too large/);
  assertJsonError(await raw(srv.url, { path: '/api/run', headers: { host } }), 405, /POST/);
  assertJsonError(await raw(srv.url, { method: 'DELETE', path: '/api/corpus', headers: { host } }), 405, /GET/);
  assertJsonError(await raw(srv.url, { path: '/api/nothing', headers: { host } }), 404, /endpoint/);
  assertJsonError(await raw(srv.url, { path: '/api/corpus/no-such-scenario', headers: { host } }), 404, /no corpus scenario/);
  assertJsonError(await raw(srv.url, { path: '/api/%E0%A4%A', headers: { host } }), 400, /malformed URL/);
  // a scenario error is a result (the editor shows it), not an HTTP error
  const r = await post(srv.url, 'api/run', { text: 'scenario x\nA: x = mmap(anon 1)\n' });
  assert.equal(r.ok, false);
  assert.equal(r.error.line, 2);
});

test('serve: a bounded exploration is INCOMPLETE with its bound and counts, never passed', async (t) => {
  const srv = await serve(0);
  t.after(() => srv.close());
  // the states bound: the explorer's own max-states
  const r = await post(srv.url, 'api/run', { text: RACE5, limits: { maxStates: 2000 } });
  assert.equal(r.ok, true);
  assert.deepEqual(r.limits.maxStates, 2000);
  const x = r.runs[0];
  assert.equal(x.explored.complete, false);
  assert.equal(x.explored.bound, 'max-states');
  assert.equal(x.explored.states, 2000);
  assert.ok(x.explored.transitions > 2000);
  const never = x.checks.find((c: any) => c.clause.startsWith('never'));
  assert.equal(never.status, 'failed');
  assert.match(never.reason, /incomplete/);
  assert.ok(!x.checks.some((c: any) => c.status === 'passed' && c.clause.startsWith('never')), 'no never clause passes an incomplete search');
  // the time bound: the request's wall-time limit stops the search; no verdict, no pass
  const t0 = Date.now();
  const timed = await post(srv.url, 'api/run', { text: RACE5, limits: { timeMs: 600 } });
  const ms = Date.now() - t0;
  assert.ok(ms < 10_000, `the time limit stopped the run (${ms} ms)`);
  const y = timed.runs[0];
  assert.equal(y.explored.complete, false);
  assert.equal(y.explored.bound, 'time');
  assert.ok(y.explored.states > 0 && y.explored.states < 136_000, `stopped after ${y.explored.states} states`);
  assert.ok(y.checks.length === 2 && y.checks.every((c: any) => c.status === 'not explored' && /time limit/.test(c.reason)), JSON.stringify(y.checks));
  // a request cannot raise the server's limits
  const capped = await post(srv.url, 'api/run', { text: scenario24, limits: { maxStates: 1e9, timeMs: 1e9 } });
  assert.deepEqual(capped.limits, srv.status().limits);
  assert.ok(capped.runs.every((x: any) => x.explored.complete));
});

test('serve: while an exploding exploration runs, /api/corpus answers in under a second', async (t) => {
  const srv: Server = await serve(0, { timeMs: 20_000, maxStates: 5_000_000 });
  t.after(() => srv.close());
  const ac = new AbortController();
  const r = await fetch(srv.url + 'api/run', { method: 'POST', body: JSON.stringify({ text: RACE5 }), headers: { accept: 'application/x-ndjson' }, signal: ac.signal });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /ndjson/);
  // the exploration is under way: progress lines with states and states/s
  const { lines } = await readLines(r, (m) => m.progress?.states > 2000);
  const p = lines.at(-1).progress;
  assert.equal(p.kernel, '6.18');
  assert.ok(p.statesPerSec > 0 && p.transitions > p.states);
  assert.equal(srv.status().running, 1);
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const c = await fetch(srv.url + 'api/corpus');
    const list = (await c.json()) as unknown[];
    const ms = performance.now() - t0;
    assert.ok(list.length > 100);
    assert.ok(ms < 1000, `GET /api/corpus took ${ms.toFixed(0)} ms while exploring`);
    const t1 = performance.now();
    const chk = (await (await fetch(srv.url + 'api/check', { method: 'POST', body: JSON.stringify({ text: scenario84 }) })).json()) as { ok: boolean };
    assert.equal(chk.ok, true);
    assert.ok(performance.now() - t1 < 1000, 'POST /api/check answered while exploring');
  }
  assert.equal(srv.status().running, 1, 'still exploring');
  ac.abort();
});

test('serve: a cancelled or disconnected request stops its worker', async (t) => {
  const srv = await serve(0, { timeMs: 60_000, maxStates: 5_000_000 });
  t.after(() => srv.close());
  const stopped = () => {
    const s = srv.status();
    return s.running === 0 && s.threads === s.idle;
  };
  // streamed: abort after the first progress line
  const ac = new AbortController();
  const r = await fetch(srv.url + 'api/run', { method: 'POST', body: JSON.stringify({ text: RACE5 }), headers: { accept: 'application/x-ndjson' }, signal: ac.signal });
  await readLines(r, (m) => !!m.progress);
  assert.equal(srv.status().running, 1);
  const busyThreads = srv.status().threads;
  ac.abort();
  await eventually(`the worker is terminated after the abort: ${JSON.stringify(srv.status())}`, stopped);
  assert.ok(srv.status().threads < busyThreads || srv.status().threads === srv.status().idle);
  // plain JSON: the client gives up before any answer
  const ac2 = new AbortController();
  const p2 = fetch(srv.url + 'api/run', { method: 'POST', body: JSON.stringify({ text: RACE5 }), signal: ac2.signal }).catch((e: Error) => e);
  await eventually('the second run started', () => srv.status().running === 1);
  await sleep(300);
  ac2.abort();
  assert.ok((await p2) instanceof Error);
  await eventually(`the worker is terminated after the disconnect: ${JSON.stringify(srv.status())}`, stopped);
  // and the server still works
  const ok = await post(srv.url, 'api/run', { text: scenario24 });
  assert.equal(ok.ok, true);
});

test('serve: a race\'s witness stepped with the state after each transition, and replayed on another profile', async (t) => {
  const srv = await serve(0);
  t.after(() => srv.close());
  const run = await post(srv.url, 'api/run', { text: scenario24 });
  const w = run.runs.find((r: any) => r.kernel === '4.8').checks.find((c: any) => c.line === 19);
  assert.equal(w.traceKind, 'witness');
  assert.deepEqual(
    w.schedule.map((m: any) => [m.thread, m.line, m.start]),
    [
      [0, 9, true],
      [1, 11, true],
      [2, 13, true],
      [1, 11, false],
      [1, 11, false],
      [0, 15, true],
    ],
  );
  const s = await post(srv.url, 'api/steps', { text: scenario24, kernel: '4.8', schedule: w.schedule });
  assert.deepEqual([s.mode, s.replayed], ['schedule', true]);
  assert.deepEqual(
    s.steps.map((x: any) => [x.n, x.thread, x.line, x.segment]),
    [
      [1, 'main', 9, ''],
      [2, 'par thread 1', 11, 'starts'],
      [3, 'par thread 2', 13, ''],
      [4, 'par thread 1', 11, 'continues'],
      [5, 'par thread 1', 11, 'finishes'],
      [6, 'main', 15, ''],
    ],
  );
  // the COW done, FOLL_WRITE dropped (gup_foll_cow off on 4.8); the zap; the retry reads the page-cache page; the write lands in it
  assert.ok(s.steps[1].trace.some((e: any) => e.fn === 'faultin_page' && /FOLL_WRITE dropped/.test(e.what) && e.knobs.some((k: any) => k.name === 'gup_foll_cow' && !k.on)));
  assert.ok(s.steps[2].trace.some((e: any) => e.fn === 'madvise'));
  assert.deepEqual(s.steps[4].violations.map((v: any) => v.kind).sort(), ['PRIVATE_WRITE_LEAK', 'UNTRACKED_DIRTY', 'UNTRACKED_DIRTY']);
  assert.equal(s.steps[5].result, 'X');
  // each transition's state: after the zap, A maps nothing; after the leak, the page-cache folio holds X
  assert.equal(s.steps[2].state.procs[0].ptes.filter((e: any) => e.present).length, 0);
  const cache = s.steps[4].state.files[0].cache[0];
  assert.equal(s.steps[4].state.folios.find((f: any) => f.id === cache).value, "'X'");
  // 4.9 has a run of the same schedule (the retry keeps FOLL_WRITE and COWs again): no leak
  const s49 = await post(srv.url, 'api/steps', { text: scenario24, kernel: '4.9', schedule: w.schedule });
  assert.equal(s49.replayed, true);
  assert.equal(s49.steps.length, 6);
  assert.equal(s49.steps.flatMap((x: any) => x.violations).length, 0);
  assert.equal(s49.steps[5].result, 'f');
  // corpus 51: 5.9's witness needs GUP-fast's P2 window, which 5.18 closes with write_protect_seq: no run of it there
  const run51 = await post(srv.url, 'api/run', { text: scenario51 });
  const w51 = run51.runs.find((r: any) => r.kernel === '5.9').checks.find((c: any) => c.traceKind === 'witness');
  const on59 = await post(srv.url, 'api/steps', { text: scenario51, kernel: '5.9', schedule: w51.schedule });
  assert.equal(on59.replayed, true);
  assert.ok(on59.steps.some((x: any) => x.violations.some((v: any) => v.kind === 'DMA_LOST')));
  const on518 = await post(srv.url, 'api/steps', { text: scenario51, kernel: '5.18', schedule: w51.schedule });
  assert.equal(on518.replayed, false);
  assert.match(on518.reason, /^transition \d+: .*(more|fewer) transitions/);
  assert.deepEqual(on518.steps, []);
  // two background events on one line (writeback and reclaim): each witness names its own event, and replays
  const run41 = await post(srv.url, 'api/run', { text: scenario41 });
  const w41 = run41.runs.find((r: any) => r.kernel === '5.18').checks.find((c: any) => /DATA_LOSS/.test(c.clause) && c.traceKind === 'witness');
  const bg = w41.schedule.filter((m: any) => m.line === 10).map((m: any) => m.thread);
  assert.ok(new Set(bg).size === 2, `the witness runs both background events: ${JSON.stringify(w41.schedule)}`);
  const on518w = await post(srv.url, 'api/steps', { text: scenario41, kernel: '5.18', schedule: w41.schedule });
  assert.equal(on518w.replayed, true, on518w.reason);
  assert.equal(on518w.steps.length, w41.schedule.length);
  assert.ok(on518w.steps.some((x: any) => x.violations.some((v: any) => v.kind === 'DATA_LOSS')));
  const texts = new Set(on518w.steps.filter((x: any) => x.line === 10).map((x: any) => `${x.thread}: ${x.text}`));
  assert.deepEqual([...texts].sort(), ['background 1: background writeback(f)', 'background 2: background reclaim()']);
  // without a schedule a race is shown in written order, and says so
  const written = await post(srv.url, 'api/steps', { text: scenario24, kernel: '4.8' });
  assert.equal(written.mode, 'written');
  assert.match(written.note, /written order/);
});
