// Runs a prepared scenario on one profile: straight through when it has no
// concurrency, through the explorer when it has `par` or `background`.

import { matchersOf, runProfile, Prepared, type ProfileRun } from './interpreter.js';
import { explore, exploreSwitches, type ExploreOptions } from '../explore/explorer.js';
import { randomExplore } from '../explore/random.js';
import { PROFILE_ASKED, profileMatches, type AskingProfile, type Profile } from '../profiles/profiles.js';

export interface RunOptions extends ExploreOptions {
  /** random-walk mode: this many walks per clause */
  random?: number;
  seed?: number;
}

/** `kernel` names the result (runScenarioProfiles passes it so as not to ask a recording profile its name). */
export function runScenarioProfile(pr: Prepared, profile: Profile, opts: RunOptions = {}, kernel: string = profile.name): ProfileRun {
  if (!pr.concurrent) return runProfile(pr, profile, kernel);
  // a straight run first: interface errors (e.g. io_uring before 5.1) are reported the same way
  const straight = runProfile(pr, profile, kernel);
  if (straight.error) return straight;
  const x = opts.random ? randomExplore(pr, profile, { runs: opts.random, seed: opts.seed ?? 1, ...(opts.maxDepth ? { maxDepth: opts.maxDepth } : {}) }) : explore(pr, profile, opts);
  const first = x.outcomes[0];
  return {
    kernel,
    values: first?.values ?? {},
    contentNames: first?.contentNames ?? [],
    violations: first?.violations ?? [],
    notes: straight.notes.filter((n) => !n.msg.startsWith('this scenario has')),
    checks: x.verdicts.map((v) => ({
      line: v.clause.line,
      clause: v.clause.text,
      status: v.status,
      passed: v.status === 'passed',
      positive: v.positive,
      negative: v.negative,
      observation: v.observation,
      ...(v.reason ? { reason: v.reason } : {}),
      ...(v.trace ? { trace: v.trace, traceKind: v.clause.kind === 'exists' ? ('witness' as const) : ('counterexample' as const) } : {}),
    })),
    states: x.states,
    trace: [],
    outcomes: x.outcomes,
    explored: {
      states: x.states,
      transitions: x.transitions,
      complete: x.complete,
      depth: x.depth,
      finals: x.finals,
      ms: x.ms,
      collisionProbability: x.collisionProbability,
      ...(x.bound ? { bound: x.bound } : {}),
      ...(x.random ? { random: x.random } : {}),
    },
  };
}

// ---- runs shared between profiles (`check`)
//
// A run reads its profile only by asking it questions: the model asks whether a knob is on
// (Kernel.on -> knobs.has), the interpreter and the explorer which clauses are for the profile
// (profileMatches), and messages say the profile's name. A run is a deterministic function of the
// prepared scenario, the options and those answers. So a run made with a profile that records every
// question and its answer serves every later profile that gives the same answers: most scenarios
// ask about a handful of knobs, and most of their 4-17 profiles agree on those. The recording is
// dynamic: whatever the model asks in the future is recorded too. A question a run asks in any
// other way (the name, the version, the mods, the knob set whole) is recorded as well, with its
// answer: the name is asked only on paths whose messages show it, and no two profiles share one.

interface Question {
  ask: (p: Profile) => unknown;
  answer: unknown;
}

/** The questions a run asked of its profile, with the answers. */
class Asked {
  readonly knobs = new Map<string, boolean>();
  readonly questions = new Map<unknown, Question>();

  /** Ask the recorded profile, once per key. */
  ask<T>(real: Profile, key: unknown, ask: (p: Profile) => T): T {
    let q = this.questions.get(key);
    if (!q) this.questions.set(key, (q = { ask, answer: ask(real) }));
    return q.answer as T;
  }

  /** The questions as they stand when the run is over (compared with every later profile). */
  seal(): Sealed {
    return { knobs: [...this.knobs.keys()], on: [...this.knobs.values()], questions: [...this.questions.values()] };
  }
}

interface Sealed {
  knobs: string[];
  on: boolean[];
  questions: Question[];
}

