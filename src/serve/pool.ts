// The worker threads of `pinlab serve`: each /api/run or /api/steps request
// runs in a worker of its own (src/serve/job.ts), so the request thread stays
// free. Cancelling a request terminates its worker (an exploration cannot be
// interrupted otherwise); a worker that finished cleanly is kept for the next
// request, up to `spare` of them, since starting one costs ~200 ms.

import { Worker } from 'node:worker_threads';
import type { JobMessage, JobTask } from './job.js';

export type JobOutcome =
  | { result: unknown }
  /** an exception in the worker (logged by the server, never shown) */
  | { fail: string }
  /** the worker stopped: out of memory, or exited (detail: for the server's log) */
  | { died: string; detail?: string }
  | { cancelled: true }
  /** too many requests running and waiting */
  | { busy: true };

export interface Job {
  done: Promise<JobOutcome>;
  cancel(): void;
}

export interface PoolOptions {
  /** requests running at once; more wait in a queue */
  maxRunning: number;
  maxQueued: number;
  /** idle workers kept ready */
  spare: number;
  /** heap limit of each worker (MiB) */
  memoryMb: number;
}

export class JobPool {
  private idle: Worker[] = [];
  private readonly busy = new Set<Worker>();
  /** every worker thread not yet exited (idle, busy, or being terminated) */
  private readonly live = new Set<Worker>();
  private readonly queue: (() => void)[] = [];
  private readonly cancels = new Set<() => void>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {}

  /** workers running a request now */
  running(): number {
    return this.busy.size;
  }
  queued(): number {
    return this.queue.length;
  }
  /** worker threads alive, and of them idle: after a cancel the terminated one is gone from both */
  threads(): { live: number; idle: number } {
    return { live: this.live.size, idle: this.idle.length };
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./job.js', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: this.opts.memoryMb } });
    w.unref();
    this.live.add(w);
    // a job attaches its own listeners; these keep an idle worker's death from being an uncaught 'error'
    w.on('error', () => {});
    w.on('exit', () => {
      this.live.delete(w);
      this.idle = this.idle.filter((x) => x !== w);
      this.busy.delete(w);
    });
    return w;
  }

  /** Start idle workers so the first request does not wait for one. */
  warm(): void {
    while (!this.closed && this.idle.length < Math.min(1, this.opts.spare)) this.idle.push(this.spawn());
  }

  submit(task: JobTask, onProgress: (p: unknown) => void): Job {
    const id = this.nextId++;
    let state: 'queued' | 'running' | 'done' = 'queued';
    let worker: Worker | null = null;
    let resolve!: (o: JobOutcome) => void;
    const done = new Promise<JobOutcome>((r) => (resolve = r));

    const onMessage = (m: JobMessage) => {
      if (m.id !== id) return;
      if ('progress' in m) onProgress(m.progress);
      else if ('result' in m) finish({ result: m.result }, true);
      else finish({ fail: m.fail }, false);
    };
    const onError = (e: Error & { code?: string }) =>
      finish(
        e.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? { died: `out of memory (the limit is ${this.opts.memoryMb} MiB per worker)` }
          : { died: 'the worker failed', detail: e.stack ?? String(e) },
        false,
      );
    const onExit = (code: number) => finish({ died: `the worker exited (${code})` }, false);

    const finish = (o: JobOutcome, reusable: boolean) => {
      if (state === 'done') return;
      state = 'done';
      this.cancels.delete(cancel);
      if (worker) {
        const w = worker;
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        this.busy.delete(w);
        if (reusable && !this.closed && this.idle.length < this.opts.spare) this.idle.push(w);
        else void w.terminate();
      }
      resolve(o);
      this.pump();
    };
    const start = () => {
      if (state !== 'queued') return;
      state = 'running';
      const w = this.idle.pop() ?? this.spawn();
      worker = w;
      this.busy.add(w);
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage({ id, task });
    };
    const cancel = () => {
      if (state === 'queued') {
        const i = this.queue.indexOf(start);
        if (i >= 0) this.queue.splice(i, 1);
        state = 'done';
        this.cancels.delete(cancel);
        resolve({ cancelled: true });
      } else if (state === 'running') finish({ cancelled: true }, false);
    };

    if (this.closed) {
      state = 'done';
      resolve({ cancelled: true });
    } else if (this.busy.size < this.opts.maxRunning) {
      this.cancels.add(cancel);
      start();
    } else if (this.queue.length < this.opts.maxQueued) {
      this.cancels.add(cancel);
      this.queue.push(start);
    } else {
      state = 'done';
      resolve({ busy: true });
    }
    return { done, cancel };
  }

  private pump(): void {
    while (!this.closed && this.busy.size < this.opts.maxRunning && this.queue.length) this.queue.shift()!();
  }

  /** Cancel everything and stop every worker. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of [...this.cancels]) c();
    const idle = this.idle;
    this.idle = [];
    await Promise.all(idle.map((w) => w.terminate()));
  }
}
