// `pinlab serve`: the web page's server. Static files from dist/web (built by
// scripts/build-web.mjs), and a small JSON API over the same parser, checker,
// interpreter and explorer the CLI uses. Bound to 127.0.0.1 only.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { basename, join, extname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario } from './lang/parser.js';
import { checkScenario } from './lang/check.js';
import { PinlabSyntaxError } from './lang/errors.js';
import { Prepared, Run, execStep, RunError, showResult } from './interp/interpreter.js';
import { runScenarioProfile } from './interp/runner.js';
import { kernelsOf, parseProfileText, ProfileError, type Profile } from './profiles/profiles.js';
import { KNOB_BY_NAME } from './profiles/knobs.js';
import { snapshot } from './report/snapshot.js';
import { ModelCapacityError, ModelInvariantError } from './model/kernel.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(ROOT, 'dist/web');
const CORPUS_DIRS: { group: 'seeds' | 'corpus' | 'real' | 'selftests'; dir: string; prefix: string }[] = [
  { group: 'seeds', dir: join(ROOT, '../shared/corpus/seeds'), prefix: '' },
  { group: 'corpus', dir: join(ROOT, 'corpus'), prefix: '' },
  { group: 'real', dir: join(ROOT, 'corpus/real'), prefix: 'real/' },
  { group: 'selftests', dir: join(ROOT, 'corpus/selftests'), prefix: 'selftests/' },
];

interface CorpusEntry {
  id: string;
  group: string;
  name: string;
  file: string;
}

function corpus(): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  for (const { group, dir, prefix } of CORPUS_DIRS) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.pin')).sort()) {
      const file = join(dir, f);
      const m = /^scenario\s+(\S+)/m.exec(readFileSync(file, 'utf8'));
      out.push({ id: prefix + basename(f, '.pin'), group, name: m?.[1] ?? f, file });
    }
  }
  return out;
}

type ErrorJson = { line: number; column: number; message: string };

/** Parse and check text as the CLI does; a syntax or semantic error becomes {line, column, message}. */
function prepare(text: string): { pr: Prepared } | { error: ErrorJson } {
  try {
    const sc = parseScenario(text, 'editor.pin');
    const info = checkScenario(sc);
    return { pr: new Prepared(sc, info) };
  } catch (e) {
    if (e instanceof PinlabSyntaxError) return { error: { line: e.line, column: e.col, message: e.message } };
    throw e;
  }
}

function profilesOf(pr: Prepared): Profile[] {
  return kernelsOf(pr.sc.kernels);
}

function knob(name: string) {
  const k = KNOB_BY_NAME.get(name);
  return { name, commit: k?.commit ?? '', title: k?.title ?? '' };
}

/** POST /api/run: every profile of the scenario, and the knobs that change between adjacent ones. */
function apiRun(text: string): unknown {
  const p = prepare(text);
  if ('error' in p) return { ok: false, error: p.error };
  const { pr } = p;
  let profiles: Profile[];
  try {
    profiles = profilesOf(pr);
  } catch (e) {
    if (e instanceof ProfileError) return { ok: false, error: { line: 1, column: 1, message: e.message } };
    throw e;
  }
  const runs = profiles.map((pf) => {
    const r = runScenarioProfile(pr, pf, { maxStates: 200_000 });
    return {
      kernel: r.kernel,
      error: r.error,
      values: r.values,
      contentNames: r.contentNames,
      violations: r.violations,
      checks: r.checks.map((c) => ({ line: c.line, clause: c.clause, status: c.status, observation: c.observation, positive: c.positive, negative: c.negative, reason: c.reason })),
      notes: r.notes,
      ...(r.outcomes ? { outcomes: r.outcomes } : {}),
      ...(r.explored ? { explored: r.explored } : {}),
    };
  });
  const knobDiffs = profiles.slice(1).map((to, i) => {
    const from = profiles[i]!;
    return {
      from: from.name,
      to: to.name,
      added: [...to.knobs].filter((k) => !from.knobs.has(k)).map(knob),
      removed: [...from.knobs].filter((k) => !to.knobs.has(k)).map(knob),
    };
  });
  return { ok: true, scenario: pr.sc.name, source: pr.sc.source, concurrent: pr.concurrent, profiles: profiles.map((x) => x.name), runs, knobDiffs };
}

