import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AvatarSocket } from '../js/socket.js';
import { SocketError } from '../js/socket-error.js';

class FakeWS {
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.bufferedAmount = 0;
    this.sent = [];
    this.closedWith = null;
    FakeWS.instances.push(this);
  }
  send(data) {
    this.sent.push(data);
  }
  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
  }
  // test side
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(msg) {
    this.onmessage?.({ data: msg instanceof ArrayBuffer ? msg : JSON.stringify(msg) });
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  json() {
    return this.sent.filter((d) => typeof d === 'string').map((d) => JSON.parse(d));
  }
}

const flush = () => new Promise((r) => setImmediate(r));
const READY = { type: 'ready', session_id: 'sess-1', voice: 'Puck', persona: 'Ava' };

function setup(t, options = {}) {
  FakeWS.instances = [];
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  let now = 0;
  const socket = new AvatarSocket('ws://test/ws', {
    WebSocketImpl: FakeWS,
    random: () => 0.5,
    now: () => now,
    pingIntervalMs: 0,
    ...options,
  });
  const events = [];
  for (const type of ['ready', 'transcript', 'audio', 'reconnecting', 'closed', 'state', 'error', 'going_away']) {
    socket.addEventListener(type, (e) => events.push([type, e.detail]));
  }
  return { socket, events, advance: (ms) => { now += ms; t.mock.timers.tick(ms); } };
}

test('hello, ready, typed events and binary audio', async (t) => {
  const { socket, events } = setup(t, { voice: 'Kore' });
  const started = socket.start();
  assert.equal(socket.start(), started);
  await flush();
  const ws = FakeWS.instances[0];
  assert.equal(ws.url, 'ws://test/ws');
  assert.equal(ws.binaryType, 'arraybuffer');
  ws.open();
  assert.deepEqual(ws.json()[0], { type: 'hello', version: 2, voice: 'Kore' });
  ws.receive(READY);
  const ready = await started;
  assert.equal(ready.session_id, 'sess-1');
  assert.equal(socket.state, 'open');
  assert.equal(socket.sessionId, 'sess-1');
  ws.receive({ type: 'transcript', role: 'user', text: 'hi', final: false, turn: 1 });
  const pcm = new ArrayBuffer(960);
  ws.receive(pcm);
  assert.deepEqual(events.filter(([k]) => k === 'transcript').map(([, d]) => d.text), ['hi']);
  assert.equal(events.find(([k]) => k === 'audio')[1].buffer, pcm);
  assert.equal(events.filter(([k]) => k === 'media').length, 0);
  assert.equal(socket.sendText('hello'), true);
  assert.deepEqual(ws.json().at(-1), { type: 'text', text: 'hello' });
  const block = new ArrayBuffer(640);
  assert.equal(socket.sendAudio(block), true);
  assert.equal(ws.sent.at(-1), block);
  socket.stop();
});

test('a dropped connection reconnects with backoff and resumes with session_id', async (t) => {
  const { socket, events, advance } = setup(t);
  socket.start();
  await flush();
  FakeWS.instances[0].open();
  FakeWS.instances[0].receive(READY);
  FakeWS.instances[0].drop(1006);
  assert.equal(socket.state, 'reconnecting');
  const rec = events.find(([k]) => k === 'reconnecting')[1];
  assert.equal(rec.delayMs, 500);
  assert.equal(rec.reason, 'dropped');
  advance(499);
  await flush();
  assert.equal(FakeWS.instances.length, 1);
  advance(1);
  await flush();
  assert.equal(FakeWS.instances.length, 2);
  const ws2 = FakeWS.instances[1];
  ws2.open();
  assert.deepEqual(ws2.json()[0], { type: 'hello', version: 2, session_id: 'sess-1' });
  ws2.receive({ ...READY, resumed: true });
  assert.equal(socket.state, 'open');
  socket.stop();
});

