// An explorer worker thread (parallel.ts): expands a range of a BFS layer's
// states, rebuilt from the shared parent + delta tree, and hands back every
// transition -- the successor's fingerprint, its parent, the thread that moved
// and its delta -- in the order the single-threaded search would make them,
// plus the final states' clause values and outcome keys. The coordinator
// deduplicates and numbers them, so the search is the single-threaded one.

import { workerData, type MessagePort } from 'node:worker_threads';
import { Prepared, Run, evalPred, matchersOf } from '../interp/interpreter.js';
import { NULL_SINK } from '../model/kernel.js';
import { F_STRIDE, H_NEXT_FOLIO } from '../model/state.js';
import { profileMatches, type Profile } from '../profiles/profiles.js';
import { Canonicalizer } from './canon.js';
import { DeltaTree, encodeDelta } from './delta.js';
import { Program, exploreSwitches, expandState, outcomeOfRun, type ExpandCtx, type ExploreOptions } from './explorer.js';
import type { LayerJob, LayerResult } from './parallel.js';

interface Init {
  sc: Prepared['sc'];
  info: Prepared['info'];
  profile: Profile;
  opts: ExploreOptions;
  port: MessagePort;
  flag: Int32Array;
  index: number;
}

const init = workerData as Init;
const pr = new Prepared(init.sc, init.info);
const sw = exploreSwitches(init.opts);
const run = new Run(pr, init.profile);
const L = run.k.L;
const prog = new Program(pr, sw.compactCtl);
const off = prog.ks;
const total = off + L.size;
const work = new Int32Array(total);
work.set(run.k.s, off);
prog.initCtl(work);
const kview = work.subarray(off, total);
run.k.s = kview;
run.k.sink = NULL_SINK;
const cur = work.slice();
const tree = new DeltaTree(cur, work);
const canon = new Canonicalizer(L);
const clauses = pr.sc.clauses.filter((c) => {
  const ms = matchersOf(pr.sc, c);
  return !ms || profileMatches(ms, init.profile);
});
const resultNames = [...pr.resultIndex.keys()];
const en: number[] = [];
const ctx: ExpandCtx = {
  prog,
  run,
  canon,
  sym: sw.sym,
  incremental: sw.incrementalHash,
  work,
  work64: new Float64Array(work.buffer, 0, total >> 1),
  kview,
  cur,
  cur64: new Float64Array(cur.buffer, 0, total >> 1),
};

let out = new Uint8Array(1 << 16);
let cands = new Int32Array(1 << 12);

init.port.on('message', (job: LayerJob) => {
  try {
    expand(job);
  } catch (e) {
    console.error(e);
    Atomics.store(init.flag, init.index, -1);
    Atomics.notify(init.flag, init.index);
  }
});

function expand(job: LayerJob): void {
  tree.attach(job.chunks, job.offs);
  let nc = 0;
  let bytes = 0;
  const finals: LayerResult['finals'] = [];
  let depthHit = false;
  for (let id = job.start; id < job.end; id++) {
    const k = id - job.layerStart;
    tree.moveTo(id, job.depth, job.parent);
    const plen = off + L.folios + cur[off + H_NEXT_FOLIO]! * F_STRIDE;
    prog.enabled(work, en);
    if (en.length === 0) {
      const o = outcomeOfRun(pr, run);
      finals.push({ id, v: clauses.map((c) => evalPred(c.pred, o)), key: JSON.stringify([[...o.violations], resultNames.map((n) => o.result(n))]) });
      continue;
    }
    if (job.depth >= job.maxDepth) {
      depthHit = true;
      continue;
    }
    expandState(ctx, plen, job.fa[k]! >>> 0, job.fb[k]! >>> 0, en, (slot, fa, fb, changed, nch) => {
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
      cands[nc++] = slot;
      const end = encodeDelta(out, bytes, changed, nch, work);
      cands[nc++] = end;
      bytes = end;
      return false;
    });
  }
  const c = cands.slice(0, nc);
  const b = out.slice(0, bytes);
  const res: LayerResult = { cands: c, bytes: b, finals, depthHit };
  init.port.postMessage(res, [c.buffer, b.buffer]);
  Atomics.store(init.flag, init.index, 1);
  Atomics.notify(init.flag, init.index);
}
