// The JSON contract of `pinlab serve` (src/serve.ts): types and fetch helpers.

export interface CorpusEntry {
  id: string;
  group: 'seeds' | 'threads' | 'corpus' | 'real' | 'selftests';
  name: string;
  file: string;
}

export interface ParseError {
  line: number;
  column: number;
  message: string;
}

export type CheckResult = { ok: true; name: string; kernels: string[] } | { ok: false; error: ParseError };

export interface Violation {
  kind: string;
  line: number;
  detail: string;
}

export interface ClauseCheck {
  line: number;
  clause: string;
  status: 'passed' | 'failed' | 'not explored';
  /** explored scenarios (optional): herd7-style observation and witness counts */
  observation?: 'Always' | 'Sometimes' | 'Never';
  positive?: number;
  negative?: number;
  reason?: string;
  /** explored scenarios: the schedule of the shortest witness (exists) or counterexample (expect, never) */
  traceKind?: 'witness' | 'counterexample';
  schedule?: Move[];
}

/** One move of a race's schedule: the explorer's thread `thread` runs its next segment, at `line`. */
export interface Move {
  thread: number;
  line: number;
  start: boolean;
}

export interface Outcome {
  values: Record<string, string | number>;
  violations: Violation[];
}

export interface ProfileRun {
  kernel: string;
  error?: string;
  values: Record<string, string | number>;
  contentNames: string[];
  violations: Violation[];
  checks: ClauseCheck[];
  notes: { line: number; msg: string }[];
  /** explored scenarios (optional): every distinct final outcome */
  outcomes?: Outcome[];
  /** explored scenarios: what was explored; `complete: false` is INCOMPLETE (a bound was hit), never a pass */
  explored?: { states: number; transitions: number; complete: boolean; depth?: number; ms?: number; bound?: 'max-states' | 'max-depth' | 'time' };
}

export interface Limits {
  maxStates: number;
  timeMs: number;
}

/** A running exploration, as the server reports it while /api/run works. */
export interface Progress {
  kernel: string;
  index: number;
  of: number;
  states: number;
  transitions: number;
  depth: number;
  statesPerSec: number;
  ms: number;
}

export interface KnobRef {
  name: string;
  commit: string;
  title: string;
}

export interface KnobDiff {
  from: string;
  to: string;
  added: KnobRef[];
  removed: KnobRef[];
}

export type RunResult =
  | {
      ok: true;
      scenario: string;
      source: string | null;
      concurrent: boolean;
      profiles: string[];
      runs: ProfileRun[];
      knobDiffs: KnobDiff[];
      limits?: Limits;
      ms?: number;
    }
  | { ok: false; error: ParseError };

// The state snapshot is the server's own type (src/report/snapshot.ts); a
// type-only import, erased by esbuild, so the two sides cannot drift apart.
import type { Snapshot as ServerSnapshot } from '../../src/report/snapshot.js';

export type Snapshot = ServerSnapshot;
export type Proc = Snapshot['procs'][number];
export type Vma = Proc['vmas'][number];
export type Pte = Proc['ptes'][number];
export type Folio = Snapshot['folios'][number];
export type FileState = Snapshot['files'][number];
export type Pin = Snapshot['pins'][number];
export type Secondary = Snapshot['secondaries'][number];

/** A knob the model consulted on the way to a trace entry, with the profile's value. */
export interface TraceKnob {
  name: string;
  on: boolean;
  commit: string;
}

export interface TraceEntry {
  fn: string;
  what: string;
  knobs?: TraceKnob[];
}

export interface Step {
  index: number;
  line: number;
  actor: string;
  text: string;
  result: string | null;
  violations: { kind: string; detail: string }[];
  notes: string[];
  trace: TraceEntry[];
  state: Snapshot;
  /** a race's schedule: the transition's number, thread ("main", "par thread 2", "background") and segment */
  n?: number;
  thread?: string;
  segment?: string;
}

export type StepsResult =
  | {
      ok: true;
      kernel: string;
      concurrent: boolean;
      /** 'schedule': the transitions of a race's schedule; 'written': the steps in written order */
      mode?: 'schedule' | 'written';
      /** mode 'schedule': false when this profile has no run of the schedule (reason says why) */
      replayed?: boolean;
      reason?: string;
      note?: string;
      /** the run stopped early (the steps before it are given) */
      error?: { line?: number; column?: number; message: string };
      initial: Snapshot;
      steps: Step[];
    }
  | { ok: false; error: ParseError | { line?: number; column?: number; message: string } };

