import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import test from 'node:test';

import { browserKey, STORAGE_KEY } from '../js/browser-key.js';
import { helloMessage } from '../js/messages.js';

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(k) {
    return this.items.has(k) ? this.items.get(k) : null;
  }
  setItem(k, v) {
    this.items.set(k, String(v));
  }
}

test('a browser key is made once, kept, and has the shape the backend accepts', () => {
  const storage = new MemoryStorage();
  const key = browserKey(storage, webcrypto);
  assert.match(key, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(storage.getItem(STORAGE_KEY), key);
  assert.equal(browserKey(storage, webcrypto), key);
  assert.notEqual(browserKey(new MemoryStorage(), webcrypto), key);
});

test('a damaged stored key is replaced', () => {
  const storage = new MemoryStorage();
  storage.setItem(STORAGE_KEY, 'short');
  assert.match(browserKey(storage, webcrypto), /^[A-Za-z0-9_-]{32}$/);
});

test('refused storage still yields a key for the page', () => {
  const refusing = {
    getItem() {
      throw new Error('SecurityError');
    },
    setItem() {
      throw new Error('SecurityError');
    },
  };
  assert.match(browserKey(refusing, webcrypto), /^[A-Za-z0-9_-]{32}$/);
});

test('hello carries the browser key', () => {
  assert.deepEqual(helloMessage({ sessionId: 's', browserKey: 'k'.repeat(32) }), {
    type: 'hello', version: 2, session_id: 's', browser_key: 'k'.repeat(32),
  });
});
