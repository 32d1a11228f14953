// `pinlab serve`: the web page's server. Static files from dist/web (built by
// scripts/build-web.mjs), and a small JSON API over the same parser, checker,
// interpreter and explorer the CLI uses. Bound to 127.0.0.1 only.
//
// Runs and step views are computed in worker threads (src/serve/pool.ts), one
// per request, under per-request limits (states per profile, wall time); the
// request thread only parses, routes and serves files, so it answers while a
// run explores. A request whose client goes away is cancelled (its worker is
// terminated). Requests must come to a loopback name and, when they carry an
// Origin, from the page's own origin (DNS rebinding, cross-site POSTs).
// Every error is a JSON object {"error": "..."}; an unexpected exception is
// logged here and answered 500 {"error": "internal error"}.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { basename, join, extname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobPool, JobOutcome } from './serve/pool.js';
import type { JobTask } from './serve/job.js';
import type { Limits } from './serve/api.js';
import type { Move } from './explore/witness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(ROOT, 'dist/web');
const CORPUS_DIRS: { group: 'seeds' | 'threads' | 'corpus' | 'real' | 'selftests'; dir: string; prefix: string }[] = [
  { group: 'seeds', dir: join(ROOT, '../shared/corpus/seeds'), prefix: '' },
  { group: 'threads', dir: join(ROOT, 'corpus/threads'), prefix: 'threads/' },
  { group: 'corpus', dir: join(ROOT, 'corpus'), prefix: '' },
  { group: 'real', dir: join(ROOT, 'corpus/real'), prefix: 'real/' },
  { group: 'selftests', dir: join(ROOT, 'corpus/selftests'), prefix: 'selftests/' },
];

/** Exploration limits per request unless the server is started with others (or PINLAB_SERVE_* in the environment). */
export const DEFAULT_LIMITS: Limits = { maxStates: 200_000, timeMs: 30_000 };
/** Largest request body. */
export const MAX_BODY = 1 << 20;

export interface ServeOptions {
  /** the most states per profile a request may explore (a request may ask for fewer) */
  maxStates?: number;
  /** the most wall time a run may take, in milliseconds */
  timeMs?: number;
  /** requests computed at once (each in its own worker thread); more wait */
  workers?: number;
  /** heap limit per worker, MiB */
  memoryMb?: number;
}

export interface Server {
  url: string;
  close: () => Promise<void>;
  /** worker threads computing a request now */
  running: () => number;
  /** the same as GET /api/status: requests computing and waiting, worker threads alive and idle */
  status: () => Status;
}

export interface Status {
  running: number;
  queued: number;
  threads: number;
  idle: number;
  limits: Limits;
}

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

/** An answer with a status and a message: never a JavaScript exception's text. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json' };
const JSON_TYPE = 'application/json; charset=utf-8';
const BASE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

function send(res: ServerResponse, status: number, body: string | Buffer, type = JSON_TYPE, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, ...BASE_HEADERS, ...headers });
  res.end(body);
}
const sendJson = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => send(res, status, JSON.stringify(value), JSON_TYPE, headers);

/** Host names the server answers to: loopback only (a DNS-rebound name is refused). */
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/;

function checkOrigin(req: IncomingMessage): void {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!LOOPBACK_HOST.test(host)) throw new HttpError(403, 'forbidden: the Host must be 127.0.0.1, localhost or [::1] (with its port)');
  const origin = req.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) throw new HttpError(403, 'forbidden: a request from another origin');
}

/** The request body, at most MAX_BODY bytes (413 beyond, after reading and dropping the rest). */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const chunks: Buffer[] = [];
  let n = 0;
  let over = declared > MAX_BODY;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) over = true;
    if (over) {
      // drain (so the client reads the answer), but not forever
      if (n > 64 * MAX_BODY) {
        req.destroy();
        break;
      }
      continue;
    }
    chunks.push(c as Buffer);
  }
  if (over) throw new HttpError(413, `request body too large (the limit is ${MAX_BODY} bytes)`, { connection: 'close' });
  return Buffer.concat(chunks);
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const buf = await readBody(req);
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new HttpError(400, 'malformed JSON in the request body');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 'the request body must be a JSON object');
  return v as Record<string, unknown>;
}

function textOf(b: Record<string, unknown>): string {
  if (typeof b.text !== 'string') throw new HttpError(400, 'text: a string (the scenario) is required');
  return b.text;
}

