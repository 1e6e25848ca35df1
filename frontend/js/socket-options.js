/**
 * The backend socket's (socket.js) options and their defaults.
 */

/**
 * @typedef {object} SocketOptions
 * @property {(force?: boolean) => Promise<string|null>} [getToken] ID token for
 *   `hello.token`, asked before every (re)connect, and (`force`: a new one) shortly before
 *   it expires, sent over the open socket (token-refresh.js)
 * @property {string} [browserKey] `hello.browser_key`: binds the session to this browser
 *   when sign-in is off (see browser-key.js)
 * @property {string} [voice] `hello.voice`
 * @property {import('./backoff.js').BackoffOptions} [backoff]
 * @property {number} [maxAttempts=8] consecutive failed connects before giving up
 * @property {number} [maxBufferedBytes=32000] above this `bufferedAmount` (bytes, ≈1 s of
 *   16 kHz audio) mic frames and video frames are dropped instead of queued
 * @property {number} [pendingAudioMs=1000] mic audio kept while not yet `ready`, ms
 * @property {number} [pingIntervalMs=15000] ping period while open, ms (0: off)
 * @property {number} [openTimeoutMs=20000] a socket not open by then is given up and
 *   retried like an unreachable server (a connection that hangs, or one the browser
 *   blocked without closing it, would otherwise say "Connecting…" forever), ms
 * @property {typeof WebSocket} [WebSocketImpl] for tests
 * @property {() => number} [now] ms clock, for tests
 * @property {() => number} [random] [0,1) source for jitter, for tests
 */

/**
 * @param {SocketOptions} options
 * @returns {Required<SocketOptions>} the options with every default filled in
 */
export function socketOptions(options) {
  return {
    getToken: async () => null,
    browserKey: undefined,
    voice: undefined,
    backoff: {},
    maxAttempts: 8,
    maxBufferedBytes: 32_000,
    pendingAudioMs: 1000,
    pingIntervalMs: 15_000,
    openTimeoutMs: 20_000, // above a cold start of the backend behind Cloud Run
    WebSocketImpl: globalThis.WebSocket,
    now: () => performance.now(),
    random: Math.random,
    ...options,
  };
}
