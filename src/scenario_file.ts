// A scenario file made ready to run: read, parsed, checked, and the profiles it runs on; and the result
// document of its runs. For the command line (cli.ts) and `check --jobs`'s worker threads (worker.ts).

import { readFileSync } from 'node:fs';
import { parseScenario } from './lang/parser.js';
import { checkScenario } from './lang/check.js';
import { Prepared, type ProfileRun } from './interp/interpreter.js';
import { kernelsOf, type Profile } from './profiles/profiles.js';
import type { ScenarioResult } from './report/report.js';

/** An input error: printed as is, exit 2. */
export class InputError extends Error {}

/** A scenario file's text (an InputError if it cannot be read). */
export function readScenarioFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`pinlab: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Parse and check a scenario file; the profiles it will run on (its own `kernels` line, or `kernels`). */
export function prepareFile(file: string, kernels: Profile[] | null): { pr: Prepared; profiles: Profile[] } {
  return prepareText(file, readScenarioFile(file), kernels);
}

/** prepareFile for a file's text, read once (a file is read once: it may be a pipe, or change meanwhile). */
export function prepareText(file: string, text: string, kernels: Profile[] | null): { pr: Prepared; profiles: Profile[] } {
  const sc = parseScenario(text, file);
  const info = checkScenario(sc);
  const pr = new Prepared(sc, info);
  const profiles = kernels ?? kernelsOf(sc.kernels);
  return { pr, profiles };
}

/** The result document of a scenario's runs. */
export function resultOf(file: string, pr: Prepared, runs: ProfileRun[]): ScenarioResult {
  return { scenario: pr.sc.name, file, source: pr.sc.source, concurrent: pr.concurrent, runs, lines: pr.sc.lines };
}
