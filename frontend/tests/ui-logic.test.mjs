import assert from 'node:assert/strict';
import { test } from 'node:test';

import { describeError, micErrorCode } from '../js/errors.js';
import { classifyMicError } from '../js/mic.js';
import { fitWithin } from '../js/share.js';
import { TranscriptModel } from '../js/transcript.js';

test('transcript: partial then final, one entry per turn and role', () => {
  const t = new TranscriptModel();
  assert.equal(t.apply({ role: 'user', text: 'what', final: false, turn: 1 }).created, true);
  assert.equal(t.apply({ role: 'user', text: 'what time is it', final: false, turn: 1 }).created, false);
  t.apply({ role: 'model', text: 'It is', final: false, turn: 1 });
  t.apply({ role: 'user', text: 'what time is it', final: true, turn: 1 });
  t.apply({ role: 'model', text: 'It is noon.', final: true, turn: 1 });
  assert.deepEqual(t.entries.map((e) => [e.turn, e.role, e.text, e.final]), [
    [1, 'user', 'what time is it', true],
    [1, 'model', 'It is noon.', true],
  ]);
});

test('transcript: order by turn with the user first, whatever the arrival order', () => {
  const t = new TranscriptModel();
  t.apply({ role: 'model', text: 'b', final: false, turn: 2 });
  const r = t.apply({ role: 'user', text: 'a', final: true, turn: 2 });
  assert.equal(r.index, 0);
  t.apply({ role: 'user', text: 'c', final: false, turn: 3 });
  t.apply({ role: 'model', text: 'z', final: true, turn: 1 });
  assert.deepEqual(t.entries.map((e) => `${e.turn}${e.role[0]}`), ['1m', '2u', '2m', '3u']);
});

test('transcript: a final line is not overwritten by a late partial; new sessions restart turns', () => {
  const t = new TranscriptModel();
  t.apply({ role: 'user', text: 'done', final: true, turn: 1 });
  t.apply({ role: 'user', text: 'do', final: false, turn: 1 });
  assert.equal(t.entries[0].text, 'done');
  t.newSession();
  const r = t.apply({ role: 'user', text: 'again', final: false, turn: 1 });
  assert.equal(r.created, true);
  assert.equal(r.index, 1);
  t.apply({ role: 'model', text: 'x', final: false, turn: 1 });
  assert.equal(t.interrupt(1).interrupted, true);
  assert.equal(t.interrupt(9), null);
});

test('errors are described in plain words with a next step', () => {
  const mic = describeError('mic_denied');
  assert.match(mic.text, /microphone/);
  assert.match(mic.text, /Allow/);
  assert.equal(mic.severity, 'error');
  const down = describeError('backend_unreachable', { url: 'ws://localhost:8080/ws', retryInMs: 2000 });
  assert.match(down.text, /ws:\/\/localhost:8080\/ws/);
  assert.match(down.text, /running/);
  assert.match(down.text, /2 s/);
  assert.equal(down.severity, 'warning');
  for (const code of ['quota_exceeded', 'session_ended', 'live_refused', 'live_unavailable', 'unauthorized', 'internal']) {
    const info = describeError(code);
    assert.notEqual(info.title, 'Something went wrong', code);
  }
  assert.match(describeError('weird', { message: 'Oops.' }).text, /Oops\. Press Start/);
});

test('getUserMedia failures map to kinds and codes', () => {
  const kinds = ['NotAllowedError', 'NotFoundError', 'NotReadableError', 'TypeError'].map(
    (name) => classifyMicError(Object.assign(new Error('x'), { name })).kind,
  );
  assert.deepEqual(kinds, ['denied', 'not-found', 'in-use', 'other']);
  assert.equal(micErrorCode('denied'), 'mic_denied');
  assert.equal(micErrorCode('not-found'), 'mic_not_found');
  assert.equal(micErrorCode('???'), 'mic_other');
});

test('frames are downscaled to 768 px on the long side, never upscaled', () => {
  assert.deepEqual(fitWithin(1920, 1080, 768), { width: 768, height: 432 });
  assert.deepEqual(fitWithin(720, 1280, 768), { width: 432, height: 768 });
  assert.deepEqual(fitWithin(640, 480, 768), { width: 640, height: 480 });
  assert.deepEqual(fitWithin(0, 0, 768), { width: 1, height: 1 });
});