/** A knob of a bisect answer: `switch` says which way it goes from `from` to `to`. */
export interface BisectKnob extends KnobRef {
  switch: 'on' | 'off';
  /** a knob switched off: the commit that removed it, when known */
  removedBy?: string;
}

/** One observable that differs, with the minimal knob set that changes it (src/bisect.ts). */
export interface BisectChange {
  what: string;
  key: string;
  from: string;
  to: string;
  knobs: BisectKnob[];
  /** more than one knob, and none alone changes it */
  together: boolean;
  alternatives: BisectKnob[];
  confirmed: { from: boolean; to: boolean };
  step: { line: number; text: string; from: string | null; to: string | null } | null;
  note?: string;
}

export type BisectResult =
  | {
      ok: true;
      scenario: string;
      from: string;
      to: string;
      incomplete?: boolean;
      differing: { name: string; commit: string; switch: 'on' | 'off' }[];
      changes: BisectChange[];
      runs: number;
      ms: number;
    }
  | { ok: false; error: ParseError | { line?: number; column?: number; message: string } };

/** GET /api/profiles */
export interface ProfilesInfo {
  versions: { version: string; knobs: string[] }[];
  knobs: { name: string; commit: string; title: string; since: string; until?: string }[];
}

/** An answer the server gave as {"error": "..."} (busy, cancelled, a worker out of memory). */
export class ServerError extends Error {}

async function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  if (signal) init.signal = signal;
  const r = await fetch(path, init);
  const text = await r.text();
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${path}: HTTP ${r.status}: ${text.slice(0, 200)}`);
  }
  if (!r.ok) throw new ServerError(`${path}: ${(v as { error?: string }).error ?? 'HTTP ' + r.status}`);
  return v as T;
}

/**
 * POST with progress: the server streams NDJSON lines {"progress": ...} and
 * then {"result": ...} (or {"error": ...}). Aborting the signal closes the
 * request, and the server stops the work.
 */
async function postStreaming<T>(path: string, body: unknown, onProgress: (p: Progress) => void, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify(body) };
  if (signal) init.signal = signal;
  const r = await fetch(path, init);
  if (!r.ok || !r.body) {
    const text = await r.text();
    let msg = `HTTP ${r.status}`;
    try {
      msg = (JSON.parse(text) as { error?: string }).error ?? msg;
    } catch {
      /* not JSON: the status says enough */
    }
    throw new ServerError(`${path}: ${msg}`);
  }
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buf += dec.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      const m = JSON.parse(line) as { progress?: Progress; result?: T; error?: string };
      if (m.progress) onProgress(m.progress);
      else if ('result' in m) return m.result as T;
      else if (m.error) throw new ServerError(m.error);
    }
    if (done) throw new Error(`${path}: the answer ended early`);
  }
}

async function get<T>(path: string): Promise<T> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

export const api = {
  corpus: () => get<CorpusEntry[]>('/api/corpus'),
  scenario: (id: string) => get<{ id: string; text: string }>('/api/corpus/' + encodeURIComponent(id)),
  check: (text: string, signal?: AbortSignal) => post<CheckResult>('/api/check', { text }, signal),
  run: (text: string, onProgress: (p: Progress) => void, signal?: AbortSignal) => postStreaming<RunResult>('/api/run', { text }, onProgress, signal),
  /** the knobs behind each change between two profiles (`to`), or of one knob switched on `from` (`toggle`) */
  bisect: (body: { text: string; from: string; to?: string; toggle?: string }, signal?: AbortSignal) => post<BisectResult>('/api/bisect', body, signal),
  profiles: () => get<ProfilesInfo>('/api/profiles'),
  steps: (text: string, kernel: string, schedule: Move[] | null, signal?: AbortSignal) =>
    post<StepsResult>('/api/steps', schedule ? { text, kernel, schedule } : { text, kernel }, signal),
};

/** A model page number as the CLI prints addresses (x=0x10000000 is page 0). */
export function hexPage(va: number): string {
  return `0x${(0x10000 + va).toString(16)}000`;
}

/** Page number of an address value printed by the CLI, or null. */
export function pageOfAddr(v: string | number): number | null {
  if (typeof v !== 'string' || !/^0x[0-9a-f]+000$/i.test(v)) return null;
  const n = parseInt(v.slice(2, -3), 16) - 0x10000;
  return n >= 0 ? n : null;
}