function limitsOf(b: Record<string, unknown>, max: Limits): Limits {
  const l = b.limits;
  if (l === undefined) return { ...max };
  if (typeof l !== 'object' || l === null || Array.isArray(l)) throw new HttpError(400, 'limits: an object {maxStates, timeMs} is expected');
  const o = l as Record<string, unknown>;
  const pick = (name: 'maxStates' | 'timeMs'): number => {
    const v = o[name];
    if (v === undefined) return max[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new HttpError(400, `limits.${name}: a positive integer is expected`);
    return Math.min(v, max[name]);
  };
  return { maxStates: pick('maxStates'), timeMs: pick('timeMs') };
}

function scheduleOf(b: Record<string, unknown>): Move[] | null {
  const s = b.schedule;
  if (s === undefined || s === null) return null;
  const ok =
    Array.isArray(s) &&
    s.length <= 100_000 &&
    s.every((m) => typeof m === 'object' && m !== null && Number.isInteger((m as Move).thread) && Number.isInteger((m as Move).line) && typeof (m as Move).start === 'boolean');
  if (!ok) throw new HttpError(400, 'schedule: a list of {thread, line, start} moves is expected');
  return (s as Move[]).map((m) => ({ thread: m.thread, line: m.line, start: m.start }));
}

function positive(v: string | undefined, scale = 1): number | undefined {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) && n > 0 ? Math.round(n * scale) : undefined;
}

