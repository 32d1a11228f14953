// A growable typed array kept in chunks of 64 Ki entries, for the explorer's per-state arrays (a state's
// parent and move, its delta's offset). A typed array doubled by copying held up to twice what it used,
// and, until the collector freed it, the copy it grew from: at the peak, up to twice the array's size
// again. Chunks are never copied once full, so what is held is what is used plus one partial chunk. The
// first chunk starts small and doubles (copied) up to the chunk size, so a small search stays small.
// With `shared`, chunks are SharedArrayBuffers, for the explorer's worker threads to read (parallel.ts).

const BITS = 16;
const SIZE = 1 << BITS;
const LOW = SIZE - 1;

type Arr = Int32Array | Uint32Array | Int16Array;
type Ctor<T extends Arr> = { new (n: number): T; new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };

export class Chunked<T extends Arr> {
  chunks: T[] = [];

  constructor(
    private readonly C: Ctor<T>,
    private readonly shared = false,
    first = 1024,
  ) {
    this.chunks.push(this.make(Math.min(SIZE, Math.max(1, first))));
  }

  private make(n: number): T {
    return this.shared ? new this.C(new SharedArrayBuffer(n * this.C.BYTES_PER_ELEMENT)) : new this.C(n);
  }

  get(i: number): number {
    return this.chunks[i >>> BITS]![i & LOW]!;
  }

  set(i: number, v: number): void {
    const c = this.chunks[i >>> BITS];
    if (c === undefined || (i & LOW) >= c.length) this.grow(i);
    this.chunks[i >>> BITS]![i & LOW] = v;
  }

  private grow(i: number): void {
    const c = i >>> BITS;
    while (this.chunks.length <= c) {
      const last = this.chunks.length - 1;
      // the first chunk grows to full size before a second one exists
      if (this.chunks[last]!.length < SIZE) this.resizeFirst(SIZE);
      this.chunks.push(this.make(SIZE));
    }
    if (c === 0 && (i & LOW) >= this.chunks[0]!.length) {
      let n = this.chunks[0]!.length * 2;
      while (n <= i) n *= 2;
      this.resizeFirst(Math.min(n, SIZE));
    }
  }

  private resizeFirst(n: number): void {
    const a = this.make(n);
    a.set(this.chunks[0]!);
    this.chunks[0] = a;
  }

  /** Another thread's view of these chunks (the list as it was when sent). */
  attach(chunks: T[]): void {
    this.chunks = chunks;
  }

  bytes(): number {
    let b = 0;
    for (const c of this.chunks) b += c.byteLength;
    return b;
  }
}
