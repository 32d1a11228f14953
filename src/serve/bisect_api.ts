// POST /api/bisect and GET /api/profiles of `pinlab serve` (src/bisect.ts on
// the page). /api/bisect runs in a worker (src/serve/job.ts) like /api/run:
// between two profiles (`from`, `to`), or a profile and the same profile with
// one knob switched (`from`, `toggle`: the page's "what if"), each observable
// that differs with the minimal knob set behind it. The same limits as a run:
// states per explored profile, and wall time for the whole request (a bisect
// stopped by it answers ok: false with the reason, never a partial set).

import { Bisector, BisectTimeout, bisectJson } from '../bisect.js';
import { KNOBS, KNOB_BY_NAME } from '../profiles/knobs.js';
import { VERSIONS, knobsOfVersion, parseProfileText, ProfileError, type Profile } from '../profiles/profiles.js';
import { prepare } from './prepare.js';
import type { Limits } from './api.js';

export interface BisectTask {
  text: string;
  from: string;
  /** the other profile, or */
  to?: string;
  /** a knob to switch on `from` (on when `from` lacks it, off when it has it) */
  toggle?: string;
}

/** The profile `from` with one knob switched. */
export function toggled(from: Profile, knob: string): string {
  return `${from.name}${from.knobs.has(knob) ? '-' : '+'}${knob}`;
}

export function apiBisect(task: BisectTask, limits: Limits): unknown {
  const p = prepare(task.text);
  if ('error' in p) return { ok: false, error: p.error };
  let from: Profile;
  let to: Profile;
  try {
    from = parseProfileText(task.from);
    if (task.toggle !== undefined) {
      if (!KNOB_BY_NAME.has(task.toggle)) return { ok: false, error: { line: 1, column: 1, message: `unknown knob '${task.toggle}'` } };
      to = parseProfileText(toggled(from, task.toggle));
    } else to = parseProfileText(task.to ?? '');
  } catch (e) {
    if (e instanceof ProfileError) return { ok: false, error: { line: 1, column: 1, message: e.message } };
    throw e;
  }
  const t0 = performance.now();
  const b = new Bisector(p.pr, { run: { maxStates: limits.maxStates }, deadline: t0 + limits.timeMs });
  try {
    const r = b.bisect(from, to);
    return { ok: true, scenario: p.pr.sc.name, ...bisectJson(r), runs: r.runs, ms: Math.round(performance.now() - t0) };
  } catch (e) {
    if (e instanceof BisectTimeout)
      return { ok: false, error: { line: 1, column: 1, message: `stopped by the time limit (${limits.timeMs / 1000} s) after ${b.runs} profile run(s): no answer` } };
    throw e;
  }
}

/** GET /api/profiles: each version's knobs and each knob's commit and title (what `pinlab profiles --json` has, without the evidence). */
export function apiProfiles(): unknown {
  return {
    versions: VERSIONS.map((v) => ({ version: v, knobs: [...knobsOfVersion(v)] })),
    knobs: KNOBS.map((k) => ({ name: k.name, commit: k.commit, title: k.title, since: k.since, ...(k.until ? { until: k.until } : {}) })),
  };
}