/** Start the server on 127.0.0.1; resolves with the URL and a close function once listening. */
export function serve(port: number, opts: ServeOptions = {}): Promise<Server> {
  const limits: Limits = {
    maxStates: opts.maxStates ?? positive(process.env.PINLAB_SERVE_MAX_STATES) ?? DEFAULT_LIMITS.maxStates,
    timeMs: opts.timeMs ?? positive(process.env.PINLAB_SERVE_TIME_LIMIT, 1000) ?? DEFAULT_LIMITS.timeMs,
  };
  let pool: JobPool | null = null;
  let closed = false;
  let poolLoading: Promise<JobPool> | null = null;
  const getPool = (): Promise<JobPool> =>
    (poolLoading ??= import('./serve/pool.js').then(({ JobPool }) => {
      pool = new JobPool({ maxRunning: opts.workers ?? 4, maxQueued: 16, spare: 2, memoryMb: opts.memoryMb ?? 2048 });
      return pool;
    }));
  const status = (): Status => {
    const t = pool?.threads() ?? { live: 0, idle: 0 };
    return { running: pool?.running() ?? 0, queued: pool?.queued() ?? 0, threads: t.live, idle: t.idle, limits };
  };
  let checker: Promise<typeof import('./serve/prepare.js')> | null = null;

  /** Run a task in a worker; answer JSON, or NDJSON progress lines and the result when the client asks for it. */
  async function job(req: IncomingMessage, res: ServerResponse, task: JobTask, guardMs: number): Promise<void> {
    const stream = /application\/x-ndjson/.test(req.headers.accept ?? '');
    const p = await getPool();
    const line = (v: unknown) => res.write(JSON.stringify(v) + '\n');
    const j = p.submit(task, (progress) => {
      if (stream && !res.writableEnded) line({ progress });
    });
    res.on('close', () => {
      if (!res.writableFinished) j.cancel();
    });
    if (stream) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', ...BASE_HEADERS });
      res.flushHeaders();
    }
    let guarded = false;
    const guard = setTimeout(() => {
      guarded = true;
      j.cancel();
    }, guardMs);
    const o: JobOutcome = await j.done;
    clearTimeout(guard);
    if (res.destroyed) return;
    let status = 200;
    let out: unknown;
    if ('result' in o) out = o.result;
    else if ('fail' in o) {
      console.error(`pinlab serve: ${req.method} ${req.url}: ${o.fail}`);
      [status, out] = [500, { error: 'internal error' }];
    } else if ('died' in o) {
      console.error(`pinlab serve: ${req.method} ${req.url}: ${o.died}${o.detail ? `\n${o.detail}` : ''}`);
      [status, out] = [503, { error: `the run stopped: ${o.died}` }];
    }
    else if ('busy' in o) [status, out] = [503, { error: `busy: ${p.running()} requests are being computed and ${p.queued()} wait; try again` }];
    else [status, out] = [503, { error: guarded ? 'the run did not stop at its time limit and was stopped' : 'cancelled' }];
    if (stream) res.end(JSON.stringify('result' in o ? { result: out } : out) + '\n');
    else sendJson(res, status, out);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkOrigin(req);
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      throw new HttpError(400, 'malformed URL');
    }
    const method = req.method ?? 'GET';
    if (path === '/api/status') {
      if (method !== 'GET') throw new HttpError(405, 'method not allowed: use GET', { allow: 'GET' });
      return sendJson(res, 200, status());
    }
    if (path === '/api/corpus' || path.startsWith('/api/corpus/')) {
      if (method !== 'GET') throw new HttpError(405, 'method not allowed: use GET', { allow: 'GET' });
      if (path === '/api/corpus') return sendJson(res, 200, corpus().map(({ id, group, name, file }) => ({ id, group, name, file: relative(ROOT, file) })));
      const id = path.slice('/api/corpus/'.length);
      const e = corpus().find((c) => c.id === id);
      if (!e) throw new HttpError(404, `no corpus scenario ${id}`);
      return sendJson(res, 200, { id, text: readFileSync(e.file, 'utf8') });
    }
    if (path === '/api/profiles') {
      if (method !== 'GET') throw new HttpError(405, 'method not allowed: use GET', { allow: 'GET' });
      return sendJson(res, 200, (await import('./serve/bisect_api.js')).apiProfiles());
    }
    if (path === '/api/bisect') {
      if (method !== 'POST') throw new HttpError(405, 'method not allowed: use POST', { allow: 'POST' });
      const b = await jsonBody(req);
      const text = textOf(b);
      if (typeof b.from !== 'string') throw new HttpError(400, 'from: a profile name is required');
      if ((b.to === undefined) === (b.toggle === undefined)) throw new HttpError(400, 'give to (a profile name) or toggle (a knob name), not both');
      if (b.to !== undefined && typeof b.to !== 'string') throw new HttpError(400, 'to: a profile name is expected');
      if (b.toggle !== undefined && typeof b.toggle !== 'string') throw new HttpError(400, 'toggle: a knob name is expected');
      const l = limitsOf(b, limits);
      const task = { text, from: b.from, ...(typeof b.to === 'string' ? { to: b.to } : {}), ...(typeof b.toggle === 'string' ? { toggle: b.toggle } : {}) };
      return job(req, res, { kind: 'bisect', task, limits: l }, l.timeMs + 30_000);
    }
    if (path === '/api/check' || path === '/api/run' || path === '/api/steps') {
      if (method !== 'POST') throw new HttpError(405, 'method not allowed: use POST', { allow: 'POST' });
      const b = await jsonBody(req);
      const text = textOf(b);
      if (path === '/api/check') {
        checker ??= import('./serve/prepare.js');
        return sendJson(res, 200, (await checker).apiCheck(text));
      }
      if (path === '/api/run') {
        const l = limitsOf(b, limits);
        return job(req, res, { kind: 'run', text, limits: l }, l.timeMs + 30_000);
      }
      if (b.kernel !== undefined && typeof b.kernel !== 'string') throw new HttpError(400, 'kernel: a profile name is expected');
      return job(req, res, { kind: 'steps', text, kernel: (b.kernel as string | undefined) ?? '6.18', schedule: scheduleOf(b) }, 60_000);
    }
    if (path.startsWith('/api/')) throw new HttpError(404, 'no such endpoint');
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'method not allowed', { allow: 'GET' });
    const file = path === '/' ? 'index.html' : path.slice(1);
    if (file.includes('..') || !/^[\w.-]+$/.test(file)) return send(res, 404, 'not found', 'text/plain; charset=utf-8');
    const full = join(WEB, file);
    if (!existsSync(full)) return send(res, 404, 'not found', 'text/plain; charset=utf-8');
    const type = TYPES[extname(full)] ?? 'application/octet-stream';
    if (method === 'HEAD') {
      res.writeHead(200, { 'content-type': type, ...BASE_HEADERS });
      return void res.end();
    }
    return send(res, 200, readFileSync(full), type);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) {
        if (!res.headersSent) sendJson(res, e.status, { error: e.message }, e.headers);
        else res.end();
        return;
      }
      console.error(`pinlab serve: ${req.method} ${req.url}:`, e);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end(JSON.stringify({ error: 'internal error' }) + '\n');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}/`;
      // a worker ready before the first run, started after listening so startup stays fast
      setImmediate(() => {
        if (!closed) void getPool().then((p) => !closed && p.warm());
      });
      resolve({
        url,
        running: () => pool?.running() ?? 0,
        status,
        close: async () => {
          closed = true;
          const stopped = new Promise<void>((r) => server.close(() => r()));
          server.closeAllConnections();
          if (poolLoading) await (await poolLoading).close();
          await stopped;
        },
      });
    });
  });
}