test('going_away waits reconnect_after_ms before reconnecting', async (t) => {
  const { socket, advance } = setup(t);
  socket.start();
  await flush();
  const ws = FakeWS.instances[0];
  ws.open();
  ws.receive(READY);
  ws.receive({ type: 'going_away', reason: 'restart', reconnect_after_ms: 2000 });
  ws.drop(1001);
  advance(1999);
  await flush();
  assert.equal(FakeWS.instances.length, 1);
  advance(300); // plus up to 250 ms of jitter
  await flush();
  assert.equal(FakeWS.instances.length, 2);
  socket.stop();
});

test('a socket the backend renews (4000) reconnects at once, quietly, and resumes', async (t) => {
  const { socket, events, advance } = setup(t);
  socket.start();
  await flush();
  for (let i = 0; i < 12; i++) {
    // More renewals than maxAttempts: each one is a fresh start, never a failure.
    const ws = FakeWS.instances.at(-1);
    ws.open();
    assert.deepEqual(ws.json()[0], i === 0 ? { type: 'hello', version: 2 } : { type: 'hello', version: 2, session_id: 'sess-1' });
    ws.receive(i === 0 ? READY : { ...READY, resumed: true });
    assert.equal(socket.state, 'open');
    ws.receive({ type: 'going_away', reason: 'socket age limit', reconnect_after_ms: 0 });
    ws.drop(4000, 'socket age limit; reconnect and resume');
    const rec = events.filter(([k]) => k === 'reconnecting').at(-1)[1];
    assert.deepEqual([rec.delayMs, rec.reason, rec.code], [0, 'renew', 4000]);
    advance(0);
    await flush();
    assert.equal(FakeWS.instances.length, i + 2);
  }
  assert.equal(events.filter(([k]) => k === 'closed').length, 0);
  socket.stop();
});

test('a 4000 before ready is a failed attempt: backoff', async (t) => {
  const { socket, events } = setup(t);
  socket.start();
  await flush();
  FakeWS.instances[0].open();
  FakeWS.instances[0].drop(4000);
  const rec = events.find(([k]) => k === 'reconnecting')[1];
  assert.deepEqual([rec.delayMs, rec.reason], [500, 'unreachable']);
  socket.stop();
});

test('fatal errors do not reconnect', async (t) => {
  for (const [code, closeCode] of [['live_refused', 4502], ['unsupported_version', 4426], ['unauthorized', 4401]]) {
    const { socket, events, advance } = setup(t);
    const started = socket.start();
    await flush();
    const ws = FakeWS.instances[0];
    ws.open();
    ws.receive({ type: 'error', code, message: 'nope', fatal: true });
    ws.drop(closeCode);
    await assert.rejects(started, (err) => err instanceof SocketError && err.code === code && err.closeCode === closeCode);
    assert.equal(socket.state, 'failed');
    assert.equal(events.find(([k]) => k === 'closed')[1].error.code, code);
    advance(60_000);
    await flush();
    assert.equal(FakeWS.instances.length, 1, code);
    t.mock.timers.reset();
  }
});

test('a fatal close code without an error message is still final', async (t) => {
  const { socket } = setup(t);
  const started = socket.start();
  await flush();
  FakeWS.instances[0].open();
  FakeWS.instances[0].drop(4430);
  await assert.rejects(started, (err) => err.code === 'quota_exceeded');
});

test('the server ending the session (1000) is not retried', async (t) => {
  const { socket, events } = setup(t);
  socket.start();
  await flush();
  FakeWS.instances[0].open();
  FakeWS.instances[0].receive(READY);
  FakeWS.instances[0].drop(1000);
  assert.equal(socket.state, 'closed');
  assert.equal(events.find(([k]) => k === 'closed')[1].error.code, 'session_ended');
});

