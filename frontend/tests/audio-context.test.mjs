import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sharedAudioContext, unlockAudioOnGesture } from '../js/audio-context.js';

class FakeContext {
  static made = 0;
  constructor() {
    FakeContext.made++;
    this.state = 'suspended';
    this.resumes = 0;
  }
  async resume() {
    this.resumes++;
    this.state = 'running';
  }
  async close() {
    this.state = 'closed';
  }
}

test('one context for the page, made in the first gesture inside the root only', async () => {
  // What audioSupported() looks for.
  globalThis.AudioContext ??= FakeContext;
  globalThis.AudioWorkletNode ??= class {};
  if (!globalThis.navigator?.mediaDevices) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { mediaDevices: { getUserMedia: async () => null } },
      configurable: true,
    });
  }
  const create = () => new FakeContext();
  const root = new EventTarget();
  const elsewhere = new EventTarget();
  unlockAudioOnGesture(root, create);
  elsewhere.dispatchEvent(new Event('pointerdown'));
  assert.equal(FakeContext.made, 0, 'no context before a gesture in the root');

  root.dispatchEvent(new Event('keydown'));
  assert.equal(FakeContext.made, 1);
  const ctx = sharedAudioContext(create);
  assert.equal(ctx.resumes, 1, 'resumed inside the gesture');
  root.dispatchEvent(new Event('pointerdown'));
  assert.equal(ctx.resumes, 1, 'the listeners are gone after the first gesture');

  // Every later conversation gets the same context, until it is closed.
  assert.equal(sharedAudioContext(create), ctx);
  assert.equal(FakeContext.made, 1);
  await ctx.close();
  assert.notEqual(sharedAudioContext(create), ctx);
  assert.equal(FakeContext.made, 2);
});
