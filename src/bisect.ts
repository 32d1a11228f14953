// pinlab bisect: which kernel commits changed what a scenario observes.
//
// Two profiles differ by a set of knobs (one knob = one commit). For every
// observable that differs between profile A and profile B -- a result's value,
// whether a violation kind happens, a clause's verdict, whether the scenario
// runs at all -- delta debugging (ddmin) over the knobs that differ finds a
// minimal set whose switch from A's setting to B's reproduces B's observation
// on A. The set is then checked: 1-minimal (no knob of it can be left out),
// whether any knob alone would do ("together" when none does), and the other
// direction (B with the set switched back shows A's observation). The step
// where the run first takes another path is found by comparing A's trace with
// the trace of A with the set switched.
//
// Races (par/background) compare outcome sets: a value becomes the set of
// values some interleaving gives, a violation Never/Sometimes/Always.
//
// Nothing here knows a scenario: every answer is the model's.

import { Prepared, runProfile, type ProfileRun, type TraceEntry } from './interp/interpreter.js';
import { runScenarioProfile, type RunOptions } from './interp/runner.js';
import { KNOBS, KNOB_BY_NAME, type Knob } from './profiles/knobs.js';
import { allProfiles, LTS, makeProfile, type Profile } from './profiles/profiles.js';
import { replaySchedule, scheduleOf } from './explore/witness.js';
import type { WitnessStep } from './explore/explorer.js';

/** One observable's value on one profile. */
export interface Obs {
  /** what is observed, e.g. `seen`, `violation DMA_LOST`, `line 22: expect ...`, `runs` */
  what: string;
  /** the canonical value compared between profiles */
  value: string;
}

/** What one profile shows. */
export interface Seen {
  profile: Profile;
  /** keyed by observable (`value:NAME`, `violation:KIND`, `clause:LINE`, `runs`, `outcomes`) */
  obs: Map<string, Obs>;
  /** the trace of the run in written order (explored races: the straight run's) */
  trace: TraceEntry[];
  /** clause witnesses and counterexamples of an exploration */
  witnesses: { line: number; trace: WitnessStep[] }[];
  /** an exploration stopped by a bound (its sets are lower bounds) */
  incomplete: boolean;
}

export interface KnobRef {
  name: string;
  commit: string;
  title: string;
  /** on: the knob is on in B and off in A; off: the reverse */
  switch: 'on' | 'off';
  /** a knob switched off: the commit that removed it, when the knob's text names one */
  removedBy?: string;
  since: string;
  until?: string;
}

export interface Step {
  line: number;
  /** the statement as written */
  text: string;
  /** what A's run did there, and what it did with the knobs switched (null: nothing) */
  from: string | null;
  to: string | null;
}

export interface Change {
  /** the observable's key (stable across profiles) */
  key: string;
  what: string;
  from: string;
  to: string;
  /** the minimal knob set; empty when knobs alone do not reproduce it (see note) */
  knobs: KnobRef[];
  /** more than one knob and none alone reproduces B's observation */
  together: boolean;
  /** other knobs of the difference that alone reproduce B's observation too */
  alternatives: KnobRef[];
  /** A with the set switched shows B's value; B with it switched back shows A's */
  confirmed: { from: boolean; to: boolean };
  /** when switching the set back on B does not restore A's value: the minimal set that does, on B */
  reverse?: KnobRef[];
  step: Step | null;
  note?: string;
}

export interface BisectResult {
  from: string;
  to: string;
  /** the knobs that differ between the two profiles */
  differing: KnobRef[];
  changes: Change[];
  /** number of profile runs it took */
  runs: number;
  /** an exploration hit a bound: outcome sets may be incomplete */
  incomplete: boolean;
}

export type Boundary = BisectResult;

export interface Timeline {
  scenario: string;
  profiles: string[];
  /** each adjacent pair of profiles where something the scenario observes changes */
  boundaries: Boundary[];
  /** profiles the scenario shows the same on, grouped: e.g. [['4.8','4.9'], ['5.7', ...]] */
  spans: string[][];
}

