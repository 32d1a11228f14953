// The explorer's fingerprint set (src/explore/fpset.ts): 64 segments, each grown on its own. A lost or
// invented entry would silently merge states or explore one twice, so it is held against a JS Set.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FpSet } from '../src/explore/fpset.js';

/** xorshift32: the same stream every run */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function against(name: string, next: () => [number, number], n: number): void {
  const s = new FpSet();
  const ref = new Set<string>();
  for (let i = 0; i < n; i++) {
    const [a, b] = next();
    // (0, 0) is stored as (0, 1): the two are one fingerprint, as documented
    const key = a === 0 && b === 0 ? '0,1' : `${a},${b}`;
    const fresh = !ref.has(key);
    ref.add(key);
    if (s.add(a, b) !== fresh) assert.fail(`${name}: insert ${i} (${a}, ${b}) answered ${!fresh}, expected ${fresh}`);
  }
  assert.equal(s.size, ref.size, name);
}

test('FpSet answers as a Set: random fingerprints with repeats, past many segment growths', () => {
  const r = rng(7);
  const seen: [number, number][] = [];
  against('random', () => {
    if (seen.length && r() % 3 === 0) return seen[r() % seen.length]!; // a repeat
    const f: [number, number] = [r(), r()];
    seen.push(f);
    return f;
  }, 300_000);
});

test('FpSet: every fingerprint in one segment (same top bits), and (0, 0) beside (0, 1)', () => {
  const r = rng(11);
  against('one segment', () => [r() % 5000, 0x12345678], 20_000);
  let i = 0;
  against('zeros', () => (i++ % 2 ? [0, 0] : [0, 1]), 10);
});
