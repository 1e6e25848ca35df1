import assert from 'node:assert/strict';
import { test } from 'node:test';

import { installHooks } from '../js/hooks.js';

test('hooks publish the documented fields and record events', () => {
  const target = {};
  const hooks = installHooks(target);
  assert.equal(target.__liveavatar, hooks);
  assert.deepEqual(
    Object.keys(hooks).sort(),
    ['connected', 'events', 'heard', 'lastError', 'mouthOpenness', 'outputLevel', 'prebufferMs', 'problems', 'sessionId', 'state', 'underruns'],
  );
  assert.equal(hooks.state, 'idle');
  hooks.record('transcript', { type: 'transcript', role: 'user', text: 'hi', t: 99 });
  const [e] = hooks.events;
  assert.equal(e.type, 'transcript');
  assert.equal(e.role, 'user');
  assert.ok(e.t !== 99 && e.t >= 0, 'local timestamp wins');
  for (let i = 0; i < 6000; i++) hooks.record('x');
  assert.equal(hooks.events.length, 5000);
});