test('an unreachable backend is retried, then given up', async (t) => {
  const { socket, events, advance } = setup(t, { maxAttempts: 3 });
  const started = socket.start();
  for (let i = 0; i < 4; i++) {
    await flush();
    FakeWS.instances.at(-1).drop(1006);
    advance(10_000);
  }
  await assert.rejects(started, (err) => err.code === 'unreachable');
  assert.equal(FakeWS.instances.length, 4);
  assert.deepEqual(events.filter(([k]) => k === 'reconnecting').map(([, d]) => d.delayMs), [500, 1000, 2000]);
  assert.equal(socket.state, 'failed');
});

test('a socket that never opens is given up after openTimeoutMs and retried', async (t) => {
  const { socket, events, advance } = setup(t, { openTimeoutMs: 5000 });
  socket.start();
  await flush();
  const hung = FakeWS.instances[0];
  advance(4999);
  assert.equal(events.filter(([k]) => k === 'reconnecting').length, 0);
  advance(1);
  assert.equal(hung.closedWith, 1000, 'the hung attempt is closed');
  const rec = events.find(([k]) => k === 'reconnecting')[1];
  assert.deepEqual([rec.code, rec.reason, rec.delayMs], [1006, 'unreachable', 500]);
  advance(500);
  await flush();
  assert.equal(FakeWS.instances.length, 2);
  FakeWS.instances[1].open();
  FakeWS.instances[1].receive(READY);
  advance(60_000);
  assert.equal(socket.state, 'open', 'an opened socket has no deadline');
  socket.stop();
});

test('audio before ready is held (≤ 1 s) and sent on ready; backed-up sockets drop frames', async (t) => {
  const { socket, advance } = setup(t, { maxBufferedBytes: 1000 });
  socket.start();
  await flush();
  const ws = FakeWS.instances[0];
  ws.open();
  const frames = Array.from({ length: 60 }, () => new ArrayBuffer(640));
  for (const f of frames) socket.sendAudio(f);
  advance(100);
  ws.receive(READY);
  const binary = ws.sent.filter((d) => d instanceof ArrayBuffer);
  assert.equal(binary.length, 50); // the newest second
  assert.equal(binary[0], frames[10]);
  ws.bufferedAmount = 5000;
  assert.equal(socket.sendAudio(new ArrayBuffer(640)), false);
  assert.equal(socket.droppedAudioFrames, 1);
  assert.equal(socket.sendVideoFrame('AAAA', 'camera'), false);
  ws.bufferedAmount = 0;
  assert.equal(socket.sendVideoFrame('AAAA', 'camera'), true);
  socket.stop();
});

test('stop says bye, closes 1000, is idempotent and never reconnects', async (t) => {
  const { socket, advance } = setup(t);
  socket.start();
  await flush();
  const ws = FakeWS.instances[0];
  ws.open();
  ws.receive(READY);
  socket.stop();
  socket.stop();
  assert.deepEqual(ws.json().at(-1), { type: 'bye' });
  assert.equal(ws.closedWith, 1000);
  assert.equal(socket.state, 'closed');
  ws.drop(1000);
  advance(60_000);
  await flush();
  assert.equal(FakeWS.instances.length, 1);
  assert.equal(socket.sendAudio(new ArrayBuffer(640)), false);
});

test('stop before ready rejects start with "stopped"', async (t) => {
  const { socket } = setup(t);
  const started = socket.start();
  await flush();
  socket.stop();
  await assert.rejects(started, (err) => err.code === 'stopped');
});

test('the token is asked for on every connect', async (t) => {
  let n = 0;
  const { socket, advance } = setup(t, { getToken: async () => `tok-${++n}` });
  socket.start();
  await flush();
  FakeWS.instances[0].open();
  assert.equal(FakeWS.instances[0].json()[0].token, 'tok-1');
  FakeWS.instances[0].receive(READY);
  FakeWS.instances[0].drop(1011);
  advance(1000);
  await flush();
  FakeWS.instances[1].open();
  assert.equal(FakeWS.instances[1].json()[0].token, 'tok-2');
  socket.stop();
});
