import assert from 'node:assert/strict';
import test from 'node:test';

import { AvSyncMeter, xcorrLagMs } from '../js/avsync.js';
import { levelToOpenness } from '../js/lipsync.js';
import { heardContextTime, PlaybackClock } from '../js/playback-clock.js';
import { VoiceHistory } from '../js/voice-history.js';
import { loadProcessor } from './worklet-harness.mjs';

test('clock: maps a context frame to the stream position played then', () => {
  const c = new PlaybackClock({ sampleRate: 48_000, inputRate: 24_000 });
  c.add([1000, 0, 128, 1128, 64, 128, 1256, 128, 40]); // the last quantum ran dry
  assert.equal(c.positionAt(999), null);
  assert.equal(c.positionAt(1000), 0);
  assert.equal(c.positionAt(1100), 50);
  assert.equal(c.positionAt(1256 + 20), 138);
  assert.equal(c.positionAt(1256 + 60), null); // silence after the 40 samples
  assert.equal(c.playedThrough(5000), 128 + 20);
  assert.equal(c.playedThrough(900), -1);
  c.add([2000, 500, 128]);
  assert.equal(c.positionAt(2000 + 200), null);
  assert.equal(c.positionAt(2000 + 200, 1000), 500 + 100); // extrapolated while it plays
});

test('clock: heard time is the output timestamp, else the render time minus the latencies', () => {
  const withTs = { currentTime: 10, getOutputTimestamp: () => ({ contextTime: 9.95, performanceTime: 1000 }) };
  assert.ok(Math.abs(heardContextTime(withTs, 1010) - 9.96) < 1e-9);
  const without = { currentTime: 10, baseLatency: 0.01, outputLatency: 0.03 };
  assert.ok(Math.abs(heardContextTime(without, 0) - 9.96) < 1e-9);
});

test('worklet: reports played quanta by stream position, across a flush', async () => {
  const make = await loadProcessor('playback-processor.js', 24_000);
  const { proc, posted, send } = make({ prebufferMs: 10, reportMs: 1 });
  const out = () => [[new Float32Array(128)]];
  send(new Int16Array(480).fill(1000).buffer); // positions 0..479
  for (let i = 0; i < 2; i++) proc.process([], out());
  send({ type: 'flush' });
  const flushed = posted.find((m) => m.type === 'flushed');
  // Two quanta played (256), then one quantum of fade.
  assert.equal(flushed.position, 384);
  proc.process([], out());
  send(new Int16Array(480).fill(1000).buffer); // positions 480..959
  proc.process([], out());
  const played = posted.filter((m) => m.type === 'status' && m.played?.length).flatMap((m) => Array.from(m.played));
  const positions = [];
  for (let i = 0; i < played.length; i += 3) positions.push([played[i + 1], played[i + 2]]);
  assert.deepEqual(positions, [[0, 128], [128, 128], [256, 128], [480, 128]]);
});

test('voice history: level and bands of the samples around a position', () => {
  const h = new VoiceHistory({ rate: 24_000, seconds: 1 });
  h.push(new Int16Array(2400)); // 100 ms of silence
  const tone = new Int16Array(2400);
  for (let i = 0; i < tone.length; i++) tone[i] = Math.round(16384 * Math.sin((2 * Math.PI * 400 * i) / 24_000));
  h.push(tone);
  assert.equal(h.level(1000), 0);
  assert.ok(Math.abs(h.level(3600) - 0.5 / Math.SQRT2) < 0.01);
  const b = h.bands(3600);
  assert.ok(b.low > 10 * (b.mid + b.high), JSON.stringify(b));
  h.push(new Int16Array(30_000)); // more than it holds: the oldest go
  assert.equal(h.has(0), false);
  assert.equal(h.end, 34_800);
});

test('av sync: the lag of a delayed copy is found to within a few ms', () => {
  const t = [];
  const x = [];
  for (let i = 0; i < 400; i++) {
    t.push(i * 16.7);
    x.push(Math.max(0, Math.sin(i / 3) + 0.3 * Math.sin(i / 1.7)));
  }
  const delayed = t.map((v) => v + 40);
  const lag = xcorrLagMs(t, x, delayed, x);
  assert.ok(Math.abs(lag - 40) < 4, `${lag}`);
  assert.equal(xcorrLagMs(t.slice(0, 5), x.slice(0, 5), t.slice(0, 5), x.slice(0, 5)), null);
});

test('av sync meter: a mouth that follows the heard level, held between drawn frames', () => {
  const meter = new AvSyncMeter();
  const level = (t) => 0.003 + 0.1 * Math.max(0, Math.sin(t / 90)) ** 2;
  let shape = 0;
  for (let i = 0; i < 240; i++) {
    const t = i * 16.7;
    if (i % 2 === 0) shape = levelToOpenness(level(t + 16.7)); // drawn for the middle of its 33 ms
    meter.add(t, level(t), t, shape);
  }
  const off = meter.offsetMs();
  assert.ok(Math.abs(off) < 5, `${off}`);
});
