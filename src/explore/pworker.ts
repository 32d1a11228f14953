// An explorer worker thread (parallel.ts): for each layer it is handed, takes
// chunks from the shared counter, expands them (expandChunk) and posts each
// chunk's transitions to the coordinator.

import { workerData, type MessagePort } from 'node:worker_threads';
import { Prepared, Run, matchersOf } from '../interp/interpreter.js';
import { NULL_SINK } from '../model/kernel.js';
import { profileMatches, type Profile } from '../profiles/profiles.js';
import { Canonicalizer } from './canon.js';
import { Chunked } from './chunked.js';
import { DeltaTree } from './delta.js';
import { Program, exploreSwitches, type ExploreOptions, WriteLog } from './explorer.js';
import { expandChunk, type ChunkCtx, type LayerJob } from './parallel.js';

interface Init {
  sc: Prepared['sc'];
  info: Prepared['info'];
  profile: Profile;
  opts: ExploreOptions;
  port: MessagePort;
  mail: Int32Array;
}

const init = workerData as Init;
const pr = new Prepared(init.sc, init.info);
const sw = exploreSwitches(init.opts);
const run = new Run(pr, init.profile);
const L = run.k.L;
const prog = new Program(pr, sw.compactCtl);
const total = prog.ks + L.size;
const work = new Int32Array(total);
work.set(run.k.s, prog.ks);
prog.initCtl(work);
const kview = work.subarray(prog.ks, total);
run.k.s = kview;
run.k.sink = NULL_SINK;
const cur = work.slice();
const canon = new Canonicalizer(L);
const wl = (sw.incrementalHash || sw.deltaStates) && sw.writeLog ? new WriteLog(prog, run.k, sw.sym, total) : null;
if (wl) canon.log = run.k;
const k: ChunkCtx = {
  parent: new Chunked(Int32Array),
  x: {
    prog,
    run,
    canon,
    sym: sw.sym,
    incremental: sw.incrementalHash,
    wl,
    work,
    work64: new Float64Array(work.buffer, 0, total >> 1),
    kview,
    cur,
    cur64: new Float64Array(cur.buffer, 0, total >> 1),
  },
  tree: new DeltaTree(cur, work),
  pr,
  clauses: pr.sc.clauses.filter((c) => {
    const ms = matchersOf(pr.sc, c);
    return !ms || profileMatches(ms, init.profile);
  }),
  resultNames: [...pr.resultIndex.keys()],
  en: [],
};

init.port.on('message', (job: LayerJob) => {
  try {
    k.tree.attach(job.chunks, job.offs);
    k.parent.attach(job.parent);
    const nchunks = Math.ceil(job.count / job.chunk);
    for (let c = Atomics.add(job.counter, 0, 1); c < nchunks; c = Atomics.add(job.counter, 0, 1)) {
      const r = expandChunk(k, job, c);
      init.port.postMessage(r, [r.cands.buffer as ArrayBuffer, r.bytes.buffer as ArrayBuffer]);
      Atomics.add(init.mail, 0, 1);
      Atomics.notify(init.mail, 0);
    }
  } catch (e) {
    console.error(e);
    Atomics.store(init.mail, 1, -1);
    Atomics.add(init.mail, 0, 1);
    Atomics.notify(init.mail, 0);
  }
});
