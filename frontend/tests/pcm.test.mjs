import assert from 'node:assert/strict';
import { test } from 'node:test';

import { float32ToInt16, floatToInt16Sample, int16ToFloat32, rms } from '../js/pcm.js';

test('clamps ±1.5 and extremes', () => {
  const out = float32ToInt16(Float32Array.from([1.5, -1.5, 1, -1, 0, NaN, Infinity, -Infinity]));
  assert.deepEqual(Array.from(out), [32767, -32768, 32767, -32768, 0, 0, 32767, -32768]);
});

test('rounds to nearest', () => {
  assert.equal(floatToInt16Sample(0.5), 16384); // 16383.5 rounds up
  assert.equal(floatToInt16Sample(-0.5), -16384);
  assert.equal(floatToInt16Sample(1e-6), 0);
});

test('int16 → float32 range', () => {
  const f = int16ToFloat32(Int16Array.from([-32768, 0, 32767, 16384]));
  assert.equal(f[0], -1);
  assert.equal(f[1], 0);
  assert.ok(f[2] < 1 && f[2] > 0.9999);
  assert.equal(f[3], 0.5);
});

test('round trip within one quantisation step', () => {
  const x = new Float32Array(1000);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.1) * 0.9;
  const back = int16ToFloat32(float32ToInt16(x));
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(back[i] - x[i]) <= 0.5 / 32768 + 1e-7);
  const ints = Int16Array.from([-32768, -1, 0, 1, 32767, 12345]);
  assert.deepEqual(float32ToInt16(int16ToFloat32(ints)), ints);
});

test('writes into a given output buffer', () => {
  const out = new Int16Array(4);
  const r = float32ToInt16(Float32Array.from([0.25, -0.25]), out);
  assert.equal(r, out);
  assert.deepEqual(Array.from(out), [8192, -8192, 0, 0]);
});

test('rms', () => {
  assert.equal(rms(new Float32Array(0)), 0);
  assert.ok(Math.abs(rms(Float32Array.from([1, -1, 1, -1])) - 1) < 1e-9);
  assert.ok(Math.abs(rms(Float32Array.from([0, 0, 3, 4]), 2, 2) - Math.sqrt(12.5)) < 1e-6);
});
