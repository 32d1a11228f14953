// The JSON contract of `pinlab serve` (src/serve.ts): types and fetch helpers.

export interface CorpusEntry {
  id: string;
  group: 'seeds' | 'corpus' | 'real' | 'selftests';
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
  explored?: { states: number; transitions: number; complete: boolean; bound?: string };
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

export interface Step {
  index: number;
  line: number;
  actor: string;
  text: string;
  result: string | null;
  violations: { kind: string; detail: string }[];
  notes: string[];
  trace: { fn: string; what: string }[];
  state: Snapshot;
}

export type StepsResult =
  | {
      ok: true;
      kernel: string;
      concurrent: boolean;
      note?: string;
      /** the run stopped early (the steps before it are given) */
      error?: { line?: number; column?: number; message: string };
      initial: Snapshot;
      steps: Step[];
    }
  | { ok: false; error: ParseError | { line?: number; column?: number; message: string } };

async function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  if (signal) init.signal = signal;
  const r = await fetch(path, init);
  const text = await r.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${path}: HTTP ${r.status}: ${text.slice(0, 200)}`);
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
  run: (text: string, signal?: AbortSignal) => post<RunResult>('/api/run', { text }, signal),
  steps: (text: string, kernel: string, signal?: AbortSignal) => post<StepsResult>('/api/steps', { text, kernel }, signal),
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
