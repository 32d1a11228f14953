// A `check --jobs N` worker thread (piscina) runs one scenario file, whole: parses the text the command
// read (a file is read once) and runs it on its profiles (or the given ones), sharing runs between
// profiles as one thread does (runScenarioProfiles). Results are plain data, identical to the
// single-threaded run's; a file with an input error comes back as { error: true }, and the command makes
// the error again itself from the same text, where its class is known. The
// compiled tree's worker is this module's default export; the bundled command's is the same function in
// the bundle (runCheckTask, loaded by bin/check-worker.cjs).

import { runScenarioProfiles, type RunOptions } from './interp/runner.js';
import { parseProfileText } from './profiles/profiles.js';
import type { ScenarioResult } from './report/report.js';
import { prepareText, resultOf } from './scenario_file.js';

export interface WorkerTask {
  file: string;
  /** the file's text, as the command read it */
  text: string;
  /** the profiles' names (parseProfileText gives the profile back), or null for the file's own `kernels` line */
  kernels: string[] | null;
  opts: RunOptions;
  share: boolean;
}

export default function runTask(task: WorkerTask): { result: ScenarioResult } | { error: true } {
  let ready;
  try {
    ready = prepareText(task.file, task.text, task.kernels && task.kernels.map((k) => parseProfileText(k)));
  } catch {
    return { error: true };
  }
  const runs = runScenarioProfiles(ready.pr, ready.profiles, task.opts, task.share);
  for (const r of runs) delete r.kernelState;
  return { result: resultOf(task.file, ready.pr, runs) };
}
