import assert from 'node:assert/strict';
import { test } from 'node:test';

import { REFRESH_LEAD_MS, RETRY_MS, TokenRefresher, tokenExpiryMs } from '../js/token-refresh.js';

const b64url = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
const jwt = (exp, sub = 'ada') => `${b64url({ alg: 'RS256' })}.${b64url({ sub, exp })}.sig`;

/** Timers run by hand: `fire()` runs the earliest one. */
function clock(start = 1_000_000) {
  const c = { t: start, timers: [] };
  c.now = () => c.t;
  c.setTimer = (fn, ms) => {
    const timer = { fn, at: c.t + ms };
    c.timers.push(timer);
    return timer;
  };
  c.clearTimer = (timer) => {
    c.timers = c.timers.filter((x) => x !== timer);
  };
  c.fire = async () => {
    c.timers.sort((a, b) => a.at - b.at);
    const timer = c.timers.shift();
    c.t = Math.max(c.t, timer.at);
    await timer.fn();
  };
  return c;
}

test('a token\'s expiry comes from its exp claim; anything else has none', () => {
  assert.equal(tokenExpiryMs(jwt(1700000000)), 1700000000 * 1000);
  for (const bad of [null, '', 'x', 'a.%%%.c', `${b64url({})}.${b64url({ sub: 'x' })}.`]) {
    assert.equal(tokenExpiryMs(bad), null);
  }
});

test('a fresh token is sent before the one of hello expires, then before its own expiry', async () => {
  const c = clock();
  const sent = [];
  const asked = [];
  const tokens = [jwt((c.t + 3_600_000) / 1000), jwt((c.t + 7_200_000) / 1000)];
  const r = new TokenRefresher({
    getToken: async (force) => {
      asked.push(force);
      return tokens.shift();
    },
    send: (msg) => sent.push(msg) > 0,
    now: c.now,
    setTimer: c.setTimer,
    clearTimer: c.clearTimer,
  });
  const first = jwt((c.t + 600_000) / 1000); // ten minutes left at hello
  r.start(first);
  assert.equal(c.timers.length, 1);
  assert.equal(c.timers[0].at, c.t + 600_000 - REFRESH_LEAD_MS);
  await c.fire();
  assert.deepEqual(asked, [true]);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].type, 'token');
  assert.equal(tokenExpiryMs(sent[0].token), 1_000_000 + 3_600_000);
  // The next one is due before the fresh token's own expiry.
  assert.equal(c.timers[0].at, 1_000_000 + 3_600_000 - REFRESH_LEAD_MS);
  r.stop();
  assert.equal(c.timers.length, 0);
});

test('no token, no renewal; a failed renewal is retried; a stop while asking sends nothing', async () => {
  const c = clock();
  const sent = [];
  let answer = async () => {
    throw new Error('offline');
  };
  const r = new TokenRefresher({
    getToken: () => answer(),
    send: (msg) => sent.push(msg) > 0,
    now: c.now,
    setTimer: c.setTimer,
    clearTimer: c.clearTimer,
  });
  r.start(null); // sign-in off
  assert.equal(c.timers.length, 0);
  r.start(jwt((c.t + 60_000) / 1000)); // under the lead already: at once
  assert.equal(c.timers[0].at, c.t);
  await c.fire();
  assert.equal(sent.length, 0);
  assert.equal(c.timers[0].at, c.t + RETRY_MS);
  let release;
  answer = () => new Promise((resolve) => (release = resolve));
  const renewal = c.fire();
  r.stop(); // the socket closed while the SDK was asked
  release(jwt((c.t + 3_600_000) / 1000));
  await renewal;
  assert.equal(sent.length, 0);
  assert.equal(c.timers.length, 0);
});
