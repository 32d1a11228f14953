// Helpers over the run results shared by the matrix and the step view.

import type { KnobDiff, KnobRef, Limits, Outcome, ProfileRun } from './api.js';

/** A count with thousands separators. */
export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Profiles whose exploration stopped at a bound: INCOMPLETE, never a pass. */
export function incompleteRuns(runs: ProfileRun[]): ProfileRun[] {
  return runs.filter((r) => r.explored && !r.explored.complete);
}

/** Why and where an exploration stopped, with its counts (as the CLI's INCOMPLETE line). */
export function boundText(x: NonNullable<ProfileRun['explored']>, limits?: Limits): string {
  const counts = `${fmt(x.states)} states, ${fmt(x.transitions)} transitions${x.depth !== undefined ? `, depth ${x.depth}` : ''}`;
  if (x.bound === 'time') {
    const lim = limits ? ` (${limits.timeMs / 1000} s)` : '';
    return x.states ? `stopped by the time limit${lim} after ${counts}: no verdict` : `not explored: the time limit${lim} was reached before it`;
  }
  if (x.bound === 'max-states') return `hit the max-states bound${limits ? ` (${fmt(limits.maxStates)})` : ''}: ${counts}`;
  if (x.bound === 'max-depth') return `hit the max-depth bound: ${counts}`;
  return `stopped early: ${counts}`;
}

/** Every final outcome of a run (one for a straight run, each distinct one for an explored race). */
export function outcomesOf(run: ProfileRun): Outcome[] {
  return run.outcomes && run.outcomes.length ? run.outcomes : [{ values: run.values, violations: run.violations }];
}

export interface RunSummary {
  n: number;
  /** kind -> lines where raised, and in how many outcomes */
  kinds: Map<string, { lines: number[]; details: string[]; count: number }>;
  /** name -> distinct values, in order of first appearance */
  values: Map<string, (string | number)[]>;
}

export function summarize(run: ProfileRun): RunSummary {
  const outs = outcomesOf(run);
  const kinds: RunSummary['kinds'] = new Map();
  const values: RunSummary['values'] = new Map();
  for (const o of outs) {
    const seen = new Set<string>();
    for (const v of o.violations) {
      const e = kinds.get(v.kind) ?? { lines: [], details: [], count: 0 };
      if (!e.lines.includes(v.line)) e.lines.push(v.line);
      if (!e.details.includes(`line ${v.line}: ${v.detail}`)) e.details.push(`line ${v.line}: ${v.detail}`);
      if (!seen.has(v.kind)) e.count++;
      seen.add(v.kind);
      kinds.set(v.kind, e);
    }
    for (const [k, v] of Object.entries(o.values)) {
      const l = values.get(k) ?? [];
      if (!l.includes(v)) l.push(v);
      values.set(k, l);
    }
  }
  for (const e of kinds.values()) e.lines.sort((a, b) => a - b);
  return { n: outs.length, kinds, values };
}

/** What a reader compares between profiles: values, violation kinds, failed clauses, errors. */
export function outcomeKey(run: ProfileRun | undefined): string {
  if (!run) return '';
  if (run.error) return 'error:' + run.error;
  const s = summarize(run);
  return JSON.stringify([[...s.values].sort(), [...s.kinds].map(([k, e]) => [k, e.count]).sort()]);
}

/** Index i of the first adjacent pair (profiles[i], profiles[i+1]) whose outcome differs, or -1. */
export function firstChange(profiles: string[], runs: ProfileRun[]): number {
  for (let i = 0; i + 1 < profiles.length; i++) {
    const a = runs.find((r) => r.kernel === profiles[i]);
    const b = runs.find((r) => r.kernel === profiles[i + 1]);
    if (outcomeKey(a) !== outcomeKey(b)) return i;
  }
  return -1;
}

/**
 * The knobs that differ between two profiles of the run, composed from the
 * adjacent diffs (added = on in `to` but not `from`).
 */
export function composeDiff(profiles: string[], diffs: KnobDiff[], from: string, to: string): { added: KnobRef[]; removed: KnobRef[] } | null {
  let i = profiles.indexOf(from);
  let j = profiles.indexOf(to);
  if (i < 0 || j < 0) return null;
  const flip = i > j;
  if (flip) [i, j] = [j, i];
  const on = new Map<string, KnobRef>();
  const off = new Map<string, KnobRef>();
  for (let k = i; k < j; k++) {
    const d = diffs[k];
    if (!d) return null;
    for (const a of d.added) {
      if (off.has(a.name)) off.delete(a.name);
      else on.set(a.name, a);
    }
    for (const r of d.removed) {
      if (on.has(r.name)) on.delete(r.name);
      else off.set(r.name, r);
    }
  }
  const added = [...on.values()];
  const removed = [...off.values()];
  return flip ? { added: removed, removed: added } : { added, removed };
}

/** A value as the CLI's text report prints it: page content quoted. */
export function showValue(v: string | number | undefined, content: boolean): string {
  if (v === undefined) return '—';
  if (typeof v === 'number') return String(v);
  return content && v.length === 1 ? `'${v}'` : v;
}

/** Folio ids named in a violation's detail text ("folio #1", "#2"). */
export function foliosNamed(detail: string): number[] {
  const out: number[] = [];
  for (const m of detail.matchAll(/#(\d+)/g)) {
    const n = Number(m[1]);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** The spec's one-line meaning of each violation kind (language.md, Violations). */
export const VIOLATION_MEANING: Record<string, string> = {
  DMA_LOST:
    'a device wrote through a pin into a page while the pinning process maps (or would fault in) a different page at that address, so the process never sees the write',
  DMA_STALE: 'a device read through a pin a page that no longer holds what the process has since written at that address',
  COW_LEAK: 'a process observed data that another process wrote after their memory stopped being shared',
  PRIVATE_WRITE_LEAK: 'a write through a private or read-only mapping reached the page cache or the file',
  UNTRACKED_DIRTY: 'a file page was modified or dirtied without the filesystem being told (page_mkwrite)',
  DATA_LOSS: 'data written to a file through a mapping or a pin is not on disk after it was released and the file synced',
  USE_AFTER_FREE: 'a device or secondary MMU accessed a page after it was freed or reused',
  UNMOVABLE_PIN: 'a long-term pin holds a page in ZONE_MOVABLE or CMA',
  SECURE_ACCESS: 'the host CPU or a device touched a page that belongs to a protected guest',
  DOUBLE_RELEASE: 'a driver released pages it had already given back (unpin or put_page twice): the kernel drops references no one holds',
  MISMATCHED_RELEASE: 'put_page() on FOLL_PIN pages, or unpin_user_pages() on FOLL_GET references: the kernel drops the wrong number of references',
  ACCESS_AFTER_RELEASE: 'a device read or wrote through a handle whose pages the driver had already released',
};
