// Parse and check a scenario as the CLI does, for `pinlab serve`: used by the
// server for /api/check and by the worker (src/serve/job.ts) for runs.

import { parseScenario } from '../lang/parser.js';
import { checkScenario } from '../lang/check.js';
import { PinlabSyntaxError } from '../lang/errors.js';
import { Prepared } from '../interp/interpreter.js';
import { kernelsOf, ProfileError, type Profile } from '../profiles/profiles.js';

export type ErrorJson = { line: number; column: number; message: string };

/** Parse and check text; a syntax or semantic error becomes {line, column, message}. */
export function prepare(text: string): { pr: Prepared } | { error: ErrorJson } {
  try {
    const sc = parseScenario(text, 'editor.pin');
    const info = checkScenario(sc);
    return { pr: new Prepared(sc, info) };
  } catch (e) {
    if (e instanceof PinlabSyntaxError) return { error: { line: e.line, column: e.col, message: e.message } };
    throw e;
  }
}

/** The scenario's profiles, or the `kernels` line's error. */
export function profilesOf(pr: Prepared): { profiles: Profile[] } | { error: ErrorJson } {
  try {
    return { profiles: kernelsOf(pr.sc.kernels) };
  } catch (e) {
    if (e instanceof ProfileError) return { error: { line: 1, column: 1, message: e.message } };
    throw e;
  }
}

/** POST /api/check */
export function apiCheck(text: string): unknown {
  const p = prepare(text);
  if ('error' in p) return { ok: false, error: p.error };
  const ps = profilesOf(p.pr);
  if ('error' in ps) return { ok: false, error: ps.error };
  return { ok: true, name: p.pr.sc.name, kernels: ps.profiles.map((x) => x.name) };
}
