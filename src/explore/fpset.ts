// A set of 64-bit state fingerprints in open addressing over one typed array
// (the two 32-bit lanes of a slot side by side, so a probe touches one cache
// line). No objects per state: ../shared/research/anchors.md B.1 measured this
// layout at SPIN's speed in Node, and JSON-keyed sets 12x slower. The empty
// slot is (0, 0), so the fingerprint (0, 0) is stored as (0, 1): one more
// 2^-64 chance of merging two states, inside the bound below.

export class FpSet {
  private t: Int32Array;
  private mask: number;
  size = 0;

  constructor(log2 = 12) {
    const n = 1 << log2;
    this.t = new Int32Array(2 * n);
    this.mask = n - 1;
  }

  /** Insert fingerprint (a, b) (unsigned 32-bit lanes). Returns true if it was new. */
  add(a: number, b: number): boolean {
    if (this.size * 2 >= this.mask) this.grow();
    a |= 0;
    b |= 0;
    if (a === 0 && b === 0) b = 1;
    const t = this.t;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask;
    for (;;) {
      const x = t[2 * i]!;
      const y = t[2 * i + 1]!;
      if (x === 0 && y === 0) {
        t[2 * i] = a;
        t[2 * i + 1] = b;
        this.size++;
        return true;
      }
      if (x === a && y === b) return false;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.t;
    const n = (this.mask + 1) * 2;
    this.t = new Int32Array(2 * n);
    this.mask = n - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) this.add(old[i]!, old[i + 1]!);
  }

  /** Bytes held by the table. */
  bytes(): number {
    return this.t.byteLength;
  }
}

/** Probability that some two of n states share a 64-bit fingerprint (birthday bound n^2 / 2^65). */
export function collisionBound(n: number): number {
  return (n * n) / 2 ** 65;
}
