import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadProcessor } from './worklet-harness.mjs';

const QUANTUM = 128;

function pcm24k(seconds, freq = 440, amp = 0.5) {
  const n = Math.round(24000 * seconds);
  const x = new Int16Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.round(amp * 32767 * Math.sin((2 * Math.PI * freq * i) / 24000));
  return x.buffer;
}

function render(proc, quanta) {
  const out = [];
  for (let q = 0; q < quanta; q++) {
    const ch = new Float32Array(QUANTUM);
    assert.equal(proc.process([], [[ch]]), true);
    out.push(ch);
  }
  const all = new Float32Array(quanta * QUANTUM);
  out.forEach((c, i) => all.set(c, i * QUANTUM));
  return all;
}

test('capture: 44.1 kHz stereo in, 20 ms blocks of 16 kHz PCM16 out', async () => {
  const make = await loadProcessor('capture-processor.js', 44100);
  const { proc, posted } = make();
  const seconds = 1;
  const quanta = Math.floor((44100 * seconds) / QUANTUM);
  for (let q = 0; q < quanta; q++) {
    const l = new Float32Array(QUANTUM);
    const r = new Float32Array(QUANTUM);
    for (let i = 0; i < QUANTUM; i++) {
      const n = q * QUANTUM + i;
      l[i] = 0.6 * Math.sin((2 * Math.PI * 1000 * n) / 44100);
      r[i] = l[i] * 0.5; // mono mixdown = 0.75 × l
    }
    assert.equal(proc.process([[l, r]], [[new Float32Array(QUANTUM)]]), true);
  }
  assert.ok(posted.length >= 48 && posted.length <= 50, `${posted.length} blocks`);
  for (const b of posted) {
    assert.ok(b instanceof ArrayBuffer);
    assert.equal(b.byteLength, 640);
  }
  // amplitude ≈ 0.45 full scale in the middle of the signal
  const mid = new Int16Array(posted[25]);
  const peak = Math.max(...Array.from(mid, Math.abs)) / 32768;
  assert.ok(Math.abs(peak - 0.45) < 0.02, `peak ${peak}`);
  // pause stops blocks; stop ends the processor
  proc.port.onmessage({ data: { type: 'pause' } });
  const before = posted.length;
  for (let q = 0; q < 200; q++) proc.process([[new Float32Array(QUANTUM).fill(0.1)]], [[new Float32Array(QUANTUM)]]);
  assert.equal(posted.length, before);
  proc.port.onmessage({ data: { type: 'stop' } });
  assert.equal(proc.process([[new Float32Array(QUANTUM)]], [[new Float32Array(QUANTUM)]]), false);
});

test('capture clamps loud input', async () => {
  const make = await loadProcessor('capture-processor.js', 48000);
  const { proc, posted } = make();
  for (let q = 0; q < 40; q++) proc.process([[new Float32Array(QUANTUM).fill(1.5)]], [[new Float32Array(QUANTUM)]]);
  const last = new Int16Array(posted.at(-1));
  assert.equal(Math.max(...last), 32767);
});

test('playback: waits for the pre-buffer, then plays, reports status', async () => {
  const make = await loadProcessor('playback-processor.js', 44100);
  const { proc, posted, send } = make({ prebufferMs: 70 });
  send(pcm24k(0.05)); // 50 ms < 70 ms
  let out = render(proc, 10);
  assert.equal(Math.max(...out.map(Math.abs)), 0);
  send(pcm24k(0.5));
  out = render(proc, 20);
  assert.ok(Math.max(...out.map(Math.abs)) > 0.4);
  const status = posted.filter((m) => m.type === 'status');
  assert.ok(status.length >= 3);
  const last = status.at(-1);
  assert.equal(last.playing, true);
  assert.ok(last.level > 0.2 && last.level < 0.5, `level ${last.level}`);
  assert.ok(last.bufferedMs > 400);
  assert.equal(last.underruns, 0);
});

test('playback: flush fades out within one quantum without a click, then silence', async () => {
  const make = await loadProcessor('playback-processor.js', 48000);
  const { proc, posted, send } = make({ prebufferMs: 20 });
  send(pcm24k(1, 440, 0.8));
  const before = render(proc, 10);
  send({ type: 'flush' });
  const fade = render(proc, 1);
  const after = render(proc, 20);
  assert.ok(posted.some((m) => m.type === 'flushed' && m.droppedMs > 500));
  // continuity: the first fade sample continues the waveform (no jump)
  const lastBefore = before.at(-1);
  assert.ok(Math.abs(fade[0] - lastBefore) < 0.1, `${lastBefore} → ${fade[0]}`);
  // the fade decays monotonically in envelope and ends at zero
  assert.ok(Math.abs(fade.at(-1)) < 1e-6);
  for (let i = 1; i < QUANTUM; i++) assert.ok(Math.abs(fade[i]) <= 0.8 * (1 - i / QUANTUM) + 0.02);
  assert.equal(Math.max(...after.map(Math.abs)), 0);
  // new audio after the flush plays normally
  send(pcm24k(0.2));
  const again = render(proc, 20);
  assert.ok(Math.max(...again.map(Math.abs)) > 0.4);
});

test('playback: a mid-turn gap counts one underrun and grows the pre-buffer by 20 ms', async () => {
  const make = await loadProcessor('playback-processor.js', 48000);
  const { proc, posted, send } = make({ prebufferMs: 70, maxPrebufferMs: 200 });
  send(pcm24k(0.1));
  render(proc, 60); // 160 ms: plays 100 ms, then starves
  send(pcm24k(0.1)); // more of the same turn
  render(proc, 10);
  const s = posted.filter((m) => m.type === 'status').at(-1);
  assert.equal(s.underruns, 1);
  assert.equal(s.prebufferMs, 90);
  for (let i = 0; i < 12; i++) {
    render(proc, 150); // 400 ms: plays the 300 ms sent, then a 100 ms gap
    send(pcm24k(0.3));
  }
  render(proc, 10);
  assert.equal(posted.filter((m) => m.type === 'status').at(-1).prebufferMs, 200);
});

test('playback: the end of a turn is not an underrun, and a short tail still plays', async () => {
  const make = await loadProcessor('playback-processor.js', 44100);
  const { proc, posted, send } = make({ prebufferMs: 70 });
  send(pcm24k(0.03)); // 30 ms: below the pre-buffer
  send({ type: 'end' });
  const out = render(proc, 30);
  assert.ok(Math.max(...out.map(Math.abs)) > 0.4, 'tail played');
  send(pcm24k(0.2)); // next turn
  render(proc, 40);
  const s = posted.filter((m) => m.type === 'status').at(-1);
  assert.equal(s.underruns, 0);
  // natural drain followed by turn_complete
  render(proc, 100);
  send({ type: 'end' });
  send(pcm24k(0.2));
  render(proc, 10);
  assert.equal(posted.filter((m) => m.type === 'status').at(-1).underruns, 0);
});

test('playback: overflow beyond capacity is dropped and reported', async () => {
  const make = await loadProcessor('playback-processor.js', 48000);
  const { proc, posted, send } = make({ capacityMs: 500 });
  send(pcm24k(0.8));
  render(proc, 10);
  const s = posted.filter((m) => m.type === 'status').at(-1);
  assert.ok(s.droppedMs > 250 && s.droppedMs < 350, `dropped ${s.droppedMs}`);
});
