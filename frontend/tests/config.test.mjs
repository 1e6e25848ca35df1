import assert from 'node:assert/strict';
import { test } from 'node:test';

import { embedConfig, httpBaseOf, loadConfig, resolveConfig } from '../config.js';

const loc = (url) => {
  const u = new URL(url);
  return { hostname: u.hostname, host: u.host, protocol: u.protocol, search: u.search };
};

test('localhost is development with local URLs', () => {
  for (const host of ['localhost', '127.0.0.1']) {
    const c = resolveConfig(loc(`http://${host}:8000/`));
    assert.equal(c.BACKEND_URL, `ws://${host}:8080/ws`);
    assert.equal(c.DASHBOARD_URL, `http://${host}:8501`);
    assert.equal(c.ENVIRONMENT, 'development');
    assert.equal(c.BACKEND_HTTP_URL, `http://${host}:8080`);
    assert.equal(c.AUTH_REQUIRED, false);
    assert.equal(c.FIREBASE, null);
    assert.equal(c.AUTOSTART, false);
    assert.equal(c.PREBUFFER_MS, 70);
    assert.equal(c.MODE, null);
    assert.equal(c.AVATAR, 'auto');
    assert.ok(Object.isFrozen(c));
  }
});

test('localhost ignores a deploy config (no Firebase on localhost)', () => {
  const c = resolveConfig(loc('http://localhost:8000/'), {
    backendUrl: 'wss://x/ws', firebase: { apiKey: 'k', authDomain: 'd', projectId: 'p' }, authRequired: true,
  });
  assert.equal(c.BACKEND_URL, 'ws://localhost:8080/ws');
  assert.equal(c.AUTH_REQUIRED, false);
});

test('production reads the deploy config', () => {
  const c = resolveConfig(loc('https://avatar.web.app/'), {
    backendUrl: 'wss://backend-x.a.run.app/ws',
    dashboardUrl: 'https://dash.a.run.app',
    firebase: { apiKey: 'k', authDomain: 'avatar.firebaseapp.com', projectId: 'avatar' },
    authRequired: true,
  });
  assert.equal(c.ENVIRONMENT, 'production');
  assert.equal(c.BACKEND_URL, 'wss://backend-x.a.run.app/ws');
  assert.equal(c.BACKEND_HTTP_URL, 'https://backend-x.a.run.app');
  assert.equal(c.DASHBOARD_URL, 'https://dash.a.run.app');
  assert.equal(c.FIREBASE.projectId, 'avatar');
  assert.equal(c.FIREBASE.authEmulatorUrl, undefined);
  assert.equal(c.AUTH_REQUIRED, true);
});

test('the deploy config may point sign-in at the Auth emulator (http(s) URLs only)', () => {
  const fb = { apiKey: 'k', authDomain: 'd', projectId: 'p' };
  const at = (authEmulatorUrl) => resolveConfig(loc('http://avatar.test:8000/'), { firebase: { ...fb, authEmulatorUrl } }).FIREBASE;
  assert.equal(at('http://127.0.0.1:9099').authEmulatorUrl, 'http://127.0.0.1:9099');
  assert.equal(at('javascript:alert(1)').authEmulatorUrl, undefined);
});

test('production without a deploy config falls back to the same host', () => {
  const c = resolveConfig(loc('https://avatar.web.app/'), null);
  assert.equal(c.BACKEND_URL, 'wss://avatar.web.app/ws');
  assert.equal(c.AUTH_REQUIRED, false);
  // authRequired without firebase settings cannot be honoured
  assert.equal(resolveConfig(loc('https://a.example/'), { authRequired: true }).AUTH_REQUIRED, false);
});