/** Does this profile answer every question alike? */
function agrees(a: Sealed, p: Profile): boolean {
  const { knobs, on } = a;
  for (let i = 0; i < knobs.length; i++) if (p.knobs.has(knobs[i]!) !== on[i]) return false;
  for (const q of a.questions) if (q.ask(p) !== q.answer) return false;
  return true;
}

const wholeKnobSet = (p: Profile): string => [...p.knobs].sort().join(' ');

/** A profile's knobs, each `has` recorded; anything that reads the set whole records the set. */
class RecordingKnobs implements ReadonlySet<string> {
  constructor(
    private readonly real: Profile,
    private readonly asked: Asked,
  ) {}
  has(k: string): boolean {
    let on = this.asked.knobs.get(k);
    if (on === undefined) this.asked.knobs.set(k, (on = this.real.knobs.has(k)));
    return on;
  }
  private whole(): ReadonlySet<string> {
    this.asked.ask(this.real, 'knobs', wholeKnobSet);
    return this.real.knobs;
  }
  get size(): number {
    return this.whole().size;
  }
  forEach(f: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    this.whole().forEach((v) => f.call(thisArg, v, v, this));
  }
  entries(): IterableIterator<[string, string]> {
    return this.whole().entries();
  }
  keys(): IterableIterator<string> {
    return this.whole().keys();
  }
  values(): IterableIterator<string> {
    return this.whole().values();
  }
  [Symbol.iterator](): IterableIterator<string> {
    return this.whole()[Symbol.iterator]();
  }
}

/** `real` as seen by a run whose questions `asked` records (a class: an object literal with getters is slow to make). */
class RecordingProfile implements AskingProfile {
  readonly knobs: RecordingKnobs;
  constructor(
    private readonly real: Profile,
    private readonly asked: Asked,
  ) {
    this.knobs = new RecordingKnobs(real, asked);
  }
  get name(): string {
    return this.asked.ask(this.real, 'name', (p) => p.name);
  }
  get version(): string {
    return this.asked.ask(this.real, 'version', (p) => p.version);
  }
  get mods(): Profile['mods'] {
    this.asked.ask(this.real, 'mods', (p) => p.mods.map((m) => m.op + m.knob).join(''));
    return this.real.mods;
  }
  /** profileMatches: the question whole, keyed by the matchers (memoised per clause by matchersOf) */
  [PROFILE_ASKED](key: object, ask: (p: Profile) => boolean): boolean {
    return this.asked.ask(this.real, key, ask);
  }
}

/** Whether `check` shares runs: on unless --no-share or PINLAB_NO_SHARE=1. */
export function shareByDefault(): boolean {
  const v = process.env.PINLAB_NO_SHARE;
  return v === undefined || v === '' || v === '0';
}

/**
 * Run a prepared scenario on each profile, in order, as runScenarioProfile does, except that a
 * profile answering alike every question an earlier run asked of its profile gets that run (a
 * shallow copy: its own `kernel`, and `sharedFrom` naming the profile it was computed on). No
 * run carries `kernelState` here: a Kernel holds the knobs of the profile it ran on.
 * With `share` false every run is computed (and still has no kernelState).
 */
export function runScenarioProfiles(pr: Prepared, profiles: readonly Profile[], opts: RunOptions = {}, share = true): ProfileRun[] {
  // an exploration on several threads sends the profile to its workers, whose questions are not recorded
  if (pr.concurrent && exploreSwitches(opts).jobs > 1) share = false;
  const done: { asked: Sealed; clauses: string; run: ProfileRun }[] = [];
  return profiles.map((p) => {
    if (!share) {
      const run = runScenarioProfile(pr, p, opts);
      delete run.kernelState;
      return run;
    }
    // which clauses are for the profile (the runs ask this too, through profileMatches; stated here as well)
    const clauses = pr.sc.clauses.map((c) => {
      const ms = matchersOf(pr.sc, c);
      return !ms || profileMatches(ms, p) ? '1' : '0';
    }).join('');
    for (const d of done) if (d.clauses === clauses && agrees(d.asked, p)) return { ...d.run, kernel: p.name, sharedFrom: d.run.kernel };
    const asked = new Asked();
    const run = runScenarioProfile(pr, new RecordingProfile(p, asked), opts, p.name);
    delete run.kernelState;
    done.push({ asked: asked.seal(), clauses, run });
    return run;
  });
}
