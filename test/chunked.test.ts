// The explorer's chunked per-state arrays (src/explore/chunked.ts): what is set is what is got, across the
// first chunk's doublings and into later chunks, in the order the explorer writes (ascending ids) and not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chunked } from '../src/explore/chunked.js';

test('Chunked keeps every value across the first chunk growing and new chunks (ascending, as the explorer writes)', () => {
  const n = 200_000; // past three chunks of 64 Ki
  const a = new Chunked(Int32Array);
  const m = new Chunked(Int16Array);
  for (let i = 0; i < n; i++) {
    a.set(i, i * 7 - 3);
    m.set(i, i % 9);
  }
  for (let i = 0; i < n; i += 1) {
    if (a.get(i) !== i * 7 - 3 || m.get(i) !== i % 9) assert.fail(`index ${i}: ${a.get(i)}, ${m.get(i)}`);
  }
  assert.equal(a.chunks.length, Math.ceil(n / 65536));
  // nothing held beyond the used chunks: the last one partly used, the rest full
  assert.equal(a.bytes(), a.chunks.length * 65536 * 4);
});

test('Chunked: a write far ahead grows to it and keeps what was written; a small one stays small', () => {
  const a = new Chunked(Uint32Array, true);
  a.set(5, 55);
  assert.equal(a.bytes(), 1024 * 4, 'a small array is one 1 Ki chunk');
  a.set(3000, 3);
  assert.equal(a.get(5), 55);
  assert.equal(a.get(3000), 3);
  a.set(150_000, 0xffffffff);
  assert.equal(a.get(150_000), 0xffffffff);
  assert.equal(a.get(5), 55);
  assert.equal(a.get(3000), 3);
  assert.ok(a.chunks.every((c) => c.buffer instanceof SharedArrayBuffer));
  // another thread's view of the same chunks reads the same values
  const b = new Chunked(Uint32Array);
  b.attach(a.chunks);
  assert.equal(b.get(150_000), 0xffffffff);
});