// ---- observing a profile

const quote = (v: string | number, content: boolean) => (typeof v === 'number' ? String(v) : content ? `'${v}'` : v);

function observeRun(pr: Prepared, run: ProfileRun, profile: Profile, trace: TraceEntry[]): Seen {
  const obs = new Map<string, Obs>();
  const seen: Seen = { profile, obs, trace, witnesses: [], incomplete: !!run.explored && !run.explored.complete };
  // an error names the profile it ran on ("4.8 does not have it"): compared without the name
  const err = run.error?.replace(new RegExp(`(^|[^\\w.+-])${profile.name.replace(/[.+]/g, '\\$&')}(?![\\w.+-])`, 'g'), '$1the profile');
  obs.set('runs', { what: 'runs', value: err ? `no (${err})` : 'yes' });
  if (run.error) return seen;
  if (run.outcomes) {
    const outs = run.outcomes;
    for (const name of pr.resultIndex.keys()) {
      const vals = [...new Set(outs.map((o) => quote(o.values[name] ?? 'unset', o.contentNames.includes(name))))].sort();
      obs.set(`value:${name}`, { what: name, value: vals.length === 1 ? vals[0]! : `one of ${vals.join(', ')}` });
    }
    const kinds = new Set(outs.flatMap((o) => o.violations.map((v) => v.kind)));
    for (const k of [...kinds].sort()) {
      const n = outs.filter((o) => o.violations.some((v) => v.kind === k)).length;
      obs.set(`violation:${k}`, { what: `violation ${k}`, value: n === outs.length ? 'always' : 'sometimes' });
    }
    const canon = outs.map((o) => JSON.stringify([o.values, [...new Set(o.violations.map((v) => v.kind))].sort()])).sort();
    obs.set('outcomes', { what: 'outcome set', value: `${canon.length} outcome(s) #${hash(canon.join('\n'))}` });
  } else {
    for (const [name, v] of Object.entries(run.values)) obs.set(`value:${name}`, { what: name, value: quote(v, run.contentNames.includes(name)) });
    const kinds = new Set(run.violations.map((v) => v.kind));
    for (const k of [...kinds].sort()) {
      const lines = [...new Set(run.violations.filter((v) => v.kind === k).map((v) => v.line))];
      obs.set(`violation:${k}`, { what: `violation ${k}`, value: `yes (line ${lines.join(', ')})` });
    }
  }
  for (const c of run.checks) {
    obs.set(`clause:${c.line}`, { what: `line ${c.line}: ${c.clause}`, value: c.status + (c.observation ? ` (holds: ${c.observation.toLowerCase()})` : '') });
    if (c.trace) seen.witnesses.push({ line: c.line, trace: c.trace });
  }
  return seen;
}

/** A violation absent on one side is 'no' there (other observables absent on one side are not compared). */
function valueOf(s: Seen, key: string): string | undefined {
  const o = s.obs.get(key);
  if (o) return o.value;
  if (key.startsWith('violation:') && s.obs.get('runs')?.value === 'yes') return s.obs.has('outcomes') ? 'never' : 'no';
  return undefined;
}

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16).padStart(8, '0');
}

// ---- the bisector

export interface BisectOptions {
  /** explorer bounds for races */
  run?: RunOptions;
  /** performance.now() after which no further profile run starts (BisectTimeout) */
  deadline?: number;
}

/** The deadline passed before the bisect finished. */
export class BisectTimeout extends Error {}

/** A knob as reported: name, commit, title and which way it switched. */
export function knobRef(name: string, on: boolean): KnobRef {
  const k = KNOB_BY_NAME.get(name) as Knob;
  const removed = !on ? removalCommit(k) : undefined;
  return {
    name,
    commit: k.commit,
    title: k.title,
    switch: on ? 'on' : 'off',
    ...(removed ? { removedBy: removed } : {}),
    since: k.since,
    ...(k.until ? { until: k.until } : {}),
  };
}