test('query parameters override', () => {
  const c = resolveConfig(
    loc('http://127.0.0.1:8000/?backend=ws://127.0.0.1:9999/ws&dashboard=http://d:1&mode=ptt&avatar=video&autostart=1&prebuffer_ms=120&voice=Kore'),
  );
  assert.equal(c.BACKEND_URL, 'ws://127.0.0.1:9999/ws');
  assert.equal(c.DASHBOARD_URL, 'http://d:1');
  assert.equal(c.MODE, 'ptt');
  assert.equal(c.AVATAR, 'video');
  assert.equal(c.AUTOSTART, true);
  assert.equal(c.PREBUFFER_MS, 120);
  assert.equal(c.VOICE, 'Kore');
  const bad = resolveConfig(loc('http://localhost/?backend=javascript:x&mode=loud&prebuffer_ms=abc'));
  assert.equal(bad.BACKEND_URL, 'ws://localhost:8080/ws');
  assert.equal(bad.MODE, null);
  assert.equal(bad.PREBUFFER_MS, 70);
  assert.equal(resolveConfig(loc('http://localhost/?prebuffer_ms=5000')).PREBUFFER_MS, 500);
});

test('loadConfig fetches /deploy-config.json only outside development', async () => {
  const calls = [];
  const fetchImpl = async (url) => {
    calls.push(url);
    return { ok: true, json: async () => ({ backendUrl: 'wss://b/ws' }) };
  };
  await loadConfig({ location: loc('http://localhost:8000/'), fetchImpl });
  assert.deepEqual(calls, []);
  const c = await loadConfig({ location: loc('https://a.web.app/'), fetchImpl });
  assert.deepEqual(calls, ['/deploy-config.json']);
  assert.equal(c.BACKEND_URL, 'wss://b/ws');
  const failing = async () => { throw new TypeError('offline'); };
  assert.equal((await loadConfig({ location: loc('https://a.web.app/'), fetchImpl: failing })).BACKEND_URL, 'wss://a.web.app/ws');
  const notFound = async () => ({ ok: false });
  assert.equal((await loadConfig({ location: loc('https://a.web.app/'), fetchImpl: notFound })).BACKEND_URL, 'wss://a.web.app/ws');
});

test('httpBaseOf', () => {
  assert.equal(httpBaseOf('wss://x.run.app/ws'), 'https://x.run.app');
  assert.equal(httpBaseOf('ws://localhost:8080/ws'), 'http://localhost:8080');
  assert.equal(httpBaseOf('nonsense'), '');
});

test('the widget is configured by its script tag, never by the host page', () => {
  const c = embedConfig({ backend: 'wss://avatar.example.com/ws', mode: 'ptt', avatar: 'drawn', voice: 'Kore' });
  assert.equal(c.BACKEND_URL, 'wss://avatar.example.com/ws');
  assert.equal(c.BACKEND_HTTP_URL, 'https://avatar.example.com');
  assert.equal(c.MODE, 'ptt');
  assert.equal(c.AVATAR, 'drawn');
  assert.equal(c.VOICE, 'Kore');
  assert.equal(c.AUTOSTART, false);
  assert.equal(c.AUTH_REQUIRED, false);
  assert.ok(Object.isFrozen(c));
  const plain = embedConfig({ backend: 'ws://127.0.0.1:8080/ws', mode: 'x', avatar: '3d' });
  assert.equal(plain.MODE, null);
  assert.equal(plain.AVATAR, 'auto');
  assert.equal(plain.VOICE, null);
  for (const backend of [undefined, '', 'https://x/ws', 'javascript:alert(1)', 'wss://']) {
    assert.throws(() => embedConfig({ backend }), /data-backend/);
  }
});

test('the widget signs its visitors in as guests when the frontend\'s deploy config requires sign-in', () => {
  const attrs = { backend: 'wss://avatar.example.com/ws' };
  const firebase = { apiKey: 'k', authDomain: 'p.firebaseapp.com', projectId: 'p' };
  const guest = embedConfig(attrs, { firebase, authRequired: true });
  assert.equal(guest.GUEST, true);
  assert.equal(guest.AUTH_REQUIRED, true);
  assert.deepEqual(guest.FIREBASE, firebase);
  for (const deploy of [null, { firebase, authRequired: false }, { firebase: { apiKey: 'k' }, authRequired: true }]) {
    const open = embedConfig(attrs, deploy);
    assert.equal(open.GUEST, false);
    assert.equal(open.AUTH_REQUIRED, false);
    assert.equal(open.FIREBASE, null);
  }
  // The full page never signs in as a guest.
  assert.equal(resolveConfig(loc('https://p.web.app/'), { firebase, authRequired: true }).GUEST, false);
});
