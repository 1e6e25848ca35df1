import assert from 'node:assert/strict';
import { test } from 'node:test';

import { resample, StreamingResampler } from '../js/resampler.js';

function sine(freq, rate, seconds, amp = 0.5) {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

/** Amplitude and phase of `freq` in x (single-bin DFT over the middle part). */
function tone(x, freq, rate, skip = 200) {
  let re = 0;
  let im = 0;
  const n = x.length - 2 * skip;
  for (let i = skip; i < skip + n; i++) {
    re += x[i] * Math.cos((2 * Math.PI * freq * i) / rate);
    im -= x[i] * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / n;
}

function rmsOf(x, skip = 200) {
  let s = 0;
  for (let i = skip; i < x.length - skip; i++) s += x[i] * x[i];
  return Math.sqrt(s / (x.length - 2 * skip));
}

test('1 kHz at 44100 → 16000 keeps frequency and amplitude', () => {
  const x = sine(1000, 44100, 1, 0.5);
  const y = resample(x, 44100, 16000);
  assert.ok(Math.abs(y.length - 16000) <= 2, `length ${y.length}`);
  assert.ok(Math.abs(tone(y, 1000, 16000) - 0.5) < 0.01, `amplitude ${tone(y, 1000, 16000)}`);
  // All the energy is at 1 kHz: the tone's RMS equals the signal's RMS.
  assert.ok(Math.abs(rmsOf(y) - 0.5 / Math.SQRT2) < 0.005);
  // Neighbouring frequencies carry nothing.
  assert.ok(tone(y, 1100, 16000) < 0.01);
});

test('anti-aliasing: a 10 kHz tone is removed when going to 16 kHz', () => {
  const y = resample(sine(10_000, 44100, 0.5, 0.5), 44100, 16000);
  assert.ok(rmsOf(y) < 0.005, `residual ${rmsOf(y)}`);
  // …and would alias to 6 kHz otherwise.
  assert.ok(tone(y, 6000, 16000) < 0.005);
});

test('streaming in odd block sizes equals one-shot', () => {
  const x = sine(440, 44100, 0.4, 0.8);
  for (let i = 0; i < x.length; i++) x[i] += 0.1 * Math.sin(i * 0.37); // non-trivial content
  const oneShot = new StreamingResampler(44100, 16000, { maxBlock: x.length });
  const ref = new Float32Array(oneShot.maxOutput(x.length));
  const nRef = oneShot.process(x, ref);
  const r = new StreamingResampler(44100, 16000);
  const out = new Float32Array(nRef + 16);
  const scratch = new Float32Array(r.maxOutput(1000));
  let n = 0;
  const sizes = [1, 7, 128, 333, 2, 999, 64, 13];
  for (let off = 0, k = 0; off < x.length; k++) {
    const len = Math.min(sizes[k % sizes.length], x.length - off);
    const m = r.process(x.subarray(off, off + len), scratch);
    out.set(scratch.subarray(0, m), n);
    n += m;
    off += len;
  }
  assert.equal(n, nRef);
  let maxDiff = 0;
  for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - ref[i]));
  assert.ok(maxDiff < 1e-6, `max difference ${maxDiff}`);
});

test('48000 → 16000 and 24000 → 44100 keep a 1 kHz tone', () => {
  const y = resample(sine(1000, 48000, 0.5), 48000, 16000);
  assert.ok(Math.abs(y.length - 8000) <= 2);
  assert.ok(Math.abs(tone(y, 1000, 16000) - 0.5) < 0.01);
  const z = resample(sine(1000, 24000, 0.5), 24000, 44100);
  assert.ok(Math.abs(z.length - 22050) <= 2);
  assert.ok(Math.abs(tone(z, 1000, 44100) - 0.5) < 0.01);
});

test('equal rates pass through unchanged (48000 and 16000)', () => {
  for (const rate of [48000, 16000]) {
    const r = new StreamingResampler(rate, rate);
    assert.equal(r.passthrough, true);
    const x = sine(300, rate, 0.01);
    const out = new Float32Array(r.maxOutput(x.length));
    const n = r.process(x, out);
    assert.equal(n, x.length);
    assert.deepEqual(out.subarray(0, n), x);
  }
});

test('the read position never drifts: output count matches the rate ratio', () => {
  const r = new StreamingResampler(44100, 16000);
  const block = new Float32Array(128);
  const out = new Float32Array(r.maxOutput(128));
  let total = 0;
  const blocks = 44100 * 10 / 128; // 10 s, not a whole number of blocks
  for (let i = 0; i < Math.floor(blocks); i++) total += r.process(block, out);
  const expected = (Math.floor(blocks) * 128 * 16000) / 44100;
  assert.ok(Math.abs(total - expected) <= r.halfWidth, `${total} vs ${expected}`);
});

test('no allocation growth for blocks within maxBlock', () => {
  const r = new StreamingResampler(44100, 16000);
  const buf = r._buf;
  const out = new Float32Array(r.maxOutput(128));
  for (let i = 0; i < 1000; i++) r.process(new Float32Array(128), out);
  assert.equal(r._buf, buf);
});

test('rejects bad rates', () => {
  assert.throws(() => new StreamingResampler(0, 16000), RangeError);
  assert.throws(() => new StreamingResampler(44100.5, 16000), RangeError);
});
