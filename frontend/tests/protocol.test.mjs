import assert from 'node:assert/strict';
import { test } from 'node:test';

import { backoffDelay } from '../js/backoff.js';
import {
  base64DecodedBytes,
  helloMessage,
  MEDIA_FMP4,
  MEDIA_FMP4_PADDED,
  mediaPayload,
  normaliseAvatarMedia,
  parseServerMessage,
  ProtocolParseError,
  reconnectPlan,
  SERVER_MESSAGE_TYPES,
  shouldReconnect,
  textMessage,
  videoFrameMessage,
} from '../js/messages.js';

test('backoff grows exponentially to the cap, jitter stays in bounds', () => {
  const mid = () => 0.5;
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, {}, mid)),
    [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000],
  );
  assert.equal(backoffDelay(0, {}, () => 0), 375);
  assert.equal(backoffDelay(0, {}, () => 0.999999), 625);
  assert.equal(backoffDelay(3, { baseMs: 100, factor: 3, maxMs: 1e6, jitter: 0 }), 2700);
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(2, { jitter: 0.3 });
    assert.ok(d >= 1400 && d <= 2600, String(d));
  }
});

test('parses every server message type', () => {
  const samples = {
    ready: { session_id: 's1', voice: 'Puck', persona: 'Ava' },
    transcript: { role: 'user', text: 'hi', final: false, turn: 1 },
    interrupted: { turn: 2 },
    turn_complete: { turn: 2 },
    tool: { call_id: 'c', name: 'get_time', status: 'started' },
    metrics: { turn: 1, time_to_first_audio_ms: null, turn_latency_ms: 900 },
    sources: { turn: 1, sources: [{ title: 'T', uri: 'https://t.example/', domain: 't.example' }] },
    error: { code: 'live_refused', message: 'no', fatal: true },
    going_away: { reason: 'restart', reconnect_after_ms: 500 },
    avatar_fallback: { reason: 'refused', message: 'Drawn avatar.' },
    pong: { t: 12.5 },
  };
  assert.deepEqual(Object.keys(samples).sort(), [...SERVER_MESSAGE_TYPES].sort());
  for (const [type, fields] of Object.entries(samples)) {
    const msg = parseServerMessage(JSON.stringify({ type, ...fields }));
    assert.equal(msg.type, type);
  }
});

test('ready gets defaults for avatar and limits', () => {
  const msg = parseServerMessage(JSON.stringify({ type: 'ready', session_id: 'x', limits: { video_fps: 2 } }));
  assert.equal(msg.resumed, false);
  assert.equal(msg.output_sample_rate, 24000);
  assert.deepEqual(msg.avatar, { idle: [], talking: [], expressive: [] });
  assert.equal(msg.limits.video_fps, 2);
  assert.equal(msg.limits.max_video_frame_bytes, 512 * 1024);
});

test('rejects malformed frames', () => {
  for (const text of ['nope', '[]', 'null', '{"type":"what"}', '{"type":"transcript","role":"x","text":"","final":true,"turn":1}',
    '{"type":"turn_complete","turn":"1"}', '{"type":"ready"}', '{"type":"toString"}']) {
    assert.throws(() => parseServerMessage(text), ProtocolParseError, text);
  }
});

test('outgoing messages', () => {
  assert.deepEqual(helloMessage(), { type: 'hello', version: 2 });
  assert.deepEqual(helloMessage({ token: 't', sessionId: 's', voice: null }), {
    type: 'hello', version: 2, token: 't', session_id: 's',
  });
  assert.equal(textMessage('   '), null);
  assert.deepEqual(textMessage('  hi  '), { type: 'text', text: 'hi' });
  assert.equal(textMessage('x'.repeat(3000)).text.length, 2000);
  assert.deepEqual(videoFrameMessage('AAAA', 'screen'), {
    type: 'video_frame', data: 'AAAA', mime_type: 'image/jpeg', source: 'screen',
  });
  assert.equal(base64DecodedBytes(Buffer.from('hello!!').toString('base64')), 7);
  assert.equal(base64DecodedBytes(Buffer.from('hi').toString('base64')), 2);
});

test('reconnect policy by close code', () => {
  for (const code of [1001, 1006, 1011, 1012, 1013, 4000, 4408]) assert.equal(shouldReconnect(code), true, String(code));
  for (const code of [1000, 4400, 4401, 4403, 4426, 4429, 4430, 4502, 4503]) assert.equal(shouldReconnect(code), false, String(code));
});

test('reconnect plan: a renewed socket resumes at once, a failed attempt backs off', () => {
  const open = { wasOpen: true, goingAway: false };
  assert.equal(reconnectPlan(4000, open), 'now');
  assert.equal(reconnectPlan(4000, { wasOpen: true, goingAway: true }), 'now');
  // Before `ready` it is a failed attempt like any other: counted, with backoff.
  assert.equal(reconnectPlan(4000, { wasOpen: false, goingAway: false }), 'backoff');
  assert.equal(reconnectPlan(1001, { wasOpen: true, goingAway: true }), 'after_going_away');
  for (const code of [1001, 1006, 1011, 1013, 4408]) assert.equal(reconnectPlan(code, open), 'backoff', String(code));
  for (const code of [1000, 4400, 4409, 4502]) assert.equal(reconnectPlan(code, open), 'never', String(code));
});

test('avatar media shapes', () => {
  assert.deepEqual(normaliseAvatarMedia(null), { idle: [], talking: [], expressive: [] });
  assert.deepEqual(normaliseAvatarMedia({ videos: { idle: 'a.mp4', talking: ['b.mp4', 3] } }), {
    idle: ['a.mp4'], talking: ['b.mp4'], expressive: [],
  });
});

test('binary frames: even length is PCM, odd length is media behind its kind byte', () => {
  assert.equal(mediaPayload(new ArrayBuffer(640)), null);
  assert.equal(mediaPayload(new ArrayBuffer(0)), null);
  const even = new Uint8Array([MEDIA_FMP4, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...mediaPayload(even.buffer)], [1, 2, 3, 4, 5, 6]);
  const odd = new Uint8Array([MEDIA_FMP4_PADDED, 0, 7, 8, 9]);
  assert.deepEqual([...mediaPayload(odd.buffer)], [7, 8, 9]);
  assert.equal(mediaPayload(new Uint8Array([0x42, 1, 2]).buffer).length, 0); // unknown kind
});
