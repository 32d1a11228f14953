// A BFS layer of the explorer: the states waiting to be expanded, with their
// ids and fingerprints. Packed (the default): states sit one after another in
// a few large Int32Array chunks, with typed arrays for where each starts, its
// length, id and fingerprint -- no JavaScript object per state, so nothing for
// the garbage collector to trace or promote, and a layer's memory is reused by
// the layer after next. Unpacked (--no-packed-frontier): one Int32Array per
// state, as before, kept to measure the difference.

export interface Frontier {
  readonly size: number;
  /** Append the first `len` words of `src` as a state with this id and fingerprint. */
  push(src: Int32Array, len: number, id: number, fa: number, fb: number): void;
  /** State i lives in bufOf(i) from startOf(i), lenOf(i) words. */
  bufOf(i: number): Int32Array;
  startOf(i: number): number;
  /** bufOf(i) as float64 pairs (its start is even), for comparing two words at once; null if not aligned so. */
  buf64Of(i: number): Float64Array | null;
  lenOf(i: number): number;
  idOf(i: number): number;
  faOf(i: number): number;
  fbOf(i: number): number;
  /** Forget every state, keeping the memory for the next layer. */
  clear(): void;
  /** Bytes held. */
  bytes(): number;
}

const CHUNK = 1 << 20;

export class PackedFrontier implements Frontier {
  size = 0;
  private chunks: Int32Array[] = [];
  private chunks64: Float64Array[] = [];
  private chunk = 0;
  private top = 0;
  private readonly chunkWords: number;
  private where = new Int32Array(256); // chunk index << 0 in one array, start in the other
  private starts = new Int32Array(256);
  private lens = new Int32Array(256);
  private ids = new Int32Array(256);
  private fas = new Int32Array(256);
  private fbs = new Int32Array(256);

  constructor(maxStateWords: number) {
    this.chunkWords = Math.max(CHUNK, maxStateWords + 1) & ~1;
  }

  private growIndex(): void {
    const n = this.ids.length * 2;
    const g = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.where = g(this.where);
    this.starts = g(this.starts);
    this.lens = g(this.lens);
    this.ids = g(this.ids);
    this.fas = g(this.fas);
    this.fbs = g(this.fbs);
  }

  push(src: Int32Array, len: number, id: number, fa: number, fb: number): void {
    if (this.size === this.ids.length) this.growIndex();
    if (this.chunks.length === 0 || this.top + len > this.chunkWords) {
      if (this.chunks.length) this.chunk++;
      if (this.chunk === this.chunks.length) {
        const c = new Int32Array(this.chunkWords);
        this.chunks.push(c);
        this.chunks64.push(new Float64Array(c.buffer));
      }
      this.top = 0;
    }
    const buf = this.chunks[this.chunk]!;
    const at = this.top;
    for (let i = 0; i < len; i++) buf[at + i] = src[i]!;
    const k = this.size++;
    this.where[k] = this.chunk;
    this.starts[k] = at;
    this.lens[k] = len;
    this.ids[k] = id;
    this.fas[k] = fa;
    this.fbs[k] = fb;
    this.top = (at + len + 1) & ~1; // states start at even words
  }

  bufOf(i: number): Int32Array {
    return this.chunks[this.where[i]!]!;
  }
  startOf(i: number): number {
    return this.starts[i]!;
  }
  buf64Of(i: number): Float64Array {
    return this.chunks64[this.where[i]!]!;
  }
  lenOf(i: number): number {
    return this.lens[i]!;
  }
  idOf(i: number): number {
    return this.ids[i]!;
  }
  faOf(i: number): number {
    return this.fas[i]! >>> 0;
  }
  fbOf(i: number): number {
    return this.fbs[i]! >>> 0;
  }
  clear(): void {
    this.size = 0;
    this.chunk = 0;
    this.top = 0;
  }
  bytes(): number {
    return this.chunks.length * this.chunkWords * 4 + this.ids.length * 24;
  }
}

export class ArrayFrontier implements Frontier {
  private states: { s: Int32Array; id: number; fa: number; fb: number }[] = [];
  get size(): number {
    return this.states.length;
  }
  push(src: Int32Array, len: number, id: number, fa: number, fb: number): void {
    this.states.push({ s: src.slice(0, len), id, fa, fb });
  }
  bufOf(i: number): Int32Array {
    return this.states[i]!.s;
  }
  startOf(): number {
    return 0;
  }
  buf64Of(): null {
    return null;
  }
  lenOf(i: number): number {
    return this.states[i]!.s.length;
  }
  idOf(i: number): number {
    return this.states[i]!.id;
  }
  faOf(i: number): number {
    return this.states[i]!.fa;
  }
  fbOf(i: number): number {
    return this.states[i]!.fb;
  }
  clear(): void {
    this.states = [];
  }
  bytes(): number {
    return this.states.reduce((n, x) => n + x.s.byteLength + 64, 0);
  }
}