/** POST /api/steps: the run on one profile, step by step, with the state after each step. */
function apiSteps(text: string, kernel: string): unknown {
  const p = prepare(text);
  if ('error' in p) return { ok: false, error: p.error };
  const { pr } = p;
  let profile: Profile;
  try {
    profile = parseProfileText(kernel);
  } catch (e) {
    if (e instanceof ProfileError) return { ok: false, error: { line: 1, column: 1, message: e.message } };
    throw e;
  }
  const run = new Run(pr, profile);
  const initial = snapshot(run);
  const steps: unknown[] = [];
  let error: string | undefined;
  for (const [index, st] of pr.steps().entries()) {
    const v0 = run.violations.length;
    const t0 = run.traceLog.length;
    const n0 = run.notes.length;
    try {
      execStep(run, st);
    } catch (e) {
      if (e instanceof RunError || e instanceof ModelInvariantError || e instanceof ModelCapacityError) {
        error = `line ${st.line}: ${e.message}`;
        break;
      }
      throw e;
    }
    const target = st.stmt.kind === 'call' ? st.stmt.target?.name : st.stmt.kind === 'load' ? st.stmt.target.name : undefined;
    steps.push({
      index,
      line: st.line,
      actor: st.actor.name,
      text: (pr.sc.lines[st.line - 1] ?? '').replace(/#.*$/, '').trim(),
      result: target ? String(showResult(pr, run.k, run.result(target))) : null,
      violations: run.violations.slice(v0).map((v) => ({ kind: v.kind, detail: v.detail })),
      notes: run.notes.slice(n0).map((n) => n.msg),
      trace: run.traceLog.slice(t0).filter((t) => !t.fn.startsWith('VIOLATION')).map((t) => ({ fn: t.fn, what: t.what, ...(t.knobs ? { knobs: t.knobs } : {}) })),
      state: snapshot(run),
    });
  }
  return {
    ok: true,
    kernel: profile.name,
    concurrent: pr.concurrent,
    ...(pr.concurrent ? { note: 'this scenario has a race: the step view shows the steps in written order; the matrix has the explorer\'s verdicts' } : {}),
    ...(error ? { error: { line: 1, column: 1, message: error } } : {}),
    initial,
    steps,
  };
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json' };

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'application/json; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > 1 << 20) throw new Error('request too large');
    chunks.push(c as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = decodeURIComponent(url.pathname);
  if (req.method === 'GET' && path === '/api/corpus') return send(res, 200, JSON.stringify(corpus().map(({ id, group, name, file }) => ({ id, group, name, file: relative(ROOT, file) }))));
  if (req.method === 'GET' && path.startsWith('/api/corpus/')) {
    const id = path.slice('/api/corpus/'.length);
    const e = corpus().find((c) => c.id === id);
    if (!e) return send(res, 404, JSON.stringify({ error: `no corpus scenario ${id}` }));
    return send(res, 200, JSON.stringify({ id, text: readFileSync(e.file, 'utf8') }));
  }
  if (req.method === 'POST' && path.startsWith('/api/')) {
    const b = await body(req);
    const text = typeof b.text === 'string' ? b.text : '';
    if (path === '/api/check') {
      const p = prepare(text);
      if ('error' in p) return send(res, 200, JSON.stringify({ ok: false, error: p.error }));
      let kernels: string[] = [];
      try {
        kernels = profilesOf(p.pr).map((x) => x.name);
      } catch (e) {
        if (e instanceof ProfileError) return send(res, 200, JSON.stringify({ ok: false, error: { line: 1, column: 1, message: e.message } }));
        throw e;
      }
      return send(res, 200, JSON.stringify({ ok: true, name: p.pr.sc.name, kernels }));
    }
    if (path === '/api/run') return send(res, 200, JSON.stringify(apiRun(text)));
    if (path === '/api/steps') return send(res, 200, JSON.stringify(apiSteps(text, typeof b.kernel === 'string' ? b.kernel : '6.18')));
    return send(res, 404, JSON.stringify({ error: 'no such endpoint' }));
  }
  if (req.method !== 'GET') return send(res, 405, JSON.stringify({ error: 'method not allowed' }));
  const file = path === '/' ? 'index.html' : path.slice(1);
  if (file.includes('..') || !/^[\w.-]+$/.test(file)) return send(res, 404, 'not found', 'text/plain');
  const full = join(WEB, file);
  if (!existsSync(full)) return send(res, 404, 'not found', 'text/plain');
  return send(res, 200, readFileSync(full), TYPES[extname(full)] ?? 'application/octet-stream');
}

/** Start the server on 127.0.0.1; resolves with the URL and a close function once listening. */
export function serve(port: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, JSON.stringify({ error: (e as Error).message })));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}/`;
      resolve({ url, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}
