// A worker thread (piscina) runs one scenario on one profile. Results are
// plain data, identical to the single-threaded run's.

import { readFileSync } from 'node:fs';
import { parseScenario } from './lang/parser.js';
import { checkScenario } from './lang/check.js';
import { Prepared, type ProfileRun } from './interp/interpreter.js';
import { runScenarioProfile, type RunOptions } from './interp/runner.js';
import { parseProfileText } from './profiles/profiles.js';

export interface WorkerTask {
  file: string;
  kernel: string;
  opts: RunOptions;
}

const cache = new Map<string, Prepared>();

export default function runTask(task: WorkerTask): ProfileRun {
  let pr = cache.get(task.file);
  if (!pr) {
    const sc = parseScenario(readFileSync(task.file, 'utf8'), task.file);
    pr = new Prepared(sc, checkScenario(sc));
    cache.set(task.file, pr);
  }
  const run = runScenarioProfile(pr, parseProfileText(task.kernel), task.opts);
  delete run.kernelState;
  return run;
}
