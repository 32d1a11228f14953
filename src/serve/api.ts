// The work behind POST /api/run and POST /api/steps of `pinlab serve`. Runs in
// a worker thread (src/serve/job.ts), never on the server's request thread.
// Exploration limits: states per profile (the explorer's own max-states bound)
// and a wall-time limit for the whole request; a run stopped by either is
// INCOMPLETE, as in the CLI, and never passes.

import { Run, execStep, RunError, showResult, matchersOf, type Prepared, type ProfileRun } from '../interp/interpreter.js';
import { runScenarioProfile } from '../interp/runner.js';
import { parseProfileText, profileMatches, ProfileError, type Profile } from '../profiles/profiles.js';
import { KNOB_BY_NAME } from '../profiles/knobs.js';
import { snapshot } from '../report/snapshot.js';
import { ModelCapacityError, ModelInvariantError, type KnobUse } from '../model/kernel.js';
import { replaySchedule, scheduleOf, type Move } from '../explore/witness.js';
import { prepare, profilesOf } from './prepare.js';

export interface Limits {
  /** distinct states per profile */
  maxStates: number;
  /** wall time for the whole request, in milliseconds */
  timeMs: number;
}

export interface Progress {
  kernel: string;
  /** 1-based index of the profile being explored, of `of` */
  index: number;
  of: number;
  states: number;
  transitions: number;
  depth: number;
  statesPerSec: number;
  /** since the request started */
  ms: number;
}

function knob(name: string) {
  const k = KNOB_BY_NAME.get(name);
  return { name, commit: k?.commit ?? '', title: k?.title ?? '' };
}

/** A trace entry's knobs, with each knob's commit. */
function knobsOf(ks: KnobUse[] | undefined): { knobs?: { name: string; on: boolean; commit: string }[] } {
  return ks && ks.length ? { knobs: ks.map((k) => ({ name: k.name, on: k.on, commit: KNOB_BY_NAME.get(k.name)?.commit ?? '' })) } : {};
}

class TimeLimit extends Error {
  constructor(
    readonly states: number,
    readonly transitions: number,
    readonly depth: number,
  ) {
    super('time limit');
  }
}

const MODEL_ERRORS = (e: unknown) => e instanceof RunError || e instanceof ModelInvariantError || e instanceof ModelCapacityError;

/** The clauses that apply to a profile (as the explorer filters them). */
function clausesFor(pr: Prepared, profile: Profile) {
  return pr.sc.clauses.filter((c) => {
    const ms = matchersOf(pr.sc, c);
    return !ms || profileMatches(ms, profile);
  });
}

/** A profile run as served: the explorer's bounds, and the server's time limit. */
type ServedRun = Omit<ProfileRun, 'explored'> & { explored?: Omit<NonNullable<ProfileRun['explored']>, 'bound'> & { bound?: 'max-states' | 'max-depth' | 'time' } };

/** A profile whose exploration the time limit stopped (or never let start): no verdicts, INCOMPLETE. */
function timeBounded(pr: Prepared, profile: Profile, limits: Limits, counts: { states: number; transitions: number; depth: number; ms: number }, started: boolean): ServedRun {
  const why = started
    ? `stopped by the time limit (${limits.timeMs / 1000} s) after ${counts.states} states: no verdict`
    : `not explored: the time limit (${limits.timeMs / 1000} s) was reached before this profile`;
  return {
    kernel: profile.name,
    values: {},
    contentNames: [],
    violations: [],
    notes: [],
    checks: clausesFor(pr, profile).map((c) => ({ line: c.line, clause: c.text, status: 'not explored', passed: false, reason: why })),
    states: counts.states,
    trace: [],
    outcomes: [],
    explored: { ...counts, complete: false, finals: 0, collisionProbability: 0, bound: 'time' },
  };
}

