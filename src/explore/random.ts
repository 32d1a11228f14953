// Random-walk mode for spaces too big to exhaust (`--random N --seed S`).
// A walk is driven by an array of choices (choice i picks among the threads
// enabled at step i); fast-check generates the arrays, and when a walk reaches
// a witness (exists) or a counterexample (expect, never), fast-check's
// shrinker minimises the choice array -- every candidate is re-walked, so the
// shrunk schedule is a real, shorter trace. A walk that finds nothing proves
// nothing: such clauses are reported "not explored", never "passed".

import { createRequire } from 'node:module';
import type * as FastCheck from 'fast-check';
import { NULL_SINK } from '../model/kernel.js';
import { evalPred, matchersOf, Prepared, Run } from '../interp/interpreter.js';
import { profileMatches, type Profile } from '../profiles/profiles.js';
import { Program, replay, outcomeOfRun, type ClauseVerdict, type ExploreResult, type FinalOutcome } from './explorer.js';

/**
 * fast-check, loaded when a random walk first needs it: it is a quarter of the command line's
 * bundle (scripts/build-cli.mjs), and only `--random` uses it.
 */
let fcModule: typeof FastCheck | null = null;
function fastCheck(): typeof FastCheck {
  return (fcModule ??= createRequire(import.meta.url)('fast-check') as typeof FastCheck);
}

export interface RandomOptions {
  runs: number;
  seed: number;
  maxDepth?: number;
}

/** Walk one schedule from the initial state; returns the moves taken and whether the clause's predicate held at the end. */
function walk(pr: Prepared, profile: Profile, prog: Program, choices: number[], maxDepth: number, pred: (run: Run) => boolean): { moves: number[]; holds: boolean; final: boolean } {
  const run = new Run(pr, profile);
  const s = prog.attach(run);
  run.k.sink = NULL_SINK;
  const en: number[] = [];
  const moves: number[] = [];
  for (let i = 0; i < maxDepth; i++) {
    prog.enabled(s, en);
    if (en.length === 0) return { moves, holds: pred(run), final: true };
    const slot = en[(choices[i] ?? 0) % en.length]!;
    moves.push(slot);
    prog.advance(run, s, slot);
  }
  return { moves, holds: false, final: false };
}

export function randomExplore(pr: Prepared, profile: Profile, opts: RandomOptions): ExploreResult {
  const t0 = performance.now();
  const prog = new Program(pr);
  const maxDepth = opts.maxDepth ?? 10_000;
  const clauses = pr.sc.clauses.filter((c) => {
    const ms = matchersOf(pr.sc, c);
    return !ms || profileMatches(ms, profile);
  });
  let walks = 0;
  let transitions = 0;
  const outcomes = new Map<string, number[]>();
  const fc = fastCheck();
  const verdicts: ClauseVerdict[] = clauses.map((c) => {
    let positive = 0;
    let negative = 0;
    // the property fails exactly when this walk is what we are looking for
    const lookingFor = (holds: boolean) => (c.kind === 'exists' ? holds : c.kind === 'never' ? holds : !holds);
    const check = (run: Run) => evalPred(c.pred, outcomeOfRun(pr, run));
    const result = fc.check(
      fc.property(fc.array(fc.nat({ max: 1 << 16 }), { maxLength: 200 }), (choices) => {
        const w = walk(pr, profile, prog, choices, maxDepth, check);
        walks++;
        transitions += w.moves.length;
        if (!w.final) return true;
        if (w.holds) positive++;
        else negative++;
        const key = JSON.stringify(w.moves);
        if (outcomes.size < 64 && !outcomes.has(key)) outcomes.set(key, w.moves);
        return !lookingFor(w.holds);
      }),
      { numRuns: opts.runs, seed: opts.seed },
    );
    const v: ClauseVerdict = { clause: c, positive, negative, observation: negative === 0 && positive > 0 ? 'Always' : positive === 0 ? 'Never' : 'Sometimes', status: 'failed' };
    if (result.failed && result.counterexample) {
      const w = walk(pr, profile, prog, result.counterexample[0] as number[], maxDepth, check);
      v.trace = replay(pr, profile, prog, w.moves).steps;
      v.status = c.kind === 'exists' ? 'passed' : 'failed';
      v.reason = `${c.kind === 'exists' ? 'witness' : 'counterexample'} found by random walk (seed ${opts.seed}), shrunk ${result.numShrinks} time(s)`;
    } else {
      v.status = 'failed';
      v.reason = `random walk: ${c.kind === 'exists' ? 'no witness' : 'no counterexample'} in ${opts.runs} walks (seed ${opts.seed}); not a proof`;
    }
    return v;
  });
  const finals: FinalOutcome[] = [];
  const seen = new Set<string>();
  for (const moves of outcomes.values()) {
    const o = replay(pr, profile, prog, moves).outcome;
    const key = JSON.stringify([o.values, o.violations.map((v) => v.kind)]);
    if (!seen.has(key)) {
      seen.add(key);
      finals.push(o);
    }
  }
  return {
    states: walks,
    transitions,
    finals: walks,
    depth: 0,
    complete: false,
    random: { walks, seed: opts.seed },
    collisionProbability: 0,
    outcomes: finals,
    verdicts,
    ms: performance.now() - t0,
  };
}