/** The commit that ended a knob, where knobs.ts says it ("reverted by X", "removed by X", "removal X", "revert X"). */
function removalCommit(k: Knob): string | undefined {
  if (!k.until) return undefined;
  const m = /\b(?:reverted by|removed by|removal|revert)\s+([0-9a-f]{12})\b/i.exec(`${k.effect} ${k.title} ${k.evidence}`);
  return m?.[1];
}

/** Runs profiles once each (keyed by version and knob set) and remembers what they showed. */
export class Bisector {
  private readonly memo = new Map<string, Seen>();
  runs = 0;

  constructor(
    readonly pr: Prepared,
    readonly opts: BisectOptions = {},
  ) {}

  private keyOf(p: Profile): string {
    return `${p.version}:${[...p.knobs].sort().join(',')}`;
  }

  /** What a profile shows (memoized). */
  see(p: Profile): Seen {
    const key = this.keyOf(p);
    let s = this.memo.get(key);
    if (!s) {
      const deadline = this.opts.deadline;
      if (deadline !== undefined && performance.now() > deadline) throw new BisectTimeout('time limit');
      this.runs++;
      const ro: RunOptions = { ...(this.opts.run ?? {}) };
      if (deadline !== undefined) {
        const inner = ro.progress;
        ro.progress = (states, transitions, depth) => {
          inner?.(states, transitions, depth);
          if (performance.now() > deadline) throw new BisectTimeout('time limit');
        };
      }
      const run = runScenarioProfile(this.pr, p, ro);
      // the written-order run's trace, for the step where two profiles part
      const straight = run.explored ? (run.error ? run : runProfile(this.pr, p)) : run;
      s = observeRun(this.pr, run, p, straight.trace);
      this.memo.set(key, s);
    }
    return s;
  }

  /** `base` with the knobs of `set` switched to `target`'s setting. */
  variant(base: Profile, set: readonly string[], target: Profile): Profile {
    const mods = set.filter((k) => base.knobs.has(k) !== target.knobs.has(k)).map((k) => ({ op: target.knobs.has(k) ? ('+' as const) : ('-' as const), knob: k }));
    return makeProfile(base.version, [...base.mods, ...mods]);
  }

  /** The knobs whose setting differs, in knobs.ts order. */
  differing(a: Profile, b: Profile): string[] {
    return KNOBS.map((k) => k.name).filter((n) => a.knobs.has(n) !== b.knobs.has(n));
  }

  /** Every observable that differs between a and b, each with the knob set behind it. */
  bisect(a: Profile, b: Profile): BisectResult {
    const sa = this.see(a);
    const sb = this.see(b);
    const diff = this.differing(a, b);
    const ref = (n: string) => knobRef(n, b.knobs.has(n));
    const changes: Change[] = [];
    const keys = [...new Set([...sa.obs.keys(), ...sb.obs.keys()])];
    const differs: string[] = [];
    for (const key of keys) {
      const va = valueOf(sa, key);
      const vb = valueOf(sb, key);
      if (va === undefined || vb === undefined || va === vb) continue;
      differs.push(key);
    }
    // the outcome set is reported only when no projection of it (values, violations, clauses) differs
    const shown = differs.filter((k) => k !== 'outcomes' || differs.length === 1);
    for (const key of shown) {
      const va = valueOf(sa, key)!;
      const vb = valueOf(sb, key)!;
      const what = (sa.obs.get(key) ?? sb.obs.get(key))!.what;
      const test = (set: readonly string[]) => valueOf(this.see(this.variant(a, set, b)), key) === vb;
      const back = (set: readonly string[]) => valueOf(this.see(this.variant(b, set, a)), key) === va;
      const change: Change = { key, what, from: va, to: vb, knobs: [], together: false, alternatives: [], confirmed: { from: false, to: false }, step: null };
      if (!test(diff)) {
        change.note = `switching all ${diff.length} differing knob(s) on ${a.name} does not give ${vb}: the profiles differ by more than knobs here (a clause's version range)`;
        changes.push(change);
        continue;
      }
      let set = ddmin(diff, test);
      set = minimize(set, test);
      change.knobs = set.map(ref);
      change.together = set.length > 1 && set.every((k) => !test([k]));
      change.alternatives = diff.filter((k) => !set.includes(k) && test([k])).map(ref);
      change.confirmed = { from: test(set), to: back(set) };
      if (!change.confirmed.to) {
        change.note = `${b.name} with ${set.join(', ')} switched back does not show ${va}: on ${b.name} other differing knobs also decide it`;
        if (back(diff)) change.reverse = minimize(ddmin(diff, back), back).map((n) => knobRef(n, a.knobs.has(n)));
      }
      change.step = this.step(a, this.variant(a, set, b));
      changes.push(change);
    }
    return { from: a.name, to: b.name, differing: diff.map(ref), changes, runs: this.runs, incomplete: sa.incomplete || sb.incomplete };
  }

