/**
 * A random secret this browser keeps for the backend's `hello.browser_key`.
 *
 * With sign-in off the backend knows a visitor only by address; the key binds a session to
 * the browser that opened it, so nobody else can resume it by learning its session id. It
 * is made once with the Web Crypto API and kept in local storage; where storage is
 * unavailable (some private modes) it lives as long as the page.
 */

export const STORAGE_KEY = 'liveavatar.browserKey';
const SHAPE = /^[A-Za-z0-9_-]{16,128}$/;
let pageKey = null;

/**
 * @param {Storage|undefined} [storage] where the key is kept (localStorage)
 * @param {Crypto} [crypto] source of randomness
 * @returns {string} 32 URL-safe base64 characters (192 random bits)
 */
export function browserKey(storage = safeLocalStorage(), crypto = globalThis.crypto) {
  try {
    const kept = storage?.getItem(STORAGE_KEY);
    if (kept && SHAPE.test(kept)) return kept;
  } catch {
    /* storage refused: fall through to a key for this page */
  }
  if (!storage && pageKey) return pageKey;
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  const key = toBase64Url(bytes);
  try {
    storage?.setItem(STORAGE_KEY, key);
  } catch {
    /* kept for this page only */
  }
  if (!storage) pageKey = key;
  return key;
}

function safeLocalStorage() {
  try {
    return globalThis.localStorage ?? undefined;
  } catch {
    return undefined; // access itself can throw where storage is blocked
  }
}

function toBase64Url(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
