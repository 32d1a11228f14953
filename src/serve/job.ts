// A worker thread of `pinlab serve` (src/serve/pool.ts): runs one /api/run or
// /api/steps request at a time, posting progress while it explores and the
// result at the end. The server terminates it to cancel.

import { parentPort } from 'node:worker_threads';
import { apiRun, apiSteps, type Limits } from './api.js';
import { apiBisect, type BisectTask } from './bisect_api.js';
import type { Move } from '../explore/witness.js';

export type JobTask =
  | { kind: 'run'; text: string; limits: Limits }
  | { kind: 'steps'; text: string; kernel: string; schedule: Move[] | null }
  | { kind: 'bisect'; task: BisectTask; limits: Limits };

export type JobMessage = { id: number; progress: unknown } | { id: number; result: unknown } | { id: number; fail: string };

const port = parentPort;
if (port) {
  port.on('message', ({ id, task }: { id: number; task: JobTask }) => {
    try {
      const result =
        task.kind === 'run'
          ? apiRun(task.text, task.limits, (progress) => port.postMessage({ id, progress }))
          : task.kind === 'bisect'
            ? apiBisect(task.task, task.limits)
            : apiSteps(task.text, task.kernel, task.schedule);
      port.postMessage({ id, result });
    } catch (e) {
      port.postMessage({ id, fail: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
}
