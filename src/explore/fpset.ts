// A set of 64-bit state fingerprints in open addressing over typed arrays (the
// two 32-bit lanes of a slot side by side, so a probe touches one cache line).
// No objects per state: ../shared/research/anchors.md B.1 measured this layout
// at SPIN's speed in Node, and JSON-keyed sets 12x slower. The empty slot is
// (0, 0), so the fingerprint (0, 0) is stored as (0, 1): one more 2^-64 chance
// of merging two states, inside the bound below.
//
// The table is cut into SEGMENTS tables by the top bits of the second lane,
// each grown on its own when it is 3/4 full. One big table doubled at half
// full held 16-32 bytes a state and, while it was rehashed, its old copy too
// (a third more at that moment); here a growth copies one segment, and the
// segments sit between 3/8 and 3/4 full, 11-21 bytes a state. Small searches
// (most of the corpus's) start at 16 slots a segment, 8 KB in all.

const SEG_BITS = 6;
const SEGMENTS = 1 << SEG_BITS;

export class FpSet {
  private readonly t: Int32Array[] = [];
  private readonly mask = new Int32Array(SEGMENTS);
  /** entries per segment at which it grows */
  private readonly limit = new Int32Array(SEGMENTS);
  private readonly count = new Int32Array(SEGMENTS);
  size = 0;

  /** `log2`: slots a segment starts with. */
  constructor(log2 = 4) {
    const n = 1 << log2;
    for (let s = 0; s < SEGMENTS; s++) {
      this.t.push(new Int32Array(2 * n));
      this.mask[s] = n - 1;
      this.limit[s] = (n * 3) >> 2;
    }
  }

  /** Insert fingerprint (a, b) (unsigned 32-bit lanes). Returns true if it was new. */
  add(a: number, b: number): boolean {
    a |= 0;
    b |= 0;
    if (a === 0 && b === 0) b = 1;
    const s = b >>> (32 - SEG_BITS);
    if (this.count[s]! >= this.limit[s]!) this.grow(s);
    const t = this.t[s]!;
    const mask = this.mask[s]!;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
    for (;;) {
      const x = t[2 * i]!;
      const y = t[2 * i + 1]!;
      if (x === 0 && y === 0) {
        t[2 * i] = a;
        t[2 * i + 1] = b;
        this.count[s]!++;
        this.size++;
        return true;
      }
      if (x === a && y === b) return false;
      i = (i + 1) & mask;
    }
  }

  private grow(s: number): void {
    const old = this.t[s]!;
    const n = (this.mask[s]! + 1) * 2;
    const t = new Int32Array(2 * n);
    const mask = n - 1;
    for (let j = 0; j < old.length; j += 2) {
      const a = old[j]!;
      const b = old[j + 1]!;
      if (a === 0 && b === 0) continue;
      let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
      while (t[2 * i] !== 0 || t[2 * i + 1] !== 0) i = (i + 1) & mask;
      t[2 * i] = a;
      t[2 * i + 1] = b;
    }
    this.t[s] = t;
    this.mask[s] = mask;
    this.limit[s] = (n * 3) >> 2;
  }

  /** Bytes held by the tables. */
  bytes(): number {
    let b = 0;
    for (const t of this.t) b += t.byteLength;
    return b;
  }
}

/** Probability that some two of n states share a 64-bit fingerprint (birthday bound n^2 / 2^65). */
export function collisionBound(n: number): number {
  return (n * n) / 2 ** 65;
}
