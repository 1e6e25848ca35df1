import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Duplex } from '../js/duplex.js';

test('full duplex while the browser cancels echo (or does not say)', () => {
  const d = new Duplex();
  for (const ec of [null, true]) {
    d.echoCancellation = ec;
    assert.equal(d.half, false);
    assert.equal(d.reason, null);
    assert.equal(d.holdsMic(true), false, 'barge-in by voice');
    assert.equal(d.tap(true), false, 'a tap does not cut the avatar off');
    assert.equal(d.dropping, false);
  }
});

test('half duplex without echo cancellation, or in speakerphone mode', () => {
  const off = new Duplex();
  off.echoCancellation = false;
  const speaker = new Duplex({ speakerphone: true });
  speaker.echoCancellation = true;
  for (const [d, reason] of [[off, 'no-echo-cancellation'], [speaker, 'speakerphone']]) {
    assert.equal(d.half, true);
    assert.equal(d.reason, reason);
    assert.equal(d.holdsMic(true), true, 'closed while the avatar speaks');
    assert.equal(d.holdsMic(false), false, 'open otherwise');
    assert.equal(d.tap(false), false, 'nothing to interrupt');
    assert.equal(d.tap(true), true);
    assert.equal(d.dropping, true, 'the rest of the answer is dropped');
    d.turnEnded();
    assert.equal(d.dropping, false);
  }
});