  /** Where the run on `x` and the run on `y` first do something different. */
  step(x: Profile, y: Profile): Step | null {
    const sx = this.see(x);
    const sy = this.see(y);
    const text = (line: number) => (this.pr.sc.lines[line - 1] ?? '').replace(/#.*$/, '').trim();
    const d = firstDivergence(sx.trace, sy.trace);
    if (d) return { line: d.line, text: text(d.line), from: d.from, to: d.to };
    // a race whose written order does not part: replay a witness of one side on the other
    for (const [s, o, flip] of [[sy, x, false], [sx, y, true]] as const) {
      for (const w of s.witnesses) {
        const r = replaySchedule(this.pr, o, scheduleOf(this.pr, w.trace));
        const calls = (ws: { calls: { fn: string; what: string }[] }) => ws.calls.map((c) => `${c.fn}: ${c.what}`);
        if (!r.ok) {
          const at = w.trace[r.at - 1] ?? w.trace[w.trace.length - 1];
          if (!at) continue;
          const mine = calls(at).join('; ') || null;
          return { line: at.line, text: text(at.line), from: flip ? mine : r.reason, to: flip ? r.reason : mine };
        }
        for (let i = 0; i < w.trace.length; i++) {
          const ws = w.trace[i]!;
          const other = r.steps[i]!;
          const a = calls(ws).join('; ');
          const b = calls(other).join('; ');
          if (a !== b) return { line: ws.line, text: text(ws.line), from: flip ? a : b, to: flip ? b : a };
        }
      }
    }
    return null;
  }
}

/** The first trace entry (line, function, what it did) where two runs part. */
function firstDivergence(x: TraceEntry[], y: TraceEntry[]): { line: number; from: string | null; to: string | null } | null {
  const show = (t: TraceEntry | undefined) => (t ? `${t.fn}: ${t.what}` : null);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const a = x[i];
    const b = y[i];
    if (a && b && a.line === b.line && a.fn === b.fn && a.what === b.what) continue;
    const line = Math.min(a?.line ?? Infinity, b?.line ?? Infinity);
    // what each side did at that line from here on (first entry)
    return { line, from: a && a.line === line ? show(a) : null, to: b && b.line === line ? show(b) : null };
  }
  return null;
}

/**
 * Zeller's ddmin: a 1-minimal subset of `all` for which `test` holds
 * (test(all) must hold). Subsets are tried in `all`'s order.
 */
export function ddmin<T>(all: readonly T[], test: (s: readonly T[]) => boolean): T[] {
  let c = [...all];
  let n = 2;
  while (c.length >= 2) {
    const parts = split(c, n);
    let next: T[] | null = null;
    for (const p of parts)
      if (test(p)) {
        next = p;
        n = 2;
        break;
      }
    // with two parts the complements are the parts themselves
    if (!next && n > 2)
      for (const p of parts) {
        const comp = c.filter((x) => !p.includes(x));
        if (test(comp)) {
          next = comp;
          n = Math.max(n - 1, 2);
          break;
        }
      }
    if (next) {
      c = next;
      continue;
    }
    if (n >= c.length) break;
    n = Math.min(c.length, 2 * n);
  }
  return c;
}

