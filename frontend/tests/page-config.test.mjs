import assert from 'node:assert/strict';
import { test } from 'node:test';

import { resolveConfig } from '../config.js';
import {
  avatarChoice,
  dashboardHref,
  fetchPageConfig,
  originRefused,
  parsePageConfig,
  recordingNotice,
  startMode,
} from '../js/page-config.js';

const BODY = { recording: true, push_to_talk: true, avatar_mode: 'video', dashboard_url: 'http://localhost:8502' };
const loc = (url) => {
  const u = new URL(url);
  return { hostname: u.hostname, host: u.host, protocol: u.protocol, search: u.search };
};

test('the endpoint body is checked, and only http(s) dashboard addresses kept', () => {
  assert.deepEqual(parsePageConfig(BODY), {
    recording: true, pushToTalk: true, avatarMode: 'video', dashboardUrl: 'http://localhost:8502', guestsAllowed: true,
  });
  // Guests are refused only when the backend says so (an older backend does not say).
  assert.equal(parsePageConfig({ ...BODY, guests_allowed: false }).guestsAllowed, false);
  assert.equal(parsePageConfig({ ...BODY, guests_allowed: true }).guestsAllowed, true);
  assert.equal(parsePageConfig({ ...BODY, dashboard_url: 'javascript:alert(1)' }).dashboardUrl, '');
  for (const bad of [null, 'x', {}, { ...BODY, recording: 'yes' }, { ...BODY, avatar_mode: '3d' }]) {
    assert.equal(parsePageConfig(bad), null);
  }
});

test('fetch: the backend answer, or null when it fails, refuses or is not ours', async () => {
  const seen = [];
  const ok = async (url) => {
    seen.push(url);
    return { ok: true, json: async () => BODY };
  };
  assert.equal((await fetchPageConfig('http://b:8080', { fetchImpl: ok })).recording, true);
  assert.deepEqual(seen, ['http://b:8080/api/page-config']);
  const down = async () => { throw new TypeError('Failed to fetch'); };
  assert.equal(await fetchPageConfig('http://b:8080', { fetchImpl: down }), null);
  const refused = async () => ({ ok: false, json: async () => ({}) });
  assert.equal(await fetchPageConfig('http://b:8080', { fetchImpl: refused }), null);
  const hung = (_url, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  assert.equal(await fetchPageConfig('http://b:8080', { fetchImpl: hung, timeoutMs: 20 }), null);
  assert.equal(await fetchPageConfig('', { fetchImpl: ok }), null);
});

test('the recording notice: shown when recording, cautious when unknown, absent otherwise', () => {
  assert.deepEqual(recordingNotice(parsePageConfig(BODY)), { show: true, text: 'This conversation is recorded.' });
  assert.deepEqual(recordingNotice(parsePageConfig({ ...BODY, recording: false })), { show: false, text: '' });
  assert.equal(recordingNotice(null).show, true);
  assert.match(recordingNotice(null).text, /may be recorded/);
});

test('talk mode: ?mode= wins, then the persona\'s push-to-talk, then the saved choice', () => {
  const ptt = parsePageConfig(BODY);
  const free = parsePageConfig({ ...BODY, push_to_talk: false });
  assert.equal(startMode(null, ptt, 'handsfree'), 'ptt');
  assert.equal(startMode('handsfree', ptt, 'ptt'), 'handsfree');
  assert.equal(startMode(null, free, 'ptt'), 'ptt');
  assert.equal(startMode(null, free, 'handsfree'), 'handsfree');
  assert.equal(startMode(null, null, 'handsfree'), 'handsfree');
});

test('avatar: ?avatar= wins, else the persona\'s mode, else auto', () => {
  const video = parsePageConfig(BODY);
  assert.equal(avatarChoice('auto', video), 'video');
  // "clips" is the API's name since the native avatar came; "video" is still read.
  assert.equal(parsePageConfig({ ...BODY, avatar_mode: 'clips' }).avatarMode, 'video');
  assert.equal(parsePageConfig({ ...BODY, avatar_mode: 'native' }).avatarMode, 'native');
  assert.equal(avatarChoice('drawn', video), 'drawn');
  assert.equal(avatarChoice('auto', null), 'auto');
});

test('the Dashboard link: ?dashboard= wins, then the backend\'s DASHBOARD_URL, then the guess', () => {
  const page = parsePageConfig(BODY);
  const local = resolveConfig(loc('http://localhost:8000/'));
  assert.equal(local.DASHBOARD_OVERRIDE, null);
  assert.equal(dashboardHref(local, page), 'http://localhost:8502');
  assert.equal(dashboardHref(local, null), 'http://localhost:8501');
  const queried = resolveConfig(loc('http://localhost:8000/?dashboard=https://dash.example'));
  assert.equal(dashboardHref(queried, page), 'https://dash.example');
});

test('a refused site: the CORS request fails while the opaque one is answered', async () => {
  const calls = [];
  const backend = (corsOk, reachable) => async (url, init) => {
    calls.push([url, init.mode]);
    if (!reachable || (init.mode === 'cors' && !corsOk)) throw new TypeError('Failed to fetch');
    return { ok: true, type: init.mode === 'cors' ? 'cors' : 'opaque' };
  };
  assert.equal(await originRefused('http://b:1', { fetchImpl: backend(false, true) }), true);
  assert.deepEqual(calls, [['http://b:1/healthz', 'cors'], ['http://b:1/healthz', 'no-cors']]);
  calls.length = 0;
  assert.equal(await originRefused('http://b:1', { fetchImpl: backend(true, true) }), false);
  assert.equal(calls.length, 1, 'an allowed site asks once');
  assert.equal(await originRefused('http://b:1', { fetchImpl: backend(false, false) }), false, 'down is not refused');
  assert.equal(await originRefused('', { fetchImpl: backend(false, true) }), false);
  const slow = (url, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  assert.equal(await originRefused('http://b:1', { fetchImpl: slow, timeoutMs: 5 }), false, 'slow is not refused');
});
