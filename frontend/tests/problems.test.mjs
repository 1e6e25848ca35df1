import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ProblemStack, slotOf } from '../js/problems.js';

const codes = (stack) => stack.list.map((p) => p.code);

test('problems: a later problem does not hide an earlier one that still applies', () => {
  const s = new ProblemStack();
  s.add('mic_denied');
  s.add('backend_unreachable', { url: 'ws://x/ws', retryInMs: 1000 });
  assert.deepEqual(codes(s), ['backend_unreachable', 'mic_denied']);
  assert.equal(s.top.code, 'backend_unreachable');
  assert.match(s.list[0].text, /ws:\/\/x\/ws/);
  // The connection comes back: its problem ends, the microphone's stays.
  assert.equal(s.clear('connection'), true);
  assert.deepEqual(codes(s), ['mic_denied']);
  s.add('connection_lost');
  assert.deepEqual(codes(s), ['connection_lost', 'mic_denied']);
});

test('problems: a newer problem replaces only the one of its own slot', () => {
  const s = new ProblemStack();
  s.add('backend_unreachable');
  s.add('connection_lost');
  assert.deepEqual(codes(s), ['connection_lost']);
  s.add('camera_denied');
  s.add('mic_not_found');
  s.add('mic_in_use');
  assert.deepEqual(codes(s), ['mic_in_use', 'camera_denied', 'connection_lost']);
});

test('problems: an ended session ends the retrying, and keeps the rest', () => {
  const s = new ProblemStack();
  s.add('mic_denied');
  s.add('server_busy');
  s.add('quota_exceeded');
  assert.deepEqual(codes(s), ['quota_exceeded', 'mic_denied']);
  s.add('rate_limited');
  assert.deepEqual(codes(s), ['rate_limited', 'mic_denied']);
  assert.equal(s.has('mic_denied'), true);
  assert.equal(s.clear('connection'), false);
});

test('problems: each user-facing problem has its own message with a next step', () => {
  const s = new ProblemStack();
  const texts = new Set();
  for (const code of ['backend_unreachable', 'quota_exceeded', 'rate_limited', 'live_unavailable', 'mic_denied', 'connection_lost']) {
    const p = s.add(code);
    assert.notEqual(p.title, 'Something went wrong', code);
    assert.match(p.text, /press Start|Retrying|Reconnecting|Allow|Try again|Wait/i, code);
    texts.add(p.text);
  }
  assert.equal(texts.size, 6);
});

test('problems: slots, resolving one code, clearing everything', () => {
  assert.equal(slotOf('autoplay'), 'audio');
  assert.equal(slotOf('live_reconnecting'), 'notice');
  assert.equal(slotOf('screen_denied'), 'share');
  assert.equal(slotOf('avatar_clip_failed'), 'avatar');
  assert.equal(slotOf('something_new'), 'session');
  const s = new ProblemStack();
  s.add('live_reconnecting');
  s.add('autoplay');
  assert.equal(s.resolve('tool_failed'), false);
  assert.equal(s.resolve('live_reconnecting'), true);
  assert.deepEqual(codes(s), ['autoplay']);
  s.clear();
  assert.equal(s.top, null);
  assert.deepEqual(s.list, []);
});
