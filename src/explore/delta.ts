// Stored states as parent + delta. Every state the explorer keeps is the list
// of words in which it differs from its parent (the words the transition and
// the renumberings changed), varint-coded: the gap to the previous changed
// index and the zigzag value, a few bytes a word, ~8 words a transition. A
// BFS layer is then just a range of state ids (ids are handed out layer by
// layer, and within a layer in the order of their parents), and a state is
// rebuilt by walking the tree from the last one rebuilt: undo the deltas up to
// the common ancestor, apply the new ones down. Consecutive states share most
// of their path, so a layer costs about one delta per ancestor edge.
//
// The rebuilt state is kept in `cur` and mirrored into `work` (the buffer the
// transitions run on), so neither is ever copied whole.

import { Chunked } from './chunked.js';

const CHUNK = 1 << 20;
const FIRST = 1 << 14;

export class DeltaTree {
  private chunks: Uint8Array<ArrayBufferLike>[] = [];
  private top = 0;
  /** where each state's delta starts: chunk * CHUNK + byte offset */
  private offs: Chunked<Uint32Array>;
  /** ids of the states on the path to the one in `cur`, by depth */
  private path: number[] = [0];
  private undoTop: number[] = [0];
  private depth = 0;
  private undo = new Int32Array(1024);
  private sp = 0;
  private tmp: number[] = [];
  /** bytes of deltas written */
  deltaBytes = 0;

  constructor(
    readonly cur: Int32Array,
    readonly work: Int32Array,
    /** chunks and offsets in SharedArrayBuffers, for explorer worker threads to read (parallel.ts) */
    private readonly shared = false,
  ) {
    this.offs = new Chunked(Uint32Array, shared);
  }

  /** The shared chunks and offsets (a worker's tree reads them through attach()). */
  shares(): { chunks: Uint8Array[]; offs: Uint32Array[] } {
    return { chunks: this.chunks, offs: this.offs.chunks };
  }
  /** Read the deltas of another thread's tree. */
  attach(chunks: Uint8Array[], offs: Uint32Array[]): void {
    this.chunks = chunks;
    this.offs.attach(offs);
  }

  private newChunk(n: number): Uint8Array {
    return this.shared ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
  }
  /**
   * Make room for `n` more bytes in the last chunk. The first chunk starts at FIRST bytes and doubles (copied)
   * up to CHUNK, so a small search -- most of the corpus's -- does not zero a megabyte; then whole chunks.
   */
  private room(n: number): void {
    const last = this.chunks[this.chunks.length - 1];
    // (a delta starts below CHUNK: its offset says chunk * CHUNK + start; only an oversized chunk, made for
    // one delta larger than CHUNK, is used past it)
    if (last && this.top < CHUNK && this.top + n <= last.length) return;
    if (last && last.length < CHUNK && this.top + n <= CHUNK) {
      let len = last.length * 2;
      while (len < this.top + n) len *= 2;
      const c = this.newChunk(Math.min(len, CHUNK));
      c.set(last.subarray(0, this.top));
      this.chunks[this.chunks.length - 1] = c;
      return;
    }
    this.chunks.push(this.newChunk(last ? Math.max(CHUNK, n) : Math.max(FIRST, n)));
    this.top = 0;
  }

  /** Record state `id` (the next id) from a delta another thread encoded (encodeDelta) in src[from, to). */
  addEncoded(id: number, src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.room(n);
    const c = this.chunks.length - 1;
    const buf = this.chunks[c]!;
    this.offs.set(id, c * CHUNK + this.top);
    buf.set(src.subarray(from, to), this.top);
    this.top += n;
    this.deltaBytes += n;
  }

  /** Record state `id` (the next id) as `n` changed words (indices `idx[0..n)`, ascending) with their values in `src`. */
  add(id: number, idx: Int32Array, n: number, src: Int32Array): void {
    this.room(5 + n * 10);
    const c = this.chunks.length - 1;
    const p = encodeDelta(this.chunks[c]!, this.top, idx, n, src);
    this.offs.set(id, c * CHUNK + this.top);
    this.deltaBytes += p - this.top;
    this.top = p;
  }

  /** Rebuild state `id` at depth `d` in `cur` and `work` (both hold the previously rebuilt state). */
  moveTo(id: number, d: number, parent: Chunked<Int32Array>): void {
    const path = this.path;
    const tmp = this.tmp;
    let a = id;
    let j = d;
    while (j > this.depth || a !== path[j]) {
      tmp[j] = a;
      a = parent.get(a);
      j--;
    }
    const cur = this.cur;
    const work = this.work;
    const undo = this.undo;
    // back up to the common ancestor at depth j
    const stop = this.undoTop[j + 1] ?? this.sp;
    if (j < this.depth) {
      let sp = this.sp;
      while (sp > stop) {
        sp -= 2;
        const i = undo[sp]!;
        const v = undo[sp + 1]!;
        cur[i] = v;
        work[i] = v;
      }
      this.sp = sp;
    }
    // and down to id
    for (let t = j + 1; t <= d; t++) {
      const x = tmp[t]!;
      this.undoTop[t] = this.sp;
      path[t] = x;
      const off = this.offs.get(x);
      const buf = this.chunks[Math.floor(off / CHUNK)]!;
      let p = off % CHUNK;
      const n = get(buf, p);
      p = NEXT;
      if (this.sp + 2 * n > undo.length) this.growUndo(this.sp + 2 * n);
      let i = -1;
      for (let k = 0; k < n; k++) {
        i += get(buf, p) + 1;
        p = NEXT;
        const z = get(buf, p);
        p = NEXT;
        const v = (z >>> 1) ^ -(z & 1);
        this.undo[this.sp++] = i;
        this.undo[this.sp++] = cur[i]!;
        cur[i] = v;
        work[i] = v;
      }
    }
    this.depth = d;
  }

  private growUndo(n: number): void {
    let len = this.undo.length;
    while (len < n) len *= 2;
    const u = new Int32Array(len);
    u.set(this.undo);
    this.undo = u;
  }

  /** Bytes held: the deltas' chunks, their offsets and the undo stack. */
  bytes(): number {
    let b = this.offs.bytes() + this.undo.byteLength;
    for (const c of this.chunks) b += c.byteLength;
    return b;
  }
}

/** Write the delta of `n` changed words (indices idx[0..n), ascending; values in src) at buf[p]; returns the end. Needs 5 + 10n bytes at most. */
export function encodeDelta(buf: Uint8Array, p: number, idx: Int32Array, n: number, src: Int32Array): number {
  p = put(buf, p, n);
  let prev = -1;
  for (let j = 0; j < n; j++) {
    const i = idx[j]!;
    p = put(buf, p, i - prev - 1);
    prev = i;
    const v = src[i]!;
    p = put(buf, p, ((v << 1) ^ (v >> 31)) >>> 0);
  }
  return p;
}

function put(buf: Uint8Array, p: number, z: number): number {
  while (z >= 0x80) {
    buf[p++] = (z & 0x7f) | 0x80;
    z = z >>> 7;
  }
  buf[p++] = z;
  return p;
}

// where get() stopped (a module variable, so reading a varint allocates nothing)
let NEXT = 0;
function get(buf: Uint8Array, p: number): number {
  let b = buf[p++]!;
  let z = b & 0x7f;
  let mul = 0x80;
  while (b & 0x80) {
    b = buf[p++]!;
    z += (b & 0x7f) * mul;
    mul *= 0x80;
  }
  NEXT = p;
  return z;
}
