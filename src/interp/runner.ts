// Runs a prepared scenario on one profile: straight through when it has no
// concurrency, through the explorer when it has `par` or `background`.

import { runProfile, Prepared, type ProfileRun } from './interpreter.js';
import { explore, type ExploreOptions } from '../explore/explorer.js';
import { randomExplore } from '../explore/random.js';
import type { Profile } from '../profiles/profiles.js';

export interface RunOptions extends ExploreOptions {
  /** random-walk mode: this many walks per clause */
  random?: number;
  seed?: number;
}

export function runScenarioProfile(pr: Prepared, profile: Profile, opts: RunOptions = {}): ProfileRun {
  if (!pr.concurrent) return runProfile(pr, profile);
  // a straight run first: interface errors (e.g. io_uring before 5.1) are reported the same way
  const straight = runProfile(pr, profile);
  if (straight.error) return straight;
  const x = opts.random ? randomExplore(pr, profile, { runs: opts.random, seed: opts.seed ?? 1, ...(opts.maxDepth ? { maxDepth: opts.maxDepth } : {}) }) : explore(pr, profile, opts);
  const first = x.outcomes[0];
  return {
    kernel: profile.name,
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