function split<T>(c: T[], n: number): T[][] {
  const out: T[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = start + Math.floor((c.length - start) / (n - i));
    out.push(c.slice(start, end));
    start = end;
  }
  return out.filter((p) => p.length);
}

/** Make sure no single element can be left out (ddmin promises it; a non-monotone test is checked again). */
export function minimize<T>(set: T[], test: (s: readonly T[]) => boolean): T[] {
  let c = set;
  for (let changed = true; changed && c.length > 1; ) {
    changed = false;
    for (const x of c) {
      const rest = c.filter((y) => y !== x);
      if (test(rest)) {
        c = rest;
        changed = true;
        break;
      }
    }
  }
  if (c.length > 1) {
    const alone = c.find((x) => test([x]));
    if (alone !== undefined) return [alone];
  }
  return c;
}

/** The scenario across every plain profile in release order: each boundary where something it observes changes. */
export function timeline(pr: Prepared, opts: BisectOptions = {}, profiles: Profile[] = allProfiles()): Timeline {
  const b = new Bisector(pr, opts);
  const boundaries: Boundary[] = [];
  const spans: string[][] = [];
  let span: string[] = [];
  for (let i = 0; i < profiles.length; i++) {
    const p = profiles[i]!;
    if (i > 0) {
      const prev = profiles[i - 1]!;
      const r = b.bisect(prev, p);
      if (r.changes.length) {
        boundaries.push(r);
        spans.push(span);
        span = [];
      }
    }
    span.push(p.name);
  }
  if (span.length) spans.push(span);
  return { scenario: pr.sc.name, profiles: profiles.map((p) => p.name), boundaries, spans };
}

// ---- text

/** One knob as `+name commit "title"` (or `-name commit ... ended by X`). */
export function knobLine(k: KnobRef): string {
  return `${k.switch === 'on' ? '+' : '-'}${k.name}  ${k.commit}  "${k.title}"${k.switch === 'off' ? `  (switched off${k.removedBy ? `: removed by ${k.removedBy}` : k.until ? ` from ${k.until}` : ''})` : ''}`;
}

/** Changes that share a knob set, printed once: what changed, the knobs, the checks, the step. */
export function changeText(cs: Change[], indent = '  '): string[] {
  const c = cs[0]!;
  const out: string[] = [];
  for (const x of cs) out.push(`${indent}${x.what}: ${x.from} -> ${x.to}`);
  if (!c.knobs.length) {
    out.push(`${indent}  ${c.note ?? 'no knob set found'}`);
    return out;
  }
  const head = c.knobs.length === 1 ? 'knob' : c.together ? `knobs acting only together (${c.knobs.length === 2 ? 'neither' : 'none'} alone changes it)` : 'knobs';
  out.push(`${indent}  ${head}:`);
  for (const k of c.knobs) out.push(`${indent}    ${knobLine(k)}`);
  if (c.alternatives.length) out.push(`${indent}  also changes it alone: ${c.alternatives.map((k) => `${k.switch === 'on' ? '+' : '-'}${k.name} ${k.commit}`).join(', ')}`);
  const conf = (f: (x: Change) => boolean) => (cs.every(f) ? 'yes' : 'NO');
  out.push(`${indent}  confirmed: ${conf((x) => x.confirmed.from)} on the old profile with the set switched, ${conf((x) => x.confirmed.to)} on the new one with it switched back`);
  for (const n of new Set(cs.map((x) => x.note).filter(Boolean))) out.push(`${indent}  note: ${n}`);
  if (c.reverse?.length) out.push(`${indent}  the other way it takes: ${c.reverse.map((k) => `${k.switch === 'on' ? '+' : '-'}${k.name} ${k.commit}`).join(', ')}`);
  if (c.step) {
    out.push(`${indent}  first diverges at line ${c.step.line}: ${c.step.text}`);
    out.push(`${indent}    before: ${c.step.from ?? '(nothing)'}`);
    out.push(`${indent}    after:  ${c.step.to ?? '(nothing)'}`);
  }
  return out;
}

