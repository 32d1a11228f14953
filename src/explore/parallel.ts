// One exploration on several cores (ExploreOptions.jobs, `pinlab run --jobs`).
// The search stays breadth-first and layer-synchronous: each BFS layer (an id
// range of the parent + delta tree, in SharedArrayBuffers) is cut into small
// chunks that the coordinator and N-1 worker threads (pworker.ts) take in turn
// from a shared counter, so a thread the machine delays holds up one chunk,
// not half a layer. A chunk's states are rebuilt from the tree and expanded --
// the model, the renumbering, the changed words, the fingerprints: nearly all
// the work -- into a list of every transition (successor fingerprint, parent,
// thread, delta) in the order the single-threaded search makes them. The
// coordinator merges the chunks in order through the one fingerprint set (a
// chunk it takes when every earlier one is merged it expands straight into the
// set, as the single-threaded search does), so state ids, parents, witnesses
// and outcomes are identical to one thread's.
//
// explore() is synchronous, so the coordinator waits with Atomics.wait and
// reads answers with receiveMessageOnPort rather than with the event loop.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { MessagePort, Worker } from 'node:worker_threads';
import type { Prepared, Run } from '../interp/interpreter.js';
import { F_STRIDE, H_NEXT_FOLIO } from '../model/state.js';
import type { Clause } from '../lang/ast.js';
import type { Profile } from '../profiles/profiles.js';
import { encodeDelta, type DeltaTree } from './delta.js';
import { Chunked } from './chunked.js';
import { expandState, finalOf, type ExpandCtx, type ExploreOptions } from './explorer.js';

