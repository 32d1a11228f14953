// One exploration on several cores (ExploreOptions.jobs, `pinlab run --jobs`).
// The search stays breadth-first and layer-synchronous: each BFS layer (an id
// range of the shared parent + delta tree, in SharedArrayBuffers) is cut into
// contiguous ranges, one per worker thread (pworker.ts), which rebuild their
// states, run every transition (the model, the renumbering, the changed words
// and fingerprints: nearly all the work) and hand back the successors in the
// order the single-threaded search makes them. The coordinator takes the
// workers' answers in range order and does what is left -- the fingerprint
// set, numbering the new states, storing their deltas, the clause counts -- in
// exactly the single-threaded order, so states, ids, parents, witnesses and
// outcomes are identical to one thread's.
//
// explore() is synchronous, so the coordinator blocks on Atomics.wait and reads
// answers with receiveMessageOnPort rather than with the event loop.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Prepared } from '../interp/interpreter.js';
import type { Profile } from '../profiles/profiles.js';
import type { ExploreOptions } from './explorer.js';

/** What a worker expands: ids [start, end) of the layer [layerStart, ...) at `depth`. */
export interface LayerJob {
  start: number;
  end: number;
  layerStart: number;
  depth: number;
  maxDepth: number;
  /** fingerprints of the layer's states from layerStart */
  fa: Int32Array;
  fb: Int32Array;
  parent: Int32Array;
  chunks: Uint8Array[];
  offs: Uint32Array;
}

/** Every transition from the range: (fa, fb, parent id, slot, end of its delta in bytes) each; the finals in id order. */
export interface LayerResult {
  cands: Int32Array;
  bytes: Uint8Array;
  finals: { id: number; v: boolean[]; key: string }[];
  depthHit: boolean;
}

/** pworker.js beside this module, or -- from the command line's bundle (scripts/build-cli.mjs, in dist/src) -- in the compiled tree's explore/. */
function workerUrl(): string {
  const here = new URL('./pworker.js', import.meta.url);
  return (existsSync(fileURLToPath(here)) ? here : new URL('./explore/pworker.js', import.meta.url)).href;
}

export class ExplorePool {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly flag: Int32Array;

  constructor(
    pr: Prepared,
    profile: Profile,
    opts: ExploreOptions,
    readonly n: number,
  ) {
    this.flag = new Int32Array(new SharedArrayBuffer(4 * n));
    const { progress: _p, memory: _m, ...plain } = opts;
    for (let i = 0; i < n; i++) {
      const ch = new MessageChannel();
      // a bootstrap that reports a worker that fails to load (the coordinator is blocked, it sees no 'error' event)
      const boot = `const { workerData: d } = require('node:worker_threads');
import(d.url).catch((e) => { console.error(e); Atomics.store(d.flag, d.index, -1); Atomics.notify(d.flag, d.index); });`;
      const w = new Worker(boot, {
        eval: true,
        workerData: { url: workerUrl(), sc: pr.sc, info: pr.info, profile, opts: plain, port: ch.port2, flag: this.flag, index: i },
        transferList: [ch.port2],
      });
      w.unref();
      this.workers.push(w);
      this.ports.push(ch.port1);
    }
  }

  /** Give worker i its range. */
  post(i: number, job: LayerJob): void {
    Atomics.store(this.flag, i, 0);
    this.ports[i]!.postMessage(job);
  }

  /** Wait for worker i's answer. */
  take(i: number): LayerResult {
    for (;;) {
      const f = Atomics.load(this.flag, i);
      if (f === -1) throw new Error('pinlab: an explorer worker thread failed');
      if (f === 1) {
        const m = receiveMessageOnPort(this.ports[i]!);
        if (m) return m.message as LayerResult;
      }
      Atomics.wait(this.flag, i, f, f === 1 ? 1 : 1000);
    }
  }

  close(): void {
    for (const p of this.ports) p.close();
    for (const w of this.workers) void w.terminate();
  }
}