/** POST /api/run: every profile of the scenario, and the knobs that change between adjacent ones. */
export function apiRun(text: string, limits: Limits, progress: (p: Progress) => void): unknown {
  const t0 = performance.now();
  const deadline = t0 + limits.timeMs;
  const p = prepare(text);
  if ('error' in p) return { ok: false, error: p.error };
  const { pr } = p;
  const ps = profilesOf(pr);
  if ('error' in ps) return { ok: false, error: ps.error };
  const profiles = ps.profiles;
  let timedOut = false;
  const runs = profiles.map((pf, i) => {
    let r: ServedRun;
    if (pr.concurrent && timedOut) {
      r = timeBounded(pr, pf, limits, { states: 0, transitions: 0, depth: 0, ms: 0 }, false);
    } else {
      const p0 = performance.now();
      try {
        r = runScenarioProfile(pr, pf, {
          maxStates: limits.maxStates,
          progress: (states, transitions, depth) => {
            const now = performance.now();
            progress({ kernel: pf.name, index: i + 1, of: profiles.length, states, transitions, depth, statesPerSec: Math.round((states * 1000) / Math.max(1, now - p0)), ms: Math.round(now - t0) });
            if (now > deadline) throw new TimeLimit(states, transitions, depth);
          },
        });
      } catch (e) {
        if (e instanceof TimeLimit) {
          timedOut = true;
          r = timeBounded(pr, pf, limits, { states: e.states, transitions: e.transitions, depth: e.depth, ms: performance.now() - p0 }, true);
        } else if (MODEL_ERRORS(e)) {
          r = { kernel: pf.name, error: `model error: ${(e as Error).message}`, values: {}, contentNames: [], violations: [], notes: [], checks: [], states: 0, trace: [] };
        } else throw e;
      }
      if (performance.now() > deadline) timedOut = true;
    }
    return {
      kernel: r.kernel,
      error: r.error,
      values: r.values,
      contentNames: r.contentNames,
      violations: r.violations,
      checks: r.checks.map((c) => {
        const schedule = c.trace ? scheduleOf(pr, c.trace) : null;
        return {
          line: c.line,
          clause: c.clause,
          status: c.status,
          observation: c.observation,
          positive: c.positive,
          negative: c.negative,
          reason: c.reason,
          ...(schedule && c.traceKind ? { traceKind: c.traceKind, schedule } : {}),
        };
      }),
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
  return {
    ok: true,
    scenario: pr.sc.name,
    source: pr.sc.source,
    concurrent: pr.concurrent,
    profiles: profiles.map((x) => x.name),
    runs,
    knobDiffs,
    limits,
    ms: Math.round(performance.now() - t0),
  };
}

/**
 * POST /api/steps: the run on one profile, step by step, with the state after
 * each step. For a race, with `schedule` (a witness's or counterexample's moves
 * from /api/run): each transition of that schedule replayed on this profile,
 * or the reason this profile has no run of it. Without a schedule a race is
 * shown in written order (the par threads one after another).
 */
export function apiSteps(text: string, kernel: string, schedule: Move[] | null): unknown {
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
  if (schedule && pr.concurrent) {
    const r = replaySchedule(pr, profile, schedule);
    if (!r.ok) return { ok: true, kernel: profile.name, concurrent: true, mode: 'schedule', replayed: false, reason: r.reason, initial: r.initial, steps: [] };
    return {
      ok: true,
      kernel: profile.name,
      concurrent: true,
      mode: 'schedule',
      replayed: true,
      numbering: r.numbering,
      initial: r.initial,
      steps: r.steps.map((s, index) => ({
        index,
        n: s.n,
        line: s.line,
        actor: s.actor,
        thread: s.threadName,
        segment: s.segment,
        text: s.text,
        result: s.result,
        violations: s.violations,
        notes: s.notes,
        trace: s.calls.map((c) => ({ fn: c.fn, what: c.what, ...knobsOf(c.knobs) })),
        state: s.state,
      })),
    };
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
      if (MODEL_ERRORS(e)) {
        error = `line ${st.line}: ${(e as Error).message}`;
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
      trace: run.traceLog
        .slice(t0)
        .filter((t) => !t.fn.startsWith('VIOLATION'))
        .map((t) => ({ fn: t.fn, what: t.what, ...knobsOf(t.knobs) })),
      state: snapshot(run),
    });
  }
  return {
    ok: true,
    kernel: profile.name,
    concurrent: pr.concurrent,
    mode: 'written',
    ...(pr.concurrent ? { note: 'this scenario has a race: these are its steps in written order (the par threads one after another, no background event), one schedule among those the explorer ran' } : {}),
    ...(error ? { error: { line: 1, column: 1, message: error } } : {}),
    initial,
    steps,
  };
}
