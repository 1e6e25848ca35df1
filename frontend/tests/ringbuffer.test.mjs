import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FloatRingBuffer } from '../js/ringbuffer.js';

const seq = (from, n) => Float32Array.from({ length: n }, (_, i) => from + i);

test('push and pull in order', () => {
  const rb = new FloatRingBuffer(8);
  assert.equal(rb.capacity, 8);
  assert.equal(rb.push(seq(1, 5)), 5);
  assert.equal(rb.available, 5);
  assert.equal(rb.free, 3);
  const out = new Float32Array(3);
  assert.equal(rb.pull(out), 3);
  assert.deepEqual(Array.from(out), [1, 2, 3]);
  assert.equal(rb.available, 2);
});

test('wraps around', () => {
  const rb = new FloatRingBuffer(8);
  rb.push(seq(1, 6));
  rb.pull(new Float32Array(5));
  assert.equal(rb.push(seq(7, 6)), 6); // crosses the end of the storage
  const out = new Float32Array(7);
  assert.equal(rb.pull(out), 7);
  assert.deepEqual(Array.from(out), [6, 7, 8, 9, 10, 11, 12]);
  assert.equal(rb.available, 0);
});

test('overflow keeps what fits and drops the rest of the block', () => {
  const rb = new FloatRingBuffer(4);
  assert.equal(rb.push(seq(1, 3)), 3);
  assert.equal(rb.push(seq(10, 3)), 1);
  assert.equal(rb.push(seq(20, 1)), 0);
  const out = new Float32Array(4);
  rb.pull(out);
  assert.deepEqual(Array.from(out), [1, 2, 3, 10]);
});

test('pull on underrun returns the count and leaves the rest untouched', () => {
  const rb = new FloatRingBuffer(8);
  rb.push(seq(1, 2));
  const out = new Float32Array(5).fill(-9);
  assert.equal(rb.pull(out), 2);
  assert.deepEqual(Array.from(out), [1, 2, -9, -9, -9]);
  assert.equal(rb.pull(out), 0);
});

test('offset and length on push and pull', () => {
  const rb = new FloatRingBuffer(8);
  rb.push(seq(0, 10), 3, 4); // 3,4,5,6
  const out = new Float32Array(6);
  assert.equal(rb.pull(out, 2, 3), 3);
  assert.deepEqual(Array.from(out), [0, 0, 3, 4, 5, 0]);
});

test('clear empties it', () => {
  const rb = new FloatRingBuffer(8);
  rb.push(seq(1, 7));
  rb.clear();
  assert.equal(rb.available, 0);
  assert.equal(rb.free, 8);
  rb.push(seq(100, 2));
  const out = new Float32Array(2);
  rb.pull(out);
  assert.deepEqual(Array.from(out), [100, 101]);
});

test('rejects a bad capacity', () => {
  assert.throws(() => new FloatRingBuffer(0), RangeError);
  assert.throws(() => new FloatRingBuffer(2.5), RangeError);
});
