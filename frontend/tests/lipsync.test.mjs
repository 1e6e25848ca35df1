import assert from 'node:assert/strict';
import { test } from 'node:test';

import { classifyViseme, levelToOpenness, LipSync } from '../js/lipsync.js';
import { mouthPath, mouthShape } from '../js/avatar.js';

test('silence is closed, loud is open', () => {
  assert.equal(levelToOpenness(0), 0);
  assert.equal(levelToOpenness(0.001), 0); // -60 dBFS
  assert.equal(levelToOpenness(0.3), 1);
  const ls = new LipSync();
  for (let i = 0; i < 30; i++) ls.update(0, null, 33);
  assert.equal(ls.openness, 0);
  assert.equal(ls.viseme, 'closed');
  for (let i = 0; i < 10; i++) ls.update(0.3, null, 33);
  assert.ok(ls.openness > 0.95, `openness ${ls.openness}`);
  assert.notEqual(ls.viseme, 'closed');
});

test('mapping is monotonic in level', () => {
  let prev = -1;
  for (let db = -80; db <= 0; db += 0.5) {
    const o = levelToOpenness(10 ** (db / 20));
    assert.ok(o >= prev, `not monotonic at ${db} dB`);
    assert.ok(o >= 0 && o <= 1);
    prev = o;
  }
  // steady state of the smoothed value is monotonic too
  prev = -1;
  for (const level of [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]) {
    const ls = new LipSync();
    for (let i = 0; i < 60; i++) ls.update(level, null, 33);
    assert.ok(ls.openness >= prev - 1e-9);
    prev = ls.openness;
  }
});

test('attack is faster than release', () => {
  const up = new LipSync();
  up.update(0.3, null, 40);
  const opened = up.openness;
  const down = new LipSync();
  for (let i = 0; i < 30; i++) down.update(0.3, null, 33);
  down.update(0, null, 40);
  const closed = 1 - down.openness;
  assert.ok(opened > closed, `attack ${opened} vs release ${closed}`);
  assert.ok(opened > 0.5);
  // release still reaches closed within ~0.5 s
  for (let i = 0; i < 15; i++) down.update(0, null, 33);
  assert.ok(down.openness < 0.02);
});

test('smoothing holds between frames: no jump larger than the target change', () => {
  const ls = new LipSync();
  ls.update(0.3, null, 10);
  assert.ok(ls.openness > 0 && ls.openness < 1);
});

test('M shows briefly after the mouth closes, then closed', () => {
  const ls = new LipSync({ pressMs: 120 });
  for (let i = 0; i < 10; i++) ls.update(0.3, null, 33);
  const seen = [];
  for (let i = 0; i < 30; i++) seen.push(ls.update(0, null, 33).viseme);
  assert.ok(seen.includes('M'));
  assert.equal(seen.at(-1), 'closed');
});

test('viseme from band balance', () => {
  assert.equal(classifyViseme(0, { low: 1, mid: 1, high: 1 }), 'closed');
  assert.equal(classifyViseme(0.8, null), 'A');
  assert.equal(classifyViseme(0.8, { low: 1, mid: 1, high: 2 }), 'E');
  assert.equal(classifyViseme(0.8, { low: 9, mid: 1, high: 0.5 }), 'O');
  assert.equal(classifyViseme(0.8, { low: 3, mid: 2, high: 0.5 }), 'A');
  assert.equal(classifyViseme(0.8, { low: 0, mid: 0, high: 0 }), 'A');
});

test('mouth geometry opens with openness and is closed at rest', () => {
  const rest = mouthShape(0, 'closed');
  assert.ok(rest.up + rest.down < 2);
  for (const v of ['A', 'E', 'O']) {
    const a = mouthShape(0.2, v);
    const b = mouthShape(0.9, v);
    assert.ok(b.up + b.down > a.up + a.down, v);
  }
  assert.match(mouthPath(0.5, 'A'), /^M[\d.]+ [\d.]+ Q.*Z$/);
});
