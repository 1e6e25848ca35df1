import assert from 'node:assert/strict';
import { test } from 'node:test';

import { visibleState } from '../js/conversation-state.js';

const LISTENING = {
  failed: false,
  running: true,
  socket: 'open',
  speaking: false,
  awaiting: false,
  micAvailable: true,
  userMuted: false,
  mode: 'handsfree',
  talkHeld: false,
  halfDuplex: false,
};

const at = (changes) => visibleState({ ...LISTENING, ...changes });

test('the state follows the conversation from Start to Stop', () => {
  assert.equal(at({ running: false }).state, 'idle');
  for (const socket of [null, 'idle', 'connecting']) assert.equal(at({ socket }).state, 'connecting');
  assert.equal(at({ socket: 'reconnecting', speaking: true }).state, 'reconnecting');
  assert.equal(at({}).state, 'listening');
  assert.equal(at({ awaiting: true }).state, 'thinking');
  assert.equal(at({ awaiting: true, speaking: true }).state, 'speaking');
  assert.equal(at({ failed: true, running: false }).state, 'error', 'a fatal problem outlasts the stop');
});

test('the hint says how to talk while listening', () => {
  assert.equal(at({}).hint, '');
  assert.equal(at({ micAvailable: false, userMuted: true }).hint, 'Type a message below');
  assert.equal(at({ userMuted: true, mode: 'ptt' }).hint, 'Muted');
  assert.equal(at({ mode: 'ptt' }).hint, 'Hold Space to talk');
  assert.equal(at({ mode: 'ptt', talkHeld: true }).hint, 'Listening');
  assert.equal(at({ awaiting: true, micAvailable: false }).hint, '', 'only while listening');
});

test('a tap interrupts the avatar only in half duplex while it speaks', () => {
  assert.deepEqual(at({ speaking: true, halfDuplex: true }), {
    state: 'speaking',
    hint: 'Speaking · tap to interrupt',
    interruptible: true,
  });
  assert.equal(at({ speaking: true }).interruptible, false);
  assert.equal(at({ halfDuplex: true }).interruptible, false);
});