/** Changes with the same knob set (and so the same step), in first-seen order. */
function sameKnobs(cs: Change[]): Change[][] {
  const m = new Map<string, Change[]>();
  for (const c of cs) {
    const key = c.knobs.map((k) => k.name).join(',') || `none:${c.key}`;
    m.set(key, [...(m.get(key) ?? []), c]);
  }
  return [...m.values()];
}

export function bisectText(r: BisectResult, scenario: string): string {
  const out: string[] = [`scenario ${scenario}: ${r.from} -> ${r.to} (${r.differing.length} knob(s) differ, ${r.runs} profile run(s))`];
  if (r.incomplete) out.push('  WARNING: an exploration hit its bound; outcome sets may be incomplete');
  if (!r.changes.length) out.push('  nothing this scenario observes changes');
  for (const g of sameKnobs(r.changes)) out.push(...changeText(g));
  return out.join('\n');
}

/** A compact timeline: spans of profiles that agree, and at each boundary what changed and why. */
export function timelineText(t: Timeline, opts: { steps?: boolean } = {}): string {
  const out: string[] = [`scenario ${t.scenario}: timeline over ${t.profiles.join(' ')}`];
  if (!t.boundaries.length) out.push('  the same on every profile');
  t.spans.forEach((span, i) => {
    out.push(`  ${span.length > 1 ? `${span[0]} .. ${span[span.length - 1]}` : span[0]}`);
    const b = t.boundaries[i];
    if (!b) return;
    const lts = [b.from, b.to].filter((v) => LTS.includes(v));
    out.push(`  -- ${b.from} -> ${b.to}${lts.length ? ` (${lts.join(', ')}: LTS, with backports)` : ''}${b.incomplete ? ' (an exploration hit its bound)' : ''}`);
    for (const g of groupChanges(b.changes)) {
      out.push(`     ${g.whats.join('; ')}`);
      out.push(`       ${g.knobs.length ? `${g.together ? 'together: ' : ''}${g.knobs.map((k) => `${k.switch === 'on' ? '+' : '-'}${k.name} ${k.commit}${k.removedBy ? ` (removed by ${k.removedBy})` : ''}`).join(', ')}` : (g.note ?? 'no knob set')}`);
      if (opts.steps && g.step) out.push(`       first diverges at line ${g.step.line}: ${g.step.text}`);
    }
  });
  return out.join('\n');
}

/** Changes with the same knob set, together (a boundary usually moves several observables at once). */
export function groupChanges(cs: Change[]): { whats: string[]; knobs: KnobRef[]; together: boolean; step: Step | null; note?: string }[] {
  const groups = new Map<string, { whats: string[]; knobs: KnobRef[]; together: boolean; step: Step | null; note?: string }>();
  for (const c of cs) {
    const key = c.knobs.map((k) => k.name).join(',') || `none:${c.key}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { whats: [], knobs: c.knobs, together: c.together, step: c.step, ...(c.note && !c.knobs.length ? { note: c.note } : {}) }));
    g.whats.push(`${c.what.replace(/^line (\d+): .*/, 'clause line $1')}: ${c.from} -> ${c.to}`);
  }
  return [...groups.values()];
}

/** The JSON document of `pinlab bisect --from A --to B --json`. */
export function bisectJson(r: BisectResult): object {
  return {
    from: r.from,
    to: r.to,
    ...(r.incomplete ? { incomplete: true } : {}),
    differing: r.differing.map((k) => ({ name: k.name, commit: k.commit, switch: k.switch })),
    changes: r.changes.map((c) => ({
      what: c.what,
      key: c.key,
      from: c.from,
      to: c.to,
      knobs: c.knobs.map(knobJson),
      together: c.together,
      alternatives: c.alternatives.map(knobJson),
      confirmed: c.confirmed,
      ...(c.reverse ? { reverse: c.reverse.map(knobJson) } : {}),
      step: c.step,
      ...(c.note ? { note: c.note } : {}),
    })),
  };
}

function knobJson(k: KnobRef): object {
  return { name: k.name, commit: k.commit, title: k.title, switch: k.switch, ...(k.removedBy ? { removedBy: k.removedBy } : {}) };
}
