// A set of 64-bit state fingerprints in open addressing over typed arrays
// (two 32-bit lanes per slot), mapping each to a dense state id. No objects
// per state: ../shared/research/anchors.md B.1 measured this layout at SPIN's
// speed in Node, and JSON-keyed sets 12x slower.

export class FpSet {
  private lo: Uint32Array;
  private hi: Uint32Array;
  private ids: Int32Array;
  private mask: number;
  size = 0;

  constructor(log2 = 12) {
    const n = 1 << log2;
    this.lo = new Uint32Array(n);
    this.hi = new Uint32Array(n);
    this.ids = new Int32Array(n).fill(-1);
    this.mask = n - 1;
  }

  /** The id of fingerprint (a, b), inserting it with `id` if new. Returns -1 if it was new. */
  getOrAdd(a: number, b: number, id: number): number {
    if (this.size * 2 >= this.mask) this.grow();
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask;
    for (;;) {
      const cur = this.ids[i]!;
      if (cur < 0) {
        this.lo[i] = a;
        this.hi[i] = b;
        this.ids[i] = id;
        this.size++;
        return -1;
      }
      if (this.lo[i] === a && this.hi[i] === b) return cur;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const { lo, hi, ids } = this;
    const n = (this.mask + 1) * 2;
    this.lo = new Uint32Array(n);
    this.hi = new Uint32Array(n);
    this.ids = new Int32Array(n).fill(-1);
    this.mask = n - 1;
    this.size = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i]! >= 0) this.getOrAdd(lo[i]!, hi[i]!, ids[i]!);
  }

  /** Bytes held by the table. */
  bytes(): number {
    return this.lo.byteLength * 3;
  }
}

/** Probability that some two of n states share a 64-bit fingerprint (birthday bound n^2 / 2^65). */
export function collisionBound(n: number): number {
  return (n * n) / 2 ** 65;
}