// node:worker_threads is loaded when a pool is made, not with the explorer: it costs every command ~4 ms to load
let WT: typeof import('node:worker_threads') | undefined;
const wt = (): typeof import('node:worker_threads') => (WT ??= createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads'));

/** A layer handed to the workers: ids [layerStart, layerStart + count) at `depth`, in chunks of `chunk` taken from counter[0]. */
export interface LayerJob {
  layerStart: number;
  count: number;
  chunk: number;
  counter: Int32Array;
  depth: number;
  maxDepth: number;
  /** fingerprints of the layer's states */
  fa: Int32Array;
  fb: Int32Array;
  /** whether each state of the layer is a fixed point of renumbering (then a transition may skip it, as in one thread) */
  fix: Uint8Array;
  /** the parent tree's chunks (chunked.ts) */
  parent: Int32Array[];
  chunks: Uint8Array[];
  offs: Uint32Array[];
}

/** Every transition from a chunk: (fa, fb, parent id, slot | fixed << 16, end of its delta in bytes) each; the finals in id order. */
export interface LayerResult {
  c: number;
  cands: Int32Array;
  bytes: Uint8Array;
  finals: { id: number; v: boolean[]; key: string }[];
  depthHit: boolean;
}

/** A thread's means to expand chunks: its model, buffers and a reader of the shared tree. */
export interface ChunkCtx {
  x: ExpandCtx;
  tree: DeltaTree;
  /** each state's parent (the coordinator's, or a worker's view of its chunks) */
  parent: Chunked<Int32Array>;
  pr: Prepared;
  clauses: Clause[];
  resultNames: string[];
  en: number[];
}

let out = new Uint8Array(1 << 16);
let cands = new Int32Array(1 << 12);

/** Expand chunk c of a layer into the list of its transitions. */
export function expandChunk(k: ChunkCtx, job: LayerJob, c: number): LayerResult {
  const { x, tree, en } = k;
  const { prog, run, cur, work } = x;
  const L = run.k.L;
  const off = prog.ks;
  const start = job.layerStart + c * job.chunk;
  const end = Math.min(job.layerStart + job.count, start + job.chunk);
  let nc = 0;
  let bytes = 0;
  const finals: LayerResult['finals'] = [];
  let depthHit = false;
  for (let id = start; id < end; id++) {
    tree.moveTo(id, job.depth, k.parent);
    prog.enabled(work, en);
    if (en.length === 0) {
      finals.push({ id, ...finalOf(k.pr, run as Run, k.clauses, k.resultNames) });
      continue;
    }
    if (job.depth >= job.maxDepth) {
      depthHit = true;
      continue;
    }
    const plen = off + L.folios + cur[off + H_NEXT_FOLIO]! * F_STRIDE;
    const i = id - job.layerStart;
    expandState(x, plen, job.fa[i]! >>> 0, job.fb[i]! >>> 0, job.fix[i] === 1, en, (slot, fa, fb, changed, nch, _len, fixed) => {
      if (nc + 5 > cands.length) {
        const c2 = new Int32Array(cands.length * 2);
        c2.set(cands);
        cands = c2;
      }
      if (bytes + 5 + 10 * nch > out.length) {
        const o2 = new Uint8Array(Math.max(out.length * 2, bytes + 5 + 10 * nch));
        o2.set(out);
        out = o2;
      }
      cands[nc++] = fa;
      cands[nc++] = fb;
      cands[nc++] = id;
      cands[nc++] = slot | (fixed ? 0x10000 : 0); // the successor is a fixed point of renumbering
      bytes = encodeDelta(out, bytes, changed, nch, work);
      cands[nc++] = bytes;
      return false;
    });
  }
  return { c, cands: cands.slice(0, nc), bytes: out.slice(0, bytes), finals, depthHit };
}

/** pworker.js beside this module, or -- from the command line's bundle (scripts/build-cli.mjs, in dist/src) -- in the compiled tree's explore/. */
function workerUrl(): string {
  const here = new URL('./pworker.js', import.meta.url);
  return (existsSync(fileURLToPath(here)) ? here : new URL('./explore/pworker.js', import.meta.url)).href;
}

export class ExplorePool {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  /** [0]: answers posted so far; [1]: -1 once a worker failed */
  private readonly mail: Int32Array;
  private seenMail = 0;

  constructor(
    pr: Prepared,
    profile: Profile,
    opts: ExploreOptions,
    readonly n: number,
  ) {
    this.mail = new Int32Array(new SharedArrayBuffer(8));
    const { progress: _p, memory: _m, ...plain } = opts;
    for (let i = 0; i < n; i++) {
      const ch = new (wt().MessageChannel)();
      // a bootstrap that reports a worker that fails to load (the coordinator is blocked, it sees no 'error' event)
      const boot = `const { workerData: d } = require('node:worker_threads');
import(d.url).catch((e) => { console.error(e); Atomics.store(d.mail, 1, -1); Atomics.add(d.mail, 0, 1); Atomics.notify(d.mail, 0); });`;
      const w = new (wt().Worker)(boot, {
        eval: true,
        workerData: { url: workerUrl(), sc: pr.sc, info: pr.info, profile, opts: plain, port: ch.port2, mail: this.mail },
        transferList: [ch.port2],
      });
      w.unref();
      this.workers.push(w);
      this.ports.push(ch.port1);
    }
  }

  /** Hand a layer to every worker. */
  post(job: LayerJob): void {
    for (const p of this.ports) p.postMessage(job);
  }

  /** Answers that have arrived, into `into` by chunk. */
  drain(into: (LayerResult | undefined)[]): void {
    this.seenMail = Atomics.load(this.mail, 0);
    if (Atomics.load(this.mail, 1) === -1) throw new Error('pinlab: an explorer worker thread failed');
    const receive = wt().receiveMessageOnPort;
    for (const p of this.ports)
      for (let m = receive(p); m; m = receive(p)) {
        const r = m.message as LayerResult;
        into[r.c] = r;
      }
  }

  /** Wait until a worker posts another answer (or a while). */
  wait(): void {
    Atomics.wait(this.mail, 0, this.seenMail, 50);
  }

  close(): void {
    for (const p of this.ports) p.close();
    for (const w of this.workers) void w.terminate();
  }
}
