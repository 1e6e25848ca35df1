import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SocketError } from '../js/socket-error.js';
import { afterClose } from '../js/socket-retry.js';

const OPTIONS = { maxAttempts: 2, backoff: { baseMs: 100, jitter: 0 }, random: () => 0.5, url: 'wss://x/ws' };
const closed = (over) => ({ code: 1006, reason: '', wasOpen: true, fatal: null, goingAway: null, attempt: 0, ...over });

test('a dropped session backs off, counting attempts, then gives up', () => {
  assert.deepEqual(afterClose(closed({}), OPTIONS), { delayMs: 100, attempt: 1, reason: 'dropped' });
  assert.deepEqual(afterClose(closed({ wasOpen: false, attempt: 1 }), OPTIONS), {
    delayMs: 200,
    attempt: 2,
    reason: 'unreachable',
  });
  const { error } = afterClose(closed({ wasOpen: false, attempt: 2 }), OPTIONS);
  assert.ok(error instanceof SocketError);
  assert.equal(error.code, 'unreachable');
  assert.match(error.message, /wss:\/\/x\/ws/);
});

test('a renewal reconnects at once, going_away after its delay, both from attempt 0', () => {
  assert.deepEqual(afterClose(closed({ code: 4000, attempt: 5 }), OPTIONS), { delayMs: 0, attempt: 0, reason: 'renew' });
  const goingAway = { reconnect_after_ms: 1000 };
  assert.deepEqual(afterClose(closed({ code: 1001, goingAway, attempt: 5 }), OPTIONS), {
    delayMs: 1125,
    attempt: 0,
    reason: 'going_away',
  });
});

test('a fatal error or a final close code gives up with its code', () => {
  const fatal = { code: 'live_refused', message: 'no' };
  const { error } = afterClose(closed({ code: 4502, fatal }), OPTIONS);
  assert.deepEqual([error.code, error.message, error.closeCode], ['live_refused', 'no', 4502]);
  const quota = afterClose(closed({ code: 4430 }), OPTIONS).error;
  assert.deepEqual([quota.code, quota.closeCode], ['quota_exceeded', 4430]);
});
